// Compensated attention: sgemm scores, masked softmax with the ln(N_d)-biased compensation slot, sgemm P.V.
#include "memory/razor/compensated_attention.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/blas.h"
#include "core/thread_pool.h"

namespace lm::razor {

void CompensatedAttention(const CompensatedArgs& a, std::vector<float>& scratch) {
  const int64_t rows = a.n_q * a.group, D = a.head_dim, S = a.n_kv;
  scratch.resize(static_cast<size_t>(rows * S));
  const float bias = std::log(static_cast<float>(a.n_dropped));
  constexpr int64_t kBlock = 32;
  GlobalPool().ParallelFor((rows + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kBlock, nr = std::min(kBlock, rows - r0);
      float* s = scratch.data() + r0 * S;
      SgemmNT(nr, S, D, a.q + r0 * D, a.k, s, a.scale);
      for (int64_t r = 0; r < nr; ++r) {
        const int64_t row = r0 + r;
        const int32_t qp = a.q_pos[row / a.group];
        const float* q = a.q + row * D;
        float* sr = s + r * S;
        float cs = 0;
        for (int64_t d = 0; d < D; ++d) cs += q[d] * a.comp_k[d];
        cs = cs * a.scale + bias;
        float mx = cs;
        for (int64_t j = 0; j < S; ++j) {
          if (a.k_pos[j] > qp) sr[j] = -INFINITY;
          mx = std::max(mx, sr[j]);
        }
        double z = std::exp(static_cast<double>(cs - mx));
        for (int64_t j = 0; j < S; ++j) {
          sr[j] = sr[j] == -INFINITY ? 0.0f : std::exp(sr[j] - mx);
          z += sr[j];
        }
        const auto inv = static_cast<float>(1.0 / z);
        for (int64_t j = 0; j < S; ++j) sr[j] *= inv;
        const float pc = static_cast<float>(std::exp(static_cast<double>(cs - mx)) / z);
        float* o = a.out + row * D;
        for (int64_t d = 0; d < D; ++d) o[d] = pc * a.comp_v[d];
      }
      SgemmNN(nr, D, S, s, a.v, a.out + r0 * D, 1.0f, 1.0f);  // out += P.V
    }
  });
}

}  // namespace lm::razor
