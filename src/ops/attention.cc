// Attention dispatch (SIMD decode / prefill kernels or the scalar path), the scalar path itself for shapes
// without a SIMD kernel, and the plain reference.
#include "ops/attention.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/check.h"
#include "core/half.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "ops/attention_cpu.h"

namespace lm::ops {

namespace {
constexpr int64_t kBlock = 64;  // keys scored per block before the running max is updated

}  // namespace

float KvElement(const void* p, KvDType t, int64_t i) {
  switch (t) {
    case KvDType::kF16: return F16ToF32(static_cast<const uint16_t*>(p)[i]);
    case KvDType::kQ8_0: {
      const BlockQ8_0& b = static_cast<const BlockQ8_0*>(p)[i / 32];
      return F16ToF32(b.d) * static_cast<float>(b.qs[i % 32]);
    }
    case KvDType::kF32: break;
  }
  return static_cast<const float*>(p)[i];
}

namespace {
// Scalar online-softmax attention for one (query, head): the fallback for unusual head sizes/groups.
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
      const int64_t base = (j * a.n_head_kv + hk) * D;
      float s = 0.0f;
      for (int64_t d = 0; d < D; ++d) s += q[d] * KvElement(a.k, a.kv_dtype, base + d);
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
      const int64_t base = (j * a.n_head_kv + hk) * D;
      for (int64_t d = 0; d < D; ++d) out[d] += p * KvElement(a.v, a.kv_dtype, base + d);
    }
    m = m_new;
  }
  if (l > 0) {
    const float inv = 1.0f / l;
    for (int64_t d = 0; d < D; ++d) out[d] *= inv;
  }
  if (a.lse) a.lse[qi * a.n_head + h] = l > 0 ? m + std::log(l) : -std::numeric_limits<float>::infinity();
}
}  // namespace

int64_t KvBytes(KvDType t, int64_t n) {
  switch (t) {
    case KvDType::kF16: return 2 * n;
    case KvDType::kQ8_0: return n / 32 * static_cast<int64_t>(sizeof(BlockQ8_0));
    case KvDType::kF32: break;
  }
  return 4 * n;
}

void StoreKv(KvDType t, const float* src, void* dst, int64_t n) {
  switch (t) {
    case KvDType::kF16: return ConvertF32ToF16(src, static_cast<uint16_t*>(dst), n);
    case KvDType::kQ8_0:
      LM_CHECK(n % 32 == 0, "q8_0 K/V rows need a multiple of 32 elements, got ", n);
      return QuantizeRowQ8_0(src, static_cast<BlockQ8_0*>(dst), n);
    case KvDType::kF32: break;
  }
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void LoadKvRow(KvDType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case KvDType::kF16: return ConvertF16ToF32(static_cast<const uint16_t*>(src), dst, n);
    case KvDType::kQ8_0: return DequantizeRow(DType::kQ8_0, src, dst, n);
    case KvDType::kF32: break;
  }
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void Attention(const AttentionArgs& a) {
  LM_CHECK(a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0, "n_head ", a.n_head, " n_head_kv ", a.n_head_kv);
  LM_CHECK(!a.causal || (a.q_pos && a.k_pos), "causal attention needs positions");
  LM_CHECK(a.kv_dtype != KvDType::kQ8_0 || a.head_dim % 32 == 0, "q8_0 K/V needs head_dim % 32 == 0, got ",
           a.head_dim);
  if (a.n_q <= 0) return;
  const int64_t G = a.n_head / a.n_head_kv;
  if (a.n_kv > 0 && internal::SimdHeadDim(a.head_dim)) {
    if (a.n_q * G <= internal::kDecodeMaxRows) return internal::AttentionDecodeSimd(a);
    if (G <= internal::kPrefillTileRows) return internal::AttentionPrefillSimd(a);
  }
  GlobalPool().ParallelFor(a.n_q * a.n_head, [&](int64_t b, int64_t e, int) {
    float scores[kBlock];
    for (int64_t i = b; i < e; ++i) AttendOne(a, i / a.n_head, i % a.n_head, scores);
  });
}

namespace {
// Attends each run separately (attend = the kernel or the reference) and merges the runs' softmaxes
// through their log-sum-exp, in double.
template <class AttendFn>
void RunByRun(const AttentionArgs& a, std::span<const KeyRun> runs, AttendFn attend) {
  const int64_t rows = a.n_q * a.n_head, D = a.head_dim, K = a.n_head_kv * D;
  std::vector<double> acc(static_cast<size_t>(rows * D), 0.0), m(static_cast<size_t>(rows),
                                                                  -std::numeric_limits<double>::infinity());
  std::vector<double> l(static_cast<size_t>(rows), 0.0);
  std::vector<float> out(static_cast<size_t>(rows * D)), lse(static_cast<size_t>(rows));
  const size_t kv_row_bytes = static_cast<size_t>(KvBytes(a.kv_dtype, K));
  for (const KeyRun& r : runs) {
    if (r.n <= 0) continue;
    AttentionArgs s = a;
    s.q = a.q + r.q_variant * rows * D;
    s.k = static_cast<const uint8_t*>(a.k) + static_cast<size_t>(r.k0) * kv_row_bytes;
    s.v = static_cast<const uint8_t*>(a.v) + static_cast<size_t>(r.k0) * kv_row_bytes;
    s.k_pos = a.k_pos ? a.k_pos + r.k0 : nullptr;
    s.n_kv = r.n;
    s.out = out.data();
    s.lse = lse.data();
    attend(s);
    for (int64_t i = 0; i < rows; ++i) {  // fold this run's (lse, out) into the running state of row i
      const double x = lse[static_cast<size_t>(i)];
      if (x == -std::numeric_limits<double>::infinity()) continue;
      double& mi = m[static_cast<size_t>(i)];
      const double mn = std::max(mi, x), c_old = std::exp(mi - mn), c_new = std::exp(x - mn);
      l[static_cast<size_t>(i)] = l[static_cast<size_t>(i)] * c_old + c_new;
      for (int64_t d = 0; d < D; ++d) {
        double& o = acc[static_cast<size_t>(i * D + d)];
        o = o * c_old + c_new * out[static_cast<size_t>(i * D + d)];
      }
      mi = mn;
    }
  }
  for (int64_t i = 0; i < rows; ++i) {
    const double li = l[static_cast<size_t>(i)];
    for (int64_t d = 0; d < D; ++d)
      a.out[i * D + d] = li > 0 ? static_cast<float>(acc[static_cast<size_t>(i * D + d)] / li) : 0.0f;
    if (a.lse)
      a.lse[i] = li > 0 ? static_cast<float>(m[static_cast<size_t>(i)] + std::log(li))
                        : -std::numeric_limits<float>::infinity();
  }
}
}  // namespace

void AttentionRuns(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_variants) {
  LM_CHECK(a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0, "n_head ", a.n_head, " n_head_kv ", a.n_head_kv);
  LM_CHECK(!a.causal || (a.q_pos && a.k_pos), "causal attention needs positions");
  LM_CHECK(a.kv_dtype != KvDType::kQ8_0 || a.head_dim % 32 == 0, "q8_0 K/V needs head_dim % 32 == 0, got ",
           a.head_dim);
  for (const KeyRun& r : runs)
    LM_CHECK(r.q_variant >= 0 && r.q_variant < n_variants && r.k0 >= 0 && r.n >= 0, "attention runs: run [", r.k0,
             ", +", r.n, ") variant ", r.q_variant, " of ", n_variants);
  if (a.n_q <= 0) return;
  if (runs.size() == 1) {  // one run: plain attention over it (the prefill kernel when the chunk is long)
    const KeyRun& r = runs[0];
    const size_t row_bytes = static_cast<size_t>(KvBytes(a.kv_dtype, a.n_head_kv * a.head_dim));
    AttentionArgs s = a;
    s.q = a.q + r.q_variant * a.n_q * a.n_head * a.head_dim;
    s.k = static_cast<const uint8_t*>(a.k) + static_cast<size_t>(r.k0) * row_bytes;
    s.v = static_cast<const uint8_t*>(a.v) + static_cast<size_t>(r.k0) * row_bytes;
    s.k_pos = a.k_pos ? a.k_pos + r.k0 : nullptr;
    s.n_kv = r.n;
    return Attention(s);
  }
  if (internal::SimdHeadDim(a.head_dim) && a.n_q * (a.n_head / a.n_head_kv) <= internal::kDecodeMaxRows)
    return internal::AttentionRunsDecodeSimd(a, runs, n_variants);
  RunByRun(a, runs, [](const AttentionArgs& s) { ops::Attention(s); });
}

namespace reference {

void AttentionRuns(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t) {
  RunByRun(a, runs, [](const AttentionArgs& s) { reference::Attention(s); });
}

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
        const int64_t base = (j * a.n_head_kv + h / group) * D;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[d]) * KvElement(a.k, a.kv_dtype, base + d);
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
          acc += s[static_cast<size_t>(j)] * KvElement(a.v, a.kv_dtype, (j * a.n_head_kv + h / group) * D + d);
        out[d] = sum > 0 ? static_cast<float>(acc / sum) : 0.0f;
      }
      if (a.lse) {
        a.lse[i * a.n_head + h] =
            sum > 0 ? static_cast<float>(mx + std::log(sum)) : -std::numeric_limits<float>::infinity();
      }
    }
  }
}

}  // namespace reference
}  // namespace lm::ops
