// The probed LongMem segment: LongMem::Segment without a write, recording the last position's retrieval.
#include "eval/longmem/retrieval_probe.h"

#include "core/str.h"

namespace lm::eval_longmem {

Status RetrievalProbe::Run(std::span<const int32_t> tokens, bool use_memory, ProbedSegment* out) {
  const int64_t C = lm_.backbone().config().n_embd, T = static_cast<int64_t>(tokens.size());
  if (T < 1) return OutOfRange(StrCat("probe: an empty segment; hint: at least one token"));
  final_.resize(static_cast<size_t>(T * C));
  out->retrieved = 0;
  out->last_slots.clear();
  sidenet::SegmentOptions o{.use_memory = use_memory, .write_memory = false, .final_hidden = final_.data()};
  o.on_retrieve = [&](std::span<const int32_t> slots, int64_t, int64_t H, int64_t K) {
    out->retrieved = K;
    if (K > 0) out->last_slots.assign(slots.end() - H * K, slots.end());
  };
  auto st = lm_.Segment(tokens, o);
  if (!st.ok()) return st.status();
  out->last_hidden.assign(final_.end() - C, final_.end());
  return OkStatus();
}

std::vector<int32_t> StreamSlots(int64_t n_tokens, int64_t segment, int64_t chunk_size) {
  std::vector<int32_t> slot(static_cast<size_t>(n_tokens), -1);
  int64_t next = 0;
  for (int64_t b = 0; b < n_tokens; b += segment) {
    const int64_t len = std::min(segment, n_tokens - b), kept = len / chunk_size * chunk_size;
    for (int64_t j = 0; j < kept; ++j) slot[static_cast<size_t>(b + j)] = static_cast<int32_t>(next + j);
    next += kept;
  }
  return slot;
}

}  // namespace lm::eval_longmem
