// Generation loop: prefill the prompt, then sample and decode until a stop condition.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "runtime/session.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace lm {

struct GenerateOptions {
  int64_t max_tokens = 128;
  SamplingParams sampling;
  bool stop_at_end_of_generation = true;
  int64_t prefill_batch = 512;
};

struct GenerateStats {
  int64_t n_prompt = 0;
  int64_t n_generated = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  bool stopped_at_eog = false;
  double prefill_tps() const { return prefill_seconds > 0 ? n_prompt / prefill_seconds : 0; }
  double decode_tps() const { return decode_seconds > 0 ? n_generated / decode_seconds : 0; }
};

// Called with each new token and the complete UTF-8 text it finishes (possibly empty); return false to stop.
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

// Continues the session with `prompt` (may be empty to continue from the current logits).
// Generated ids are appended to *generated if given.
Result<GenerateStats> Generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                               const GenerateOptions& options, const TokenCallback& on_token,
                               std::vector<int32_t>* generated = nullptr);

}  // namespace lm
