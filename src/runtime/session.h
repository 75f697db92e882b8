// Session: per-conversation state (memory, position, activations, last logits) over a shared Model.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "memory/kv_cache_type.h"
#include "memory/memory.h"
#include "model/forward.h"
#include "model/model.h"

namespace lm {

class Session {
 public:
  Session(std::shared_ptr<const Model> model, std::unique_ptr<Memory> memory);

  // Runs tokens through the model in micro-batches of at most `batch` tokens, continuing at n_past().
  // Afterwards logits() holds the distribution after the last token. When the memory's scope depends on
  // the step (Memory::scope_depends_on_step), the last token runs as a step of its own.
  Status Prefill(std::span<const int32_t> tokens, int64_t batch = 512);
  Status Decode(int32_t token) { return Prefill(std::span<const int32_t>(&token, 1)); }

  // Like Prefill, but calls on_logits(row, logits[V]) for every token from `first_scored` on
  // (index into `tokens`), for perplexity. Logits are computed in small groups, never [T, V] at once.
  template <class Fn>
  Status Score(std::span<const int32_t> tokens, int64_t first_scored, int64_t batch, Fn&& on_logits);

  std::span<const float> logits() const { return logits_; }
  int64_t n_past() const { return n_past_; }
  const Model& model() const { return *model_; }
  Memory& memory() { return *memory_; }
  void Reset();

 private:
  Status RunBatch(std::span<const int32_t> tokens);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Memory> memory_;
  ForwardScratch scratch_;
  std::vector<int32_t> pos_;
  std::vector<float> logits_;      // [V] after the last token
  std::vector<float> row_logits_;  // [group, V] for Score
  int64_t n_past_ = 0;
};

// A dense-cache session sized for n_ctx tokens, its K/V stored as kv_type.
std::unique_ptr<Session> NewDenseSession(std::shared_ptr<const Model> model, int64_t n_ctx,
                                         KvCacheType kv_type = KvCacheType::kF16);

template <class Fn>
Status Session::Score(std::span<const int32_t> tokens, int64_t first_scored, int64_t batch, Fn&& on_logits) {
  const int64_t V = model_->config().n_vocab, C = model_->config().n_embd;
  constexpr int64_t kGroup = 16;  // logits rows computed per matmul: bounded memory, still BLAS-3
  for (int64_t b0 = 0; b0 < static_cast<int64_t>(tokens.size()); b0 += batch) {
    const int64_t n = std::min<int64_t>(batch, static_cast<int64_t>(tokens.size()) - b0);
    LM_RETURN_IF_ERROR(RunBatch(tokens.subspan(static_cast<size_t>(b0), static_cast<size_t>(n))));
    for (int64_t r0 = std::max<int64_t>(0, first_scored - b0); r0 < n; r0 += kGroup) {
      const int64_t g = std::min(kGroup, n - r0);
      row_logits_.resize(static_cast<size_t>(g * V));
      ComputeLogits(*model_, scratch_.hidden.data() + r0 * C, g, row_logits_.data());
      for (int64_t r = 0; r < g; ++r)
        on_logits(b0 + r0 + r, std::span<const float>(row_logits_.data() + r * V, static_cast<size_t>(V)));
    }
  }
  return OkStatus();
}

}  // namespace lm
