// Causal running-mean centring of retrieval queries (see query_centring.h for why).
#include "memory/memory_bank/query_centring.h"

#include <cstddef>
#include <vector>

namespace lm::membank {

void CentreQueriesCausal(const float* q, int64_t T, int64_t H, int64_t D, float* out) {
  const int64_t row = H * D;
  // Double sums: a 2K-token segment of O(10) components would otherwise lose low bits of the mean.
  std::vector<double> sum(static_cast<size_t>(row), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    const float* qt = q + t * row;
    float* ot = out + t * row;
    const double inv = 1.0 / static_cast<double>(t + 1);
    for (int64_t i = 0; i < row; ++i) {
      sum[static_cast<size_t>(i)] += qt[i];
      ot[i] = static_cast<float>(qt[i] - sum[static_cast<size_t>(i)] * inv);
    }
  }
}

}  // namespace lm::membank
