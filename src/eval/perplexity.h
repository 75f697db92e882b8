// Perplexity as llama.cpp's perplexity tool computes it, so the two are comparable: the token stream is
// cut into consecutive windows of n_ctx tokens, each evaluated from an empty cache, and only the second
// half of each window is scored (token j+1 predicted from the logits at j, j >= n_ctx/2), so every scored
// token has at least n_ctx/2 tokens of context. If the vocabulary adds BOS, the first token of each window
// is replaced by BOS, as llama.cpp does.
// With decode_tail = N > 0 only the last N tokens of each window are scored, and they are read one token per
// step, as generation reads them: strategies whose decode steps differ from their prefill (reattention's
// block selection, its per-step scope) are then measured on the path that generation takes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "memory/kv_cache_type.h"
#include "memory/memory.h"
#include "model/model.h"

namespace lm {

struct PerplexityOptions {
  int64_t n_ctx = 2048;
  int64_t max_windows = -1;  // -1: every full window
  int64_t batch = 512;
  int64_t decode_tail = 0;   // > 0: score only the window's last decode_tail tokens, one step each
  int32_t bos_id = -1;       // >= 0: replace each window's first token with it
  KvCacheType kv_type = KvCacheType::kF16;  // element type of the dense cache
  // When set, each run's memory comes from here (e.g. MakeMemory for --memory) instead of a dense cache.
  std::function<Result<std::unique_ptr<Memory>>()> make_memory;
  // Called after each window with (windows done, total windows, running ppl).
  std::function<void(int64_t, int64_t, double)> on_progress;
};

struct PerplexityResult {
  double ppl = 0;
  double nll_mean = 0;
  double nll_stderr = 0;       // standard error of the mean token NLL
  int64_t n_windows = 0;
  int64_t n_scored = 0;
  std::vector<double> window_nll;  // sum of NLL per window
  std::vector<float> token_nll;    // NLL of every scored token, in order (for paired comparisons)
  double seconds = 0;
  double tokens_per_second = 0;    // tokens evaluated (n_windows * n_ctx) per second
};

Result<PerplexityResult> Perplexity(std::shared_ptr<const Model> model, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options);

// -log softmax(logits)[target], in double, stable.
double TokenNll(std::span<const float> logits, int32_t target);

}  // namespace lm
