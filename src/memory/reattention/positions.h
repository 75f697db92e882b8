// ReAttention's "training-free integration" (spec A.3 step 5): the attended keys are
// [global; selected spans; local] in original order and get contiguous positions 0..L-1, the chunk's
// queries get L-c..L-1. Gaps between spans and the distance to the local window collapse, so the largest
// relative distance the model sees is L-1 < its pretrained window, however long the cache is.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lm::reattention {

struct Scope {
  std::vector<int32_t> index;  // [L] cache indices of the attended keys, ascending
  std::vector<int32_t> k_pos;  // [L] 0..L-1
  std::vector<int32_t> q_pos;  // [c] L-c..L-1
};

// n_cached: tokens in the cache including the chunk's c new ones (the last c). When
// n_cached <= n_global + n_local everything is attended (ordinary attention, positions = indices).
// selected: indices into the middle region [n_global, n_cached - n_local), relative to its start.
void BuildScope(int64_t n_cached, int64_t n_global, int64_t n_local, std::span<const int32_t> selected, int64_t n_chunk,
                Scope* out);

}  // namespace lm::reattention
