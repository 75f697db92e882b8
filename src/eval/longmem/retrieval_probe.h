// One LongMem segment read exactly as LongMem::Segment reads it with use_memory and no write (backbone
// taps, SideNet with retrieval from the bank), but keeping what the memory layer retrieved for the last
// position: the bank slots per query head. ICL uses it to ask "did the query retrieve the demonstration that
// holds its answer?" (the retrieval hit rate), the diagnostic behind a memory that does or does not help.
// It repeats LongMem::Segment's few lines (LongMem exposes no retrieval hook); a test keeps the two equal,
// for SideNets of every init kind.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "memory/dense_kv.h"
#include "model/forward.h"
#include "sidenet/longmem.h"

namespace lm::eval_longmem {

struct ProbedSegment {
  std::vector<float> last_hidden;  // [C] the SideNet's final-normed state at the last position
  std::vector<int32_t> last_slots;  // [H, K] bank token slots retrieved at the last position (K = `retrieved`)
  int64_t retrieved = 0;            // tokens per query and head (0: empty bank or use_memory false)
};

class RetrievalProbe {
 public:
  // memory: the settings lm was created with (retrieve_tokens and chunk_size).
  RetrievalProbe(sidenet::LongMem& lm, const sidenet::MemoryConfig& memory);
  Status Run(std::span<const int32_t> tokens, bool use_memory, ProbedSegment* out);

 private:
  sidenet::LongMem& lm_;
  sidenet::MemoryConfig memory_;
  std::unique_ptr<DenseKv> kv_;
  ForwardScratch scratch_;
  std::vector<float> hidden_, final_residual_, final_;  // [L+1, T, C], [T, C], [T, C]
  std::vector<int32_t> pos_, slots_;
};

// Bank slot of each token of a stream written by Memorize in consecutive segments of `segment` tokens, with no
// eviction: each Add keeps whole chunks only, so a segment's last len % csz tokens are dropped (slot −1).
std::vector<int32_t> StreamSlots(int64_t n_tokens, int64_t segment, int64_t chunk_size);

}  // namespace lm::eval_longmem
