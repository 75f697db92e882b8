// Compensated attention: flash attention over the cache with its log-sum-exp, then the ln(N_d)-biased
// compensation slot merged in: out = (out·e^lse + v^·N_d·e^s^) / (e^lse + N_d·e^s^), computed stably.
#include "memory/razor/compensated_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lm::razor {

void CompensatedAttention(const CompensatedArgs& a, std::vector<float>& scratch) {
  const int64_t rows = a.n_q * a.group, D = a.head_dim;
  scratch.resize(static_cast<size_t>(rows));
  ops::Attention({.q = a.q, .k = a.k, .v = a.v, .kv_dtype = a.kv_dtype, .q_pos = a.q_pos, .k_pos = a.k_pos,
                  .out = a.out, .n_q = a.n_q, .n_kv = a.n_kv, .n_head = a.group, .n_head_kv = 1, .head_dim = D,
                  .scale = a.scale, .lse = scratch.data()});
  const float bias = std::log(static_cast<float>(a.n_dropped));
  for (int64_t row = 0; row < rows; ++row) {
    const float* q = a.q + row * D;
    float cs = 0;
    for (int64_t d = 0; d < D; ++d) cs += q[d] * a.comp_k[d];
    cs = cs * a.scale + bias;
    const float lse = scratch[static_cast<size_t>(row)];
    const float mx = std::max(lse, cs);
    const float w_cache = std::exp(lse - mx), w_comp = std::exp(cs - mx);  // exp(-inf) = 0: no visible key
    const float inv = 1.0f / (w_cache + w_comp);
    float* o = a.out + row * D;
    for (int64_t d = 0; d < D; ++d) o[d] = (o[d] * w_cache + a.comp_v[d] * w_comp) * inv;
  }
}

namespace reference {

void CompensatedAttention(const CompensatedArgs& a) {
  const int64_t D = a.head_dim, S = a.n_kv;
  std::vector<double> s(static_cast<size_t>(S + 1));
  for (int64_t row = 0; row < a.n_q * a.group; ++row) {
    const float* q = a.q + row * D;
    const int32_t qp = a.q_pos[row / a.group];
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j <= S; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double k = j < S ? ops::KvElement(a.k, a.kv_dtype, j * D + d) : a.comp_k[d];
        dot += static_cast<double>(q[d]) * k;
      }
      double x = dot * a.scale;
      if (j == S) x += std::log(static_cast<double>(a.n_dropped));
      if (j < S && a.k_pos[j] > qp) x = -std::numeric_limits<double>::infinity();
      s[static_cast<size_t>(j)] = x;
      mx = std::max(mx, x);
    }
    double z = 0;
    for (auto& x : s) z += (x = std::exp(x - mx));
    for (int64_t d = 0; d < D; ++d) {
      double acc = s[static_cast<size_t>(S)] * a.comp_v[d];
      for (int64_t j = 0; j < S; ++j) acc += s[static_cast<size_t>(j)] * ops::KvElement(a.v, a.kv_dtype, j * D + d);
      a.out[row * D + d] = static_cast<float>(acc / z);
    }
  }
}

}  // namespace reference
}  // namespace lm::razor
