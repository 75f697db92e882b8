// One LongMem segment read by LongMem::Segment without writing to the bank, keeping what the memory layer
// retrieved for the last position: the bank slots per query head (through SegmentOptions::on_retrieve). ICL
// uses it to ask "did the query retrieve the demonstration that holds its answer?" (the retrieval hit rate),
// the diagnostic behind a memory that does or does not help.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "sidenet/longmem.h"

namespace lm::eval_longmem {

struct ProbedSegment {
  std::vector<float> last_hidden;  // [C] the SideNet's final-normed state at the last position
  std::vector<int32_t> last_slots;  // [H, K] bank token slots retrieved at the last position (K = `retrieved`)
  int64_t retrieved = 0;            // tokens per query and head (0: empty bank or use_memory false)
};

class RetrievalProbe {
 public:
  explicit RetrievalProbe(sidenet::LongMem& lm) : lm_(lm) {}
  Status Run(std::span<const int32_t> tokens, bool use_memory, ProbedSegment* out);

 private:
  sidenet::LongMem& lm_;
  std::vector<float> final_;  // [T, C]
};
// Bank slot of each token of a stream written by Memorize in consecutive segments of `segment` tokens, with no
// eviction: each Add keeps whole chunks only, so a segment's last len % csz tokens are dropped (slot −1).
std::vector<int32_t> StreamSlots(int64_t n_tokens, int64_t segment, int64_t chunk_size);

}  // namespace lm::eval_longmem
