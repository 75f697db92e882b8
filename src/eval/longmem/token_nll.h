// Per-token negative log-likelihood of one document under each system that eval-ppl compares, on the same
// token stream: inputs are tokens[0 .. n−2] and input j is scored on tokens[j+1], so every result has n − 1
// entries, nll[j] = −log p(tokens[j+1] | what the system saw), in nats. The systems differ only in context:
//   WindowedNll   windows of ctx inputs every stride inputs, each from an empty dense cache; each target is
//                 scored once, by the first window holding its input. stride = ctx = segment is the
//                 backbone limited to LongMem's local window; ctx = the native window, stride = ctx/2 is
//                 the sliding evaluation (every target after the first window sees >= ctx/2 tokens).
//   StrategyNll   the whole document in one pass through a memory strategy (e.g. reattention).
//   LongMemNll    the SideNet over consecutive segments, with or without its memory bank (reset first).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "eval/longmem/bootstrap.h"
#include "memory/memory.h"
#include "model/model.h"
#include "sidenet/longmem.h"

namespace lm::eval_longmem {

struct WindowOptions {
  int64_t ctx = 512;     // inputs per window
  int64_t stride = 512;  // inputs between window starts, 1..ctx
  int64_t batch = 512;   // prefill micro-batch
};

struct StateStats {
  uint64_t state_bytes = 0;  // largest cache / memory bank held while scoring (K/V bytes, bank bytes)
  int64_t tokens_read = 0;   // tokens the system ran through its forward pass (windows overlap)
  // LongMem only.
  int64_t segments = 0, segments_with_memory = 0;  // segments, and those that retrieved something
  double retrieved_sum = 0;                        // Σ retrieved tokens per query and head, over segments
  int64_t bank_tokens = 0;                         // bank fill after the document's last segment
};

Result<std::vector<double>> WindowedNll(std::shared_ptr<const Model> model, std::span<const int32_t> tokens,
                                        const WindowOptions& o, StateStats* stats = nullptr);
Result<std::vector<double>> StrategyNll(std::shared_ptr<const Model> model, std::span<const int32_t> tokens,
                                        std::unique_ptr<Memory> memory, int64_t batch = 512,
                                        StateStats* stats = nullptr);
// Resets lm's memory, then reads the document's segments in order: each retrieves (when use_memory) and is
// then written to the bank, as in training. use_memory = false: local attention only, nothing written.
Result<std::vector<double>> LongMemNll(sidenet::LongMem& lm, std::span<const int32_t> tokens, int64_t segment,
                                       bool use_memory, StateStats* stats = nullptr);

// Sums nll into consecutive segments of `segment` inputs (the last may be shorter): the bootstrap unit.
std::vector<SegmentNll> AggregateBySegment(std::span<const double> nll, int64_t segment);

}  // namespace lm::eval_longmem
