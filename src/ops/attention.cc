// Flash-style attention on the CPU (online softmax over key blocks).
#include "ops/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"

namespace lm::ops {

namespace {
constexpr int64_t kBlock = 64;  // keys scored per block before the running max is updated

void AttendOne(const AttentionArgs& a, int64_t qi, int64_t h, float* scores) {
  const int64_t D = a.head_dim;
  const int64_t hk = h / (a.n_head / a.n_head_kv);
  const float* q = a.q + (qi * a.n_head + h) * D;
  float* out = a.out + (qi * a.n_head + h) * D;
  for (int64_t d = 0; d < D; ++d) out[d] = 0.0f;
  float m = -std::numeric_limits<float>::infinity();
  float l = 0.0f;
  const int32_t qp = a.q_pos ? a.q_pos[qi] : 0;
  for (int64_t j0 = 0; j0 < a.n_kv; j0 += kBlock) {
    const int64_t j1 = std::min(a.n_kv, j0 + kBlock);
    float bmax = -std::numeric_limits<float>::infinity();
    for (int64_t j = j0; j < j1; ++j) {
      if (a.causal && a.k_pos[j] > qp) {
        scores[j - j0] = -std::numeric_limits<float>::infinity();
        continue;
      }
      const float* k = a.k + (j * a.n_head_kv + hk) * D;
      float s = 0.0f;
      for (int64_t d = 0; d < D; ++d) s += q[d] * k[d];
      s *= a.scale;
      scores[j - j0] = s;
      bmax = std::max(bmax, s);
    }
    if (bmax == -std::numeric_limits<float>::infinity()) continue;
    const float m_new = std::max(m, bmax);
    const float corr = std::exp(m - m_new);  // exp(-inf) = 0 on the first visible block
    l *= corr;
    for (int64_t d = 0; d < D; ++d) out[d] *= corr;
    for (int64_t j = j0; j < j1; ++j) {
      const float s = scores[j - j0];
      if (s == -std::numeric_limits<float>::infinity()) continue;
      const float p = std::exp(s - m_new);
      l += p;
      const float* v = a.v + (j * a.n_head_kv + hk) * D;
      for (int64_t d = 0; d < D; ++d) out[d] += p * v[d];
    }
    m = m_new;
  }
  if (l > 0) {
    const float inv = 1.0f / l;
    for (int64_t d = 0; d < D; ++d) out[d] *= inv;
  }
}
}  // namespace

void Attention(const AttentionArgs& a) {
  LM_CHECK(a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0, "n_head ", a.n_head, " n_head_kv ", a.n_head_kv);
  LM_CHECK(!a.causal || (a.q_pos && a.k_pos), "causal attention needs positions");
  GlobalPool().ParallelFor(a.n_q * a.n_head, [&](int64_t b, int64_t e, int) {
    float scores[kBlock];
    for (int64_t i = b; i < e; ++i) AttendOne(a, i / a.n_head, i % a.n_head, scores);
  });
}

namespace reference {

void Attention(const AttentionArgs& a) {
  const int64_t D = a.head_dim, group = a.n_head / a.n_head_kv;
  std::vector<double> s(static_cast<size_t>(a.n_kv));
  for (int64_t i = 0; i < a.n_q; ++i) {
    for (int64_t h = 0; h < a.n_head; ++h) {
      const float* q = a.q + (i * a.n_head + h) * D;
      float* out = a.out + (i * a.n_head + h) * D;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < a.n_kv; ++j) {
        const bool visible = !a.causal || a.k_pos[j] <= a.q_pos[i];
        double dot = 0;
        const float* k = a.k + (j * a.n_head_kv + h / group) * D;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[d]) * k[d];
        s[static_cast<size_t>(j)] = visible ? dot * a.scale : -std::numeric_limits<double>::infinity();
        mx = std::max(mx, s[static_cast<size_t>(j)]);
      }
      double sum = 0;
      for (int64_t j = 0; j < a.n_kv; ++j) {
        const double p = mx == -std::numeric_limits<double>::infinity() ? 0.0 : std::exp(s[static_cast<size_t>(j)] - mx);
        s[static_cast<size_t>(j)] = p;
        sum += p;
      }
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < a.n_kv; ++j)
          acc += s[static_cast<size_t>(j)] * a.v[(j * a.n_head_kv + h / group) * D + d];
        out[d] = sum > 0 ? static_cast<float>(acc / sum) : 0.0f;
      }
    }
  }
}

}  // namespace reference
}  // namespace lm::ops
