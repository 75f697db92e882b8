// Generation with LongMem: a long input is read segment by segment into the memory bank by the frozen
// backbone; the rest stays in the local window, from which the SideNet generates while retrieving. As in
// the official code there is no incremental cache: each new token re-runs the local window (at most
// `segment` tokens); when the window fills, its first half is written to memory.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/status.h"
#include "sampling/sampler.h"
#include "sidenet/longmem.h"
#include "tokenizer/tokenizer.h"

namespace lm::sidenet {

struct GenerateOptions {
  int64_t segment = 512;   // tokens per memory segment and of the local window
  int64_t max_tokens = 64;
  SamplingParams sampling;
  bool use_memory = true;  // false: the SideNet with an empty memory (and nothing is read into it)
  std::function<bool(int32_t id)> on_token;  // return false to stop
};

struct GenerateStats {
  int64_t n_input = 0, memorized_segments = 0, retrieved = 0;
  double read_seconds = 0, generate_seconds = 0;
  bool stopped_at_eog = false;
};

// `generated` receives the new tokens (end-of-generation tokens excluded).
Result<GenerateStats> Generate(LongMem& lm, const Tokenizer& tok, std::span<const int32_t> input,
                               const GenerateOptions& o, std::vector<int32_t>* generated);

}  // namespace lm::sidenet
