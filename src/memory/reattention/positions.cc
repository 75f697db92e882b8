// ReAttention position re-assignment.
#include "memory/reattention/positions.h"

#include <algorithm>

namespace lm::reattention {

void BuildScope(int64_t n_cached, int64_t n_global, int64_t n_local, std::span<const int32_t> selected, int64_t n_chunk,
                Scope* out) {
  out->index.clear();
  if (n_cached <= n_global + n_local) {
    for (int64_t i = 0; i < n_cached; ++i) out->index.push_back(static_cast<int32_t>(i));
  } else {
    for (int64_t i = 0; i < n_global; ++i) out->index.push_back(static_cast<int32_t>(i));
    for (int32_t s : selected) out->index.push_back(static_cast<int32_t>(n_global + s));
    for (int64_t i = n_cached - n_local; i < n_cached; ++i) out->index.push_back(static_cast<int32_t>(i));
  }
  const auto L = static_cast<int64_t>(out->index.size());
  out->k_pos.resize(static_cast<size_t>(L));
  for (int64_t i = 0; i < L; ++i) out->k_pos[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  out->q_pos.resize(static_cast<size_t>(n_chunk));
  for (int64_t t = 0; t < n_chunk; ++t) out->q_pos[static_cast<size_t>(t)] = static_cast<int32_t>(L - n_chunk + t);
}

}  // namespace lm::reattention
