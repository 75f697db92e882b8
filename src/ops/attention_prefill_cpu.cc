// Tiled flash attention for prefill on the CPU (Highway, AVX2 / AVX-512): many queries against many keys.
// A task is (query tile, KV head). Its rows are the tile's queries x the group's query heads (48 rows, e.g.
// 16 queries x 3 heads), so each K/V block is loaded once and reused from cache for all of them. Scores are
// computed transposed, S^T[j][r] = sum_d K[j][d] Qt[d][r], with the rows across SIMD lanes: the running
// max/sum of the online softmax are then plain vector ops, and only Q (once per tile) is transposed.
// Causal: key blocks entirely in the future of the whole tile are skipped; blocks entirely in its past
// skip the mask. Tasks are handed out largest first from a shared counter (later tiles see more keys).

// The project-wide Highway target set (see that header for why every TU must share it).
#include "backend/cpu/hwy_targets.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/attention_prefill_cpu.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "ops/kv_load-inl.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <limits>
#include <memory>
#include <type_traits>

#include "core/check.h"
#include "core/thread_pool.h"
#include "ops/attention_cpu.h"

HWY_BEFORE_NAMESPACE();
namespace lm::ops::HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
constexpr size_t kN = hn::MaxLanes(DF());
constexpr size_t kRows = (internal::kPrefillTileRows + kN - 1) / kN * kN;  // rows per tile, padded
constexpr size_t kRV = kRows / kN;                                         // row vectors
constexpr size_t kJ = std::max<size_t>(1, 12 / kRV);                       // keys per score step
constexpr int64_t kBk = 32;                                                // keys per block
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Per-thread scratch, reused across calls (sized for the largest head_dim).
struct alignas(64) TileScratch {
  float qt[128 * kRows];  // [D, kRows] scaled queries, transposed
  float o[kRows * 128];   // [kRows, D] unnormalised outputs
  float st[kBk * kRows];  // [kBk, kRows] scores, then probabilities
  float kf[kBk * 128];    // [kBk, D] block of K widened to f32 (f16 and q8_0 caches)
  float vf[kBk * 128];    // [kBk, D] block of V widened to f32
  float m[kRows], l[kRows], corr[kRows];
  int32_t qpos[kRows];
};

// Widens n rows of kD elements (row stride `stride`) into dst [n, kD]; f32 rows are used in place instead.
template <size_t kD, class P>
void Widen(P src, int64_t stride, int64_t n, float* dst) {
  const DF df;
  for (int64_t j = 0; j < n; ++j)
    for (size_t c = 0; c < kD; c += kN)
      hn::StoreU(kv_load::LoadKv(src + (j * stride + static_cast<int64_t>(c))), df, dst + j * static_cast<int64_t>(kD) + c);
}

// O[r] = O[r] * corr[r] + sum_j P^T[j][r] V[j] for kR rows held in registers.
template <size_t kD, size_t kR>
void AccumulateRows(float* o, const float* st, const float* corr, const float* v, int64_t vs, int64_t n) {
  constexpr size_t kNC = kD / kN;
  const DF df;
  VF acc[kR][kNC];
  for (size_t r = 0; r < kR; ++r)
    for (size_t c = 0; c < kNC; ++c) acc[r][c] = hn::Mul(hn::LoadU(df, o + r * kD + c * kN), hn::Set(df, corr[r]));
  for (int64_t j = 0; j < n; ++j) {
    VF p[kR];
    for (size_t r = 0; r < kR; ++r) p[r] = hn::Set(df, st[j * static_cast<int64_t>(kRows) + static_cast<int64_t>(r)]);
    for (size_t c = 0; c < kNC; ++c) {
      const VF vv = hn::LoadU(df, v + j * vs + c * kN);
      for (size_t r = 0; r < kR; ++r) acc[r][c] = hn::MulAdd(p[r], vv, acc[r][c]);
    }
  }
  for (size_t r = 0; r < kR; ++r)
    for (size_t c = 0; c < kNC; ++c) hn::StoreU(acc[r][c], df, o + r * kD + c * kN);
}

template <size_t kD, class P>
void Tile(const AttentionArgs& a, int64_t t0, int64_t tq, int64_t hk, TileScratch& sc) {
  const DF df;
  const DI di;
  const int64_t G = a.n_head / a.n_head_kv, R = tq * G, H = a.n_head, D = static_cast<int64_t>(kD);
  const int64_t kv_stride = a.n_head_kv * D;
  constexpr bool kWiden = !std::is_same_v<P, const float*>;
  // Rows: r = t * G + g. Padded rows see no key and are never written out.
  int32_t qmin = std::numeric_limits<int32_t>::max(), qmax = std::numeric_limits<int32_t>::min();
  for (size_t r = 0; r < kRows; ++r) {
    const auto ri = static_cast<int64_t>(r);
    int32_t p = std::numeric_limits<int32_t>::min();
    if (ri < R) p = a.causal ? a.q_pos[t0 + ri / G] : std::numeric_limits<int32_t>::max();
    sc.qpos[r] = p;
    if (ri < R) qmin = std::min(qmin, p), qmax = std::max(qmax, p);
    const float* q = ri < R ? a.q + ((t0 + ri / G) * H + hk * G + ri % G) * D : nullptr;
    for (int64_t d = 0; d < D; ++d) sc.qt[d * static_cast<int64_t>(kRows) + ri] = q ? q[d] * a.scale : 0.0f;
    sc.m[r] = kNegInf;
    sc.l[r] = 0.0f;
  }
  std::fill(sc.o, sc.o + kRows * kD, 0.0f);
  const P kbase = KvPtrAt<P>(a.k) + hk * D;
  const P vbase = KvPtrAt<P>(a.v) + hk * D;
  for (int64_t b0 = 0; b0 < a.n_kv; b0 += kBk) {
    const int64_t n = std::min(kBk, a.n_kv - b0);
    bool need_mask = false;
    if (a.causal) {
      int32_t kmin = a.k_pos[b0], kmax = a.k_pos[b0];
      for (int64_t j = 1; j < n; ++j) kmin = std::min(kmin, a.k_pos[b0 + j]), kmax = std::max(kmax, a.k_pos[b0 + j]);
      if (kmin > qmax) continue;  // the whole block is in the future of every query of the tile
      need_mask = kmax > qmin;
    }
    const float* kp;
    const float* vp;
    int64_t ks;
    if constexpr (kWiden) {
      Widen<kD>(kbase + b0 * kv_stride, kv_stride, n, sc.kf);
      Widen<kD>(vbase + b0 * kv_stride, kv_stride, n, sc.vf);
      kp = sc.kf, vp = sc.vf, ks = D;
    } else {
      kp = kbase + b0 * kv_stride, vp = vbase + b0 * kv_stride, ks = kv_stride;
    }
    // S^T[j][r] for kJ keys at a time: kJ x kRV accumulators, Qt rows loaded once per d for all of them.
    for (int64_t j = 0; j < n; j += static_cast<int64_t>(kJ)) {
      VF acc[kJ][kRV];
      int64_t jr[kJ];
      for (size_t jj = 0; jj < kJ; ++jj) {
        jr[jj] = std::min(j + static_cast<int64_t>(jj), n - 1);  // tail keys recompute the last one
        for (size_t v = 0; v < kRV; ++v) acc[jj][v] = hn::Zero(df);
      }
      for (int64_t d = 0; d < D; ++d) {
        VF qv[kRV];
        for (size_t v = 0; v < kRV; ++v) qv[v] = hn::LoadU(df, sc.qt + d * static_cast<int64_t>(kRows) + v * kN);
        for (size_t jj = 0; jj < kJ; ++jj) {
          const VF b = hn::Set(df, kp[jr[jj] * ks + d]);
          for (size_t v = 0; v < kRV; ++v) acc[jj][v] = hn::MulAdd(b, qv[v], acc[jj][v]);
        }
      }
      for (size_t jj = 0; jj < kJ && j + static_cast<int64_t>(jj) < n; ++jj) {
        const auto kpos = hn::Set(di, need_mask ? a.k_pos[b0 + jr[jj]] : 0);
        for (size_t v = 0; v < kRV; ++v) {
          VF s = acc[jj][v];
          if (need_mask) {
            const auto future = hn::Gt(kpos, hn::LoadU(di, sc.qpos + v * kN));
            s = hn::IfThenElse(hn::RebindMask(df, future), hn::Set(df, kNegInf), s);
          }
          hn::StoreU(s, df, sc.st + (j + static_cast<int64_t>(jj)) * static_cast<int64_t>(kRows) + v * kN);
        }
      }
    }
    // Online softmax, all rows at once (rows are lanes).
    const VF lo = hn::Set(df, -87.0f), ninf = hn::Set(df, kNegInf);
    for (size_t v = 0; v < kRV; ++v) {
      VF bmax = ninf;
      for (int64_t j = 0; j < n; ++j) bmax = hn::Max(bmax, hn::LoadU(df, sc.st + j * static_cast<int64_t>(kRows) + v * kN));
      const VF m_old = hn::LoadU(df, sc.m + v * kN);
      const VF m_new = hn::Max(m_old, bmax);
      // A row that has seen nothing yet keeps m = -inf; use 0 so exp(-inf - m) is 0, not NaN.
      const VF m_use = hn::IfThenElse(hn::Eq(m_new, ninf), hn::Zero(df), m_new);
      auto safe_exp = [&](VF x) { return hn::IfThenElseZero(hn::Ge(x, lo), hn::Exp(df, hn::Max(x, lo))); };
      const VF corr = safe_exp(hn::Sub(m_old, m_use));
      VF sum = hn::Zero(df);
      for (int64_t j = 0; j < n; ++j) {
        float* sp = sc.st + j * static_cast<int64_t>(kRows) + v * kN;
        const VF p = safe_exp(hn::Sub(hn::LoadU(df, sp), m_use));
        hn::StoreU(p, df, sp);
        sum = hn::Add(sum, p);
      }
      hn::StoreU(hn::MulAdd(hn::LoadU(df, sc.l + v * kN), corr, sum), df, sc.l + v * kN);
      hn::StoreU(m_new, df, sc.m + v * kN);
      hn::StoreU(corr, df, sc.corr + v * kN);
    }
    // O += P V, a few rows at a time with their accumulators in registers.
    constexpr size_t kR = std::max<size_t>(1, std::min<size_t>(4, 16 / (kD / kN)));
    int64_t r = 0;
    for (; r + static_cast<int64_t>(kR) <= R; r += static_cast<int64_t>(kR))
      AccumulateRows<kD, kR>(sc.o + r * D, sc.st + r, sc.corr + r, vp, ks, n);
    for (; r < R; ++r) AccumulateRows<kD, 1>(sc.o + r * D, sc.st + r, sc.corr + r, vp, ks, n);
  }
  for (int64_t r = 0; r < R; ++r) {
    float* out = a.out + ((t0 + r / G) * H + hk * G + r % G) * D;
    const float l = sc.l[r];
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // no visible key: zeros
    for (int64_t d = 0; d < D; ++d) out[d] = sc.o[r * D + d] * inv;
    if (a.lse) a.lse[(t0 + r / G) * H + hk * G + r % G] = l > 0.0f ? sc.m[r] + std::log(l) : kNegInf;
  }
}

template <size_t kD, class P>
void Prefill(const AttentionArgs& a) {
  const int64_t G = a.n_head / a.n_head_kv, Hkv = a.n_head_kv;
  const int64_t tq = static_cast<int64_t>(kRows) / G;
  const int64_t n_tiles = (a.n_q + tq - 1) / tq, n_tasks = n_tiles * Hkv;
  std::atomic<int64_t> next{0};
  GlobalPool().ParallelFor(GlobalPool().n_threads(), [&](int64_t, int64_t, int) {
    thread_local std::unique_ptr<TileScratch> sc;
    if (!sc) sc = std::make_unique<TileScratch>();
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n_tasks;) {
      const int64_t tile = n_tiles - 1 - i / Hkv;  // last tiles first: with causal masks they are the largest
      const int64_t t0 = tile * tq;
      Tile<kD, P>(a, t0, std::min(tq, a.n_q - t0), i % Hkv, *sc);
    }
  });
}
}  // namespace

template <size_t kD>
void PrefillKv(const AttentionArgs& a) {
  switch (a.kv_dtype) {
    case KvDType::kF32: return Prefill<kD, const float*>(a);
    case KvDType::kF16: return Prefill<kD, const hwy::float16_t*>(a);
    case KvDType::kQ8_0: return Prefill<kD, KvQ8Ptr>(a);
  }
}

void PrefillTarget(const AttentionArgs& a) {
  switch (a.head_dim) {
    case 32: return PrefillKv<32>(a);
    case 64: return PrefillKv<64>(a);
    case 128: return PrefillKv<128>(a);
    default: LM_CHECK(false, "attention prefill: head_dim ", a.head_dim, " has no SIMD kernel");
  }
}

}  // namespace lm::ops::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::ops {
HWY_EXPORT(PrefillTarget);
namespace internal {
void AttentionPrefillSimd(const AttentionArgs& a) { HWY_DYNAMIC_DISPATCH(PrefillTarget)(a); }
}  // namespace internal
}  // namespace lm::ops
#endif  // HWY_ONCE
