// Joint attention kernels. Memory attention: one (token, head) row per work item, K gathered bank rows scored,
// softmaxed and mixed in place; the only scratch is one K-float score row per worker chunk. Gate mix: σ(b) and
// 1 − σ(b) = σ(−b) are each computed directly (no cancellation for large |b|, exactly 0.5 / 0.5 at b = 0);
// dgate is reduced per row, then summed over tokens in a fixed order.
#include "train/ops/memory_attention_train.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"

namespace lm::train {

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();

void CheckShape(const MemoryAttentionShape& a) {
  LM_CHECK(a.Hkv > 0 && a.H % a.Hkv == 0, "n_head ", a.H, " n_head_kv ", a.Hkv);
  LM_CHECK(a.T >= 0 && a.D > 0 && a.K >= 0, "memory attention: T ", a.T, " D ", a.D, " K ", a.K);
  LM_CHECK(a.K == 0 || a.T == 0 || (a.q && a.bank_k && a.bank_v && a.slots), "memory attention: null input");
}

// Row offset (in floats) of slot j's key/value for row (t, h): g * kv_stride + slot * D.
inline int64_t SlotOffset(const MemoryAttentionShape& a, const int32_t* row_slots, int64_t j, int64_t g) {
  const int64_t s = row_slots[j];
  LM_CHECK(s >= 0 && (a.kv_stride == 0 || (s + 1) * a.D <= a.kv_stride), "memory attention: slot ", s,
           " outside the bank (kv_stride ", a.kv_stride, ", D ", a.D, ")");
  return g * a.kv_stride + s * a.D;
}

inline float DotF(const float* x, const float* y, int64_t n) {
  float s = 0.0f;
  for (int64_t d = 0; d < n; ++d) s += x[d] * y[d];
  return s;
}

// Numerically stable logistic in double: never evaluates exp of a positive argument.
double Sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

struct Gate {
  float mem;    // σ(b)
  float local;  // 1 − σ(b) = σ(−b)
};

std::vector<Gate> Gates(const float* gate_logit, int64_t H) {
  std::vector<Gate> g(static_cast<size_t>(H));
  for (int64_t h = 0; h < H; ++h) {
    const double b = gate_logit[h];
    g[h] = {static_cast<float>(Sigmoid(b)), static_cast<float>(Sigmoid(-b))};
  }
  return g;
}
}  // namespace

void MemoryAttentionForward(float* out, float* lse, const MemoryAttentionShape& a) {
  CheckShape(a);
  const int64_t D = a.D, K = a.K, group = a.H / a.Hkv;
  if (K == 0) {
    std::fill(out, out + a.T * a.H * D, 0.0f);
    std::fill(lse, lse + a.T * a.H, -kInf);
    return;
  }
  GlobalPool().ParallelFor(a.T * a.H, [&](int64_t b, int64_t e, int) {
    std::vector<float> s(static_cast<size_t>(K));
    for (int64_t r = b; r < e; ++r) {  // r = t * H + h
      const int64_t g = (r % a.H) / group;
      const float* q = a.q + r * D;
      const int32_t* slots = a.slots + r * K;
      float mx = -kInf;
      for (int64_t j = 0; j < K; ++j) {
        s[j] = a.scale * DotF(q, a.bank_k + SlotOffset(a, slots, j, g), D);
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < K; ++j) {
        s[j] = std::exp(s[j] - mx);
        sum += s[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* o = out + r * D;
      std::fill(o, o + D, 0.0f);
      for (int64_t j = 0; j < K; ++j) {
        const float p = s[j] * inv;
        const float* v = a.bank_v + SlotOffset(a, slots, j, g);
        for (int64_t d = 0; d < D; ++d) o[d] += p * v[d];
      }
      lse[r] = mx + static_cast<float>(std::log(sum));
    }
  });
}

void MemoryAttentionBackward(float* dq, const float* dout, const float* out, const float* lse,
                             const MemoryAttentionShape& a) {
  CheckShape(a);
  const int64_t D = a.D, K = a.K, group = a.H / a.Hkv;
  if (K == 0) return;  // no memory: the query's gradient comes from local attention alone
  GlobalPool().ParallelFor(a.T * a.H, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t g = (r % a.H) / group;
      const float* q = a.q + r * D;
      const float* go = dout + r * D;
      const int32_t* slots = a.slots + r * K;
      const float l = lse[r];
      const float di = DotF(go, out + r * D, D);  // Σ_j p_j dp_j = dout · out
      float* gq = dq + r * D;
      for (int64_t j = 0; j < K; ++j) {
        const int64_t off = SlotOffset(a, slots, j, g);
        const float* k = a.bank_k + off;
        const float p = std::exp(a.scale * DotF(q, k, D) - l);
        const float ds = p * (DotF(go, a.bank_v + off, D) - di) * a.scale;  // dS_j · scale
        for (int64_t d = 0; d < D; ++d) gq[d] += ds * k[d];
      }
    }
  });
}

void GateMixForward(float* o, const float* local, const float* mem, const float* gate_logit, int64_t T, int64_t H,
                    int64_t D) {
  const std::vector<Gate> gates = Gates(gate_logit, H);
  GlobalPool().ParallelFor(T * H, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const Gate g = gates[r % H];
      const int64_t base = r * D;
      for (int64_t d = 0; d < D; ++d) o[base + d] = g.local * local[base + d] + g.mem * mem[base + d];
    }
  });
}

void GateMixBackward(float* dlocal, float* dmem, float* dgate, const float* dout, const float* local, const float* mem,
                     const float* gate_logit, int64_t T, int64_t H, int64_t D) {
  const std::vector<Gate> gates = Gates(gate_logit, H);
  // dL/db_h = σ(b)(1 − σ(b)) · Σ_{t,d} dout · (mem − local); row partials first so the sum is thread-count free.
  std::vector<double> row_dot(dgate ? static_cast<size_t>(T * H) : 0);
  GlobalPool().ParallelFor(T * H, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const Gate g = gates[r % H];
      const int64_t base = r * D;
      double acc = 0;
      for (int64_t d = 0; d < D; ++d) {
        const float go = dout[base + d];
        dlocal[base + d] = g.local * go;
        dmem[base + d] = g.mem * go;
        acc += static_cast<double>(go) * (static_cast<double>(mem[base + d]) - local[base + d]);
      }
      if (dgate) row_dot[r] = acc;
    }
  });
  if (!dgate) return;
  for (int64_t h = 0; h < H; ++h) {
    double sum = 0;
    for (int64_t t = 0; t < T; ++t) sum += row_dot[t * H + h];
    dgate[h] += static_cast<float>(static_cast<double>(gates[h].mem) * gates[h].local * sum);
  }
}

}  // namespace lm::train
