// Flash-decoding on the CPU (Highway, AVX2 / AVX-512): few queries against a long K/V cache.
// The keys (or each key run, see ops::AttentionRuns) are split into ranges across threads; a task walks its
// range block by block through every KV head, scoring all query rows of the head's group (n_q queries x
// group heads) against each K row it loads, so every K/V row is streamed from memory once per call, not
// once per query head. Each task leaves a partial softmax state (max, sum, acc) per head; the caller merges
// them. Also holds the f32 <-> f16 row conversions used to write and read an f16 cache.

// The project-wide Highway target set (see that header for why every TU must share it).
#include "backend/cpu/hwy_targets.h"
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/attention_decode_cpu.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/cache_control.h"
#include "hwy/contrib/math/math-inl.h"
#include "ops/kv_load-inl.h"
#include "ops/sum4-inl.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "core/check.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "ops/attention_cpu.h"

HWY_BEFORE_NAMESPACE();
namespace lm::ops::HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr size_t kN = hn::MaxLanes(DF());
constexpr int64_t kBlock = 64;  // keys scored before the running max is updated
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using kv_load::LoadKv;

// Rows sharing one pass over a block: enough accumulators to fill the registers without spilling.
template <size_t kD>
constexpr size_t kChunk = std::max<size_t>(1, std::min<size_t>(4, 16 / (kD / kN)));

// Bytes of one cached row of kD elements, and where a row starts.
template <size_t kD, class P>
constexpr size_t kRowBytes = std::is_same_v<P, KvQ8Ptr> ? kD / 32 * sizeof(BlockQ8_0)
                                                         : kD * sizeof(std::remove_pointer_t<P>);
template <class P>
const char* RowAddress(P p) {
  if constexpr (std::is_same_v<P, KvQ8Ptr>) {
    return reinterpret_cast<const char*>(p.base + (p.e >> 5));
  } else {
    return reinterpret_cast<const char*>(p);
  }
}

// Software prefetch of a cached row (every line it touches): the hint that the row of the next block of keys
// is wanted soon. Decode reads 30 layers' caches in turn, so they come from DRAM, and the hardware prefetcher
// alone left the q8_0 kernel waiting on them (from DRAM at 8192 keys: 311 -> 285 us per layer; decode after
// 4096 / 8192, Q4_1, q8_0 cache: 93.0 / 62.5 -> 99.3 / 68.3 t/s). A hint never faults, past the cache's end
// included.
template <size_t kD, class P>
HWY_INLINE void PrefetchRow(P row) {
  const char* c = RowAddress(row);
  for (size_t off = 0; off < kRowBytes<kD, P>; off += 64) hwy::Prefetch(c + off);
  hwy::Prefetch(c + kRowBytes<kD, P> - 1);
}

// s[r][j] = qs[r] . k[j] for kR rows; keys no row can see are skipped (their scores set later).
// Where four keys' vectors fit in registers next to the accumulators (kD / kN <= 4), keys go four at a
// time and their four dot products per row are reduced together (sum4), a quarter of the shuffles.
template <size_t kD, size_t kR, class P>
void ScoreChunk(const float* qs, P k, int64_t stride, int64_t n, const bool* any_visible, float* s, bool prefetch) {
  constexpr size_t kNC = kD / kN;
  int64_t j = 0;
  if constexpr (kNC <= 4 && kN >= 4) {
    const DF df;
    for (; j + 4 <= n; j += 4) {
      if (!(any_visible[j] || any_visible[j + 1] || any_visible[j + 2] || any_visible[j + 3])) continue;
      VF kc[4][kNC];
      for (size_t u = 0; u < 4; ++u) {
        if (prefetch) PrefetchRow<kD>(k + (j + kBlock + static_cast<int64_t>(u)) * stride);
        for (size_t c = 0; c < kNC; ++c) kc[u][c] = LoadKv(k + (j + static_cast<int64_t>(u)) * stride + c * kN);
      }
      for (size_t r = 0; r < kR; ++r) {
        VF acc[4];
        const VF q0 = hn::LoadU(df, qs + r * kD);
        for (size_t u = 0; u < 4; ++u) acc[u] = hn::Mul(kc[u][0], q0);
        for (size_t c = 1; c < kNC; ++c) {
          const VF qc = hn::LoadU(df, qs + r * kD + c * kN);
          for (size_t u = 0; u < 4; ++u) acc[u] = hn::MulAdd(kc[u][c], qc, acc[u]);
        }
        sum4::Sum4(df, acc[0], acc[1], acc[2], acc[3], s + static_cast<int64_t>(r) * kBlock + j);
      }
    }
  }
  for (; j < n; ++j) {
    if (!any_visible[j]) continue;
    const P kr = k + j * stride;
    if (prefetch) PrefetchRow<kD>(kr + kBlock * stride);
    VF kc[kNC];
    for (size_t c = 0; c < kNC; ++c) kc[c] = LoadKv(kr + c * kN);
    for (size_t r = 0; r < kR; ++r) {
      VF acc = hn::Mul(kc[0], hn::LoadU(DF(), qs + r * kD));
      for (size_t c = 1; c < kNC; ++c) acc = hn::MulAdd(kc[c], hn::LoadU(DF(), qs + r * kD + c * kN), acc);
      s[static_cast<int64_t>(r) * kBlock + j] = hn::GetLane(hn::SumOfLanes(DF(), acc));
    }
  }
}

// acc[r] = acc[r] * corr[r] + sum_j p[r][j] v[j], with kR rows' accumulators held in registers.
template <size_t kD, size_t kR, class P>
void AccumulateChunk(const float* p, P v, int64_t stride, int64_t n, const bool* any_visible,
                     const float* corr, float* acc, bool prefetch) {
  constexpr size_t kNC = kD / kN;
  VF o[kR][kNC];
  for (size_t r = 0; r < kR; ++r)
    for (size_t c = 0; c < kNC; ++c) o[r][c] = hn::Mul(hn::LoadU(DF(), acc + r * kD + c * kN), hn::Set(DF(), corr[r]));
  for (int64_t j = 0; j < n; ++j) {
    if (!any_visible[j]) continue;
    const P vr = v + j * stride;
    if (prefetch) PrefetchRow<kD>(vr + kBlock * stride);
    VF pr[kR];
    for (size_t r = 0; r < kR; ++r) pr[r] = hn::Set(DF(), p[static_cast<int64_t>(r) * kBlock + j]);
    for (size_t c = 0; c < kNC; ++c) {
      const VF vv = LoadKv(vr + c * kN);
      for (size_t r = 0; r < kR; ++r) o[r][c] = hn::MulAdd(pr[r], vv, o[r][c]);
    }
  }
  for (size_t r = 0; r < kR; ++r)
    for (size_t c = 0; c < kNC; ++c) hn::StoreU(o[r][c], DF(), acc + r * kD + c * kN);
}

// The first chunk of rows also prefetches the next block's rows.
template <size_t kD, class P, size_t kR = kChunk<kD>>
void ScoreRows(size_t rows, const float* qs, P k, int64_t stride, int64_t n, const bool* vis, float* s,
               bool prefetch) {
  if constexpr (kR > 0) {
    for (; rows >= kR; rows -= kR, qs += kR * kD, s += kR * kBlock, prefetch = false)
      ScoreChunk<kD, kR>(qs, k, stride, n, vis, s, prefetch);
    if (rows > 0) ScoreRows<kD, P, kR - 1>(rows, qs, k, stride, n, vis, s, prefetch);
  }
}

template <size_t kD, class P, size_t kR = kChunk<kD>>
void AccumulateRows(size_t rows, const float* p, P v, int64_t stride, int64_t n, const bool* vis,
                    const float* corr, float* acc, bool prefetch) {
  if constexpr (kR > 0) {
    for (; rows >= kR; rows -= kR, p += kR * kBlock, corr += kR, acc += kR * kD, prefetch = false)
      AccumulateChunk<kD, kR>(p, v, stride, n, vis, corr, acc, prefetch);
    if (rows > 0) AccumulateRows<kD, P, kR - 1>(rows, p, v, stride, n, vis, corr, acc, prefetch);
  }
}

// Wide heads (kD / kN > 4: head_dim 64 on AVX2, 128 everywhere) with an f32 or q8_0 cache. Four keys'
// vectors next to a few rows' accumulators do not fit in the registers, so the register-blocked chunks above
// take a GQA group of 3 rows as 2 + 1 — loading and widening every K and V row twice — and reduce each key's
// dot product alone. Here a block of q8_0 keys is widened once into an f32 scratch that stays in L1 (scales
// multiplied in once per block of 32, not per vector) and every row streams it with memory-operand FMAs, the
// query in registers and four keys per reduction; V is read in place (AccumulateQ8). f16 stays on the
// register-blocked path: the scratch cost it a store per vector that its F16C loads do not (AVX2, head_dim
// 64, 8192 keys in L3: f16 279 vs 251 us per layer; q8_0 446 -> 253, f32 360 -> ~290).
template <size_t kD, class P>
constexpr bool kWide = kD / kN > 4 && !std::is_same_v<P, const hwy::float16_t*>;

// dst [n, kD] = the f32 values of n cached q8_0 rows (row stride `stride` elements).
template <size_t kD>
void WidenRows(KvQ8Ptr src, int64_t stride, int64_t n, float* dst, bool prefetch) {
  static_assert(kD % 32 == 0, "q8_0 rows are whole blocks");
  for (int64_t j = 0; j < n; ++j) {
    const BlockQ8_0* b = src.base + ((src.e + j * stride) >> 5);  // rows start on a block (kD % 32 == 0)
    if (prefetch) PrefetchRow<kD>(src + (j + kBlock) * stride);
    float* out = dst + j * static_cast<int64_t>(kD);
    for (size_t blk = 0; blk < kD / 32; ++blk, ++b, out += 32) kv_load::WidenQ8Block(*b, out);
  }
}

// s[r][j] = qs[r] . k[j], j < n, for f32 rows k (row stride ks).
template <size_t kD>
void ScoreWide(int64_t rows, const float* qs, const float* k, int64_t ks, int64_t n, float* s) {
  constexpr size_t kNC = kD / kN;
  const DF df;
  for (int64_t r = 0; r < rows; ++r, qs += kD, s += kBlock) {
    VF q[kNC];
    for (size_t c = 0; c < kNC; ++c) q[c] = hn::LoadU(df, qs + c * kN);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const float* kr = k + j * ks;
      VF acc[4];
      for (size_t u = 0; u < 4; ++u) acc[u] = hn::Mul(hn::LoadU(df, kr + static_cast<int64_t>(u) * ks), q[0]);
      for (size_t c = 1; c < kNC; ++c)
        for (size_t u = 0; u < 4; ++u)
          acc[u] = hn::MulAdd(hn::LoadU(df, kr + static_cast<int64_t>(u) * ks + c * kN), q[c], acc[u]);
      sum4::Sum4(df, acc[0], acc[1], acc[2], acc[3], s + j);
    }
    for (; j < n; ++j) {
      VF acc = hn::Mul(hn::LoadU(df, k + j * ks), q[0]);
      for (size_t c = 1; c < kNC; ++c) acc = hn::MulAdd(hn::LoadU(df, k + j * ks + c * kN), q[c], acc);
      s[j] = hn::GetLane(hn::SumOfLanes(df, acc));
    }
  }
}

// acc[r] = acc[r] * corr[r] + sum_j p[r][j] v[j] for f32 rows v (row stride vs), one row's accumulators at a time.
template <size_t kD>
void AccumulateWide(int64_t rows, const float* p, const float* v, int64_t vs, int64_t n, const bool* any_visible,
                    const float* corr, float* acc) {
  constexpr size_t kNC = kD / kN;
  const DF df;
  for (int64_t r = 0; r < rows; ++r, p += kBlock, acc += kD) {
    VF o[kNC];
    const VF cr = hn::Set(df, corr[r]);
    for (size_t c = 0; c < kNC; ++c) o[c] = hn::Mul(hn::LoadU(df, acc + c * kN), cr);
    for (int64_t j = 0; j < n; ++j) {
      if (!any_visible[j]) continue;
      const VF pj = hn::Set(df, p[j]);
      for (size_t c = 0; c < kNC; ++c) o[c] = hn::MulAdd(pj, hn::LoadU(df, v + j * vs + c * kN), o[c]);
    }
    for (size_t c = 0; c < kNC; ++c) hn::StoreU(o[c], df, acc + c * kN);
  }
}

// acc[r] = acc[r] * corr[r] + sum_j p[r][j] v[j] straight from a q8_0 cache, without the scratch: per q8_0
// block of the row and pass of up to three query rows, the rows' accumulators for its 32 elements stay in
// registers (AVX2: 12, next to 3 weights and the widened values), each key's int8 values are widened once
// for all of them, and the block's scale is folded into each row's weight p * d (one multiply per row and
// key instead of one per vector).
template <size_t kD, size_t kRows>
void AccumulateQ8Rows(const float* p, KvQ8Ptr v, int64_t stride, int64_t n, const bool* any_visible, float* acc,
                      bool prefetch) {
  constexpr size_t kVB = 32 / kN;  // vectors per q8_0 block
  const DF df;
  for (size_t blk = 0; blk < kD / 32; ++blk) {
    VF o[kRows][kVB];
    for (size_t r = 0; r < kRows; ++r)
      for (size_t i = 0; i < kVB; ++i) o[r][i] = hn::LoadU(df, acc + r * kD + blk * 32 + i * kN);
    for (int64_t j = 0; j < n; ++j) {
      if (!any_visible[j]) continue;
      const BlockQ8_0& b = v.base[((v.e + j * stride) >> 5) + static_cast<int64_t>(blk)];
      if (prefetch && blk == 0) PrefetchRow<kD>(v + (j + kBlock) * stride);
      const VF d = kv_load::Q8Scale(b);
      VF pr[kRows];
      for (size_t r = 0; r < kRows; ++r) pr[r] = hn::Mul(hn::Set(df, p[static_cast<int64_t>(r) * kBlock + j]), d);
      for (size_t i = 0; i < kVB; ++i) {
        const VF x = kv_load::Q8Ints(b, i * kN);
        for (size_t r = 0; r < kRows; ++r) o[r][i] = hn::MulAdd(pr[r], x, o[r][i]);
      }
    }
    for (size_t r = 0; r < kRows; ++r)
      for (size_t i = 0; i < kVB; ++i) hn::StoreU(o[r][i], df, acc + r * kD + blk * 32 + i * kN);
  }
}

template <size_t kD>
void AccumulateQ8(int64_t rows, const float* p, KvQ8Ptr v, int64_t stride, int64_t n, const bool* any_visible,
                  const float* corr, float* acc, bool prefetch) {
  const DF df;
  for (int64_t r = 0; r < rows; ++r) {
    const VF cr = hn::Set(df, corr[r]);
    for (size_t c = 0; c < kD; c += kN) hn::StoreU(hn::Mul(hn::LoadU(df, acc + r * kD + c), cr), df, acc + r * kD + c);
  }
  // The first pass of rows also prefetches the next block's rows.
  for (int64_t r = 0; r < rows; r += 3, p += 3 * kBlock, acc += 3 * kD, prefetch = false) {
    switch (std::min<int64_t>(3, rows - r)) {
      case 1: AccumulateQ8Rows<kD, 1>(p, v, stride, n, any_visible, acc, prefetch); break;
      case 2: AccumulateQ8Rows<kD, 2>(p, v, stride, n, any_visible, acc, prefetch); break;
      default: AccumulateQ8Rows<kD, 3>(p, v, stride, n, any_visible, acc, prefetch); break;
    }
  }
}

// f32 rows of a block of keys: the cache itself when it is f32, else widened into `scratch`.
template <size_t kD, class P>
const float* F32Rows(P src, int64_t stride, int64_t n, float* scratch, int64_t* row_stride, bool prefetch) {
  if constexpr (std::is_same_v<P, const float*>) {
    *row_stride = stride;
    return src;
  } else {
    WidenRows<kD>(src, stride, n, scratch, prefetch);
    *row_stride = static_cast<int64_t>(kD);
    return scratch;
  }
}

// An empty partial softmax state per KV head: m [R] = -inf, l [R] = 0, acc [R, kD] = 0, at states + hk * head_step.
template <size_t kD>
void InitStates(int64_t n_head_kv, int64_t R, float* states, int64_t head_step) {
  for (int64_t hk = 0; hk < n_head_kv; ++hk) {
    float* st = states + hk * head_step;
    std::fill(st, st + R, kNegInf);
    std::fill(st + R, st + R * (2 + static_cast<int64_t>(kD)), 0.0f);
  }
}

// Keys [j0, j1) against the rows of every KV head, block by block: each block's K/V rows of all heads
// (adjacent in the cache) are read from memory once, while they are in cache. qs [Hkv, R, kD] scaled
// queries, row_pos [R] (INT32_MAX when not causal). Continues the partial state per head hk at
// states + hk * head_step (InitStates): m [R], l [R], acc [R, kD] (acc unnormalised).
template <size_t kD, class P>
void DecodeRange(const AttentionArgs& a, int64_t j0, int64_t j1, const float* qs_all, const int32_t* row_pos,
                 int64_t R, float* states, int64_t head_step, bool prefetch) {
  const int64_t stride = a.n_head_kv * static_cast<int64_t>(kD);
  int32_t max_pos = row_pos[0], min_pos = row_pos[0];
  for (int64_t r = 1; r < R; ++r) {
    max_pos = std::max(max_pos, row_pos[r]);
    min_pos = std::min(min_pos, row_pos[r]);
  }
  HWY_ALIGN float s[internal::kDecodeMaxRows * kBlock];
  float corr[internal::kDecodeMaxRows];
  bool vis[kBlock];
  // Widened K of one block (wide heads with a q8_0 cache only).
  constexpr bool kScratch = kWide<kD, P> && !std::is_same_v<P, const float*>;
  HWY_ALIGN float wide[kScratch ? kBlock * kD : 1];
  for (int64_t b0 = j0; b0 < j1; b0 += kBlock) {
    const int64_t n = std::min(kBlock, j1 - b0);
    // Prefetch the next block's rows only where the range has a next block: past its end lie keys this
    // call does not read (after a 32-key ReAttention span, the unselected middle), so the hints would
    // double the span's memory traffic for nothing.
    const bool pf = prefetch && b0 + kBlock < j1;
    bool any = false, all = true;  // all: every row sees every key of the block
    for (int64_t j = 0; j < n; ++j) {
      vis[j] = !a.causal || a.k_pos[b0 + j] <= max_pos;
      any |= vis[j];
      all &= !a.causal || a.k_pos[b0 + j] <= min_pos;
    }
    if (!any) continue;
    for (int64_t hk = 0; hk < a.n_head_kv; ++hk) {
      const P k = KvPtrAt<P>(a.k) + hk * static_cast<int64_t>(kD);
      const P v = KvPtrAt<P>(a.v) + hk * static_cast<int64_t>(kD);
      const float* qs = qs_all + hk * R * static_cast<int64_t>(kD);
      float* m = states + hk * head_step;
      float* l = m + R;
      float* acc = l + R;
      if constexpr (kWide<kD, P>) {
        int64_t ks = 0;
        const float* kb = F32Rows<kD>(k + b0 * stride, stride, n, wide, &ks, pf);
        ScoreWide<kD>(R, qs, kb, ks, n, s);  // scores of keys no row sees are masked below
      } else {
        ScoreRows<kD, P>(static_cast<size_t>(R), qs, k + b0 * stride, stride, n, vis, s, pf);
      }
      // Online softmax per row: mask, block max, rescale factor, p = exp(s - m) (exactly 0 where masked).
      // Only the block's first n_vec lanes are touched: a short block (a 32-key ReAttention span, the cache's
      // end) pads up to a whole vector with -inf (exp weighs nothing) and skips the rest; the accumulation
      // reads p for j < n only. Spans of 32 then pay for 32 exponentials per row, not 64.
      const int64_t n_vec = (n + static_cast<int64_t>(kN) - 1) / static_cast<int64_t>(kN) * static_cast<int64_t>(kN);
      for (int64_t r = 0; r < R; ++r) {
        float* sr = s + r * kBlock;
        float bmax = kNegInf;
        for (int64_t j = n; j < n_vec; ++j) sr[j] = kNegInf;
        if (all) {  // the usual decode block: nothing to mask, a vector max
          const DF df;
          VF vmax = hn::LoadU(df, sr);
          for (int64_t j = static_cast<int64_t>(kN); j < n_vec; j += static_cast<int64_t>(kN))
            vmax = hn::Max(vmax, hn::LoadU(df, sr + j));
          bmax = hn::GetLane(hn::MaxOfLanes(df, vmax));
        } else {
          for (int64_t j = 0; j < n; ++j) {
            if (!vis[j] || (a.causal && a.k_pos[b0 + j] > row_pos[r])) sr[j] = kNegInf;
            bmax = std::max(bmax, sr[j]);
          }
        }
        if (bmax == kNegInf) {  // this row sees nothing here: contributes zeros, keeps its state
          std::fill(sr, sr + n_vec, 0.0f);
          corr[r] = 1.0f;
          continue;
        }
        const float m_new = std::max(m[r], bmax);
        corr[r] = std::exp(m[r] - m_new);  // exp(-inf) = 0 on the first visible block
        m[r] = m_new;
        const DF df;
        VF sum = hn::Zero(df);
        const VF mv = hn::Set(df, m_new), lo = hn::Set(df, -87.0f);
        for (int64_t j = 0; j < n_vec; j += static_cast<int64_t>(kN)) {
          const VF x = hn::Sub(hn::LoadU(df, sr + j), mv);
          // Below -87, exp underflows f32; masked keys (-inf) must weigh exactly 0.
          const VF p = hn::IfThenElseZero(hn::Ge(x, lo), hn::Exp(df, hn::Max(x, lo)));
          hn::StoreU(p, df, sr + j);
          sum = hn::Add(sum, p);
        }
        l[r] = l[r] * corr[r] + hn::GetLane(hn::SumOfLanes(df, sum));
      }
      if constexpr (kWide<kD, P>) {
        if constexpr (std::is_same_v<P, KvQ8Ptr>) {
          AccumulateQ8<kD>(R, s, v + b0 * stride, stride, n, vis, corr, acc, pf);
        } else {
          AccumulateWide<kD>(R, s, v + b0 * stride, stride, n, vis, corr, acc);
        }
      } else {
        AccumulateRows<kD, P>(static_cast<size_t>(R), s, v + b0 * stride, stride, n, vis, corr, acc, pf);
      }
    }
  }
}

// Per-caller scratch, reused across calls: scaled queries, row positions, key pieces, tasks, partial states.
struct DecodeScratch {
  std::vector<float> qs, partial;
  std::vector<int32_t> row_pos;
  std::vector<KeyRun> pieces;
  std::vector<int64_t> task_first;  // first piece of each task, then n_pieces
};

// Runs of keys, each scored with its own query variant (a plain call is one run over the whole cache).
// Runs are cut into pieces so every thread has work, and short runs are grouped into tasks of about a piece;
// each task goes over every KV head, with a partial softmax state per head, merged per row at the end.
// (Tasks per (KV head, piece) read the cache lines that neighbouring heads' rows share two or three times:
// 469 -> 382 us per layer for f16 and 358 -> 311 for q8_0 at 8192 keys from DRAM, AVX2.)
template <size_t kD, class P>
void Decode(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_var) {
  const int64_t G = a.n_head / a.n_head_kv, R = a.n_q * G, Hkv = a.n_head_kv, D = static_cast<int64_t>(kD);
  const int threads = GlobalPool().n_threads();
  int64_t total = 0;
  for (const KeyRun& r : runs) total += r.n;
  const int64_t n_split = total < 256 ? 1 : (total < 1024 ? threads : 2 * threads);
  const int64_t piece = std::max<int64_t>(kBlock, (total + n_split - 1) / n_split);
  thread_local DecodeScratch sc;
  sc.pieces.clear();
  for (const KeyRun& r : runs)
    for (int64_t j = r.k0; j < r.k0 + r.n; j += piece)
      sc.pieces.push_back({.k0 = j, .n = std::min(piece, r.k0 + r.n - j), .q_variant = r.q_variant});
  const auto n_pieces = static_cast<int64_t>(sc.pieces.size());
  // Tasks: consecutive pieces grouped up to `piece` keys, claimed by the threads as they finish (a task of
  // ReAttention's scattered 32-key spans costs more than one of its contiguous local window, so equal key
  // counts alone do not balance contiguous shares of tasks). A task carries one partial state per KV head
  // through its pieces (the online softmax goes on from one run to the next, whichever query copy scores it), so
  // ReAttention's 127 spans of 32 keys cost neither 127 state initialisations nor 127 states to merge.
  sc.task_first.clear();
  for (int64_t ip = 0, keys = 0; ip < n_pieces; keys += sc.pieces[static_cast<size_t>(ip)].n, ++ip)
    if (ip == 0 || keys + sc.pieces[static_cast<size_t>(ip)].n > piece) {
      sc.task_first.push_back(ip);
      keys = 0;
    }
  sc.task_first.push_back(n_pieces);
  const auto n_tasks = static_cast<int64_t>(sc.task_first.size()) - 1;
  const int64_t n_states = Hkv * n_tasks, slot = R * (D + 2);
  sc.qs.resize(static_cast<size_t>(n_var * Hkv * R * D));
  sc.row_pos.resize(static_cast<size_t>(R));
  sc.partial.resize(static_cast<size_t>(n_states * slot));
  for (int64_t w = 0; w < n_var; ++w)
    for (int64_t hk = 0; hk < Hkv; ++hk)
      for (int64_t t = 0; t < a.n_q; ++t)
        for (int64_t g = 0; g < G; ++g) {
          const float* q = a.q + ((w * a.n_q + t) * a.n_head + hk * G + g) * D;
          float* dst = sc.qs.data() + ((w * Hkv + hk) * R + t * G + g) * D;
          for (int64_t d = 0; d < D; ++d) dst[d] = q[d] * a.scale;
        }
  for (int64_t t = 0; t < a.n_q; ++t)
    for (int64_t g = 0; g < G; ++g)
      sc.row_pos[static_cast<size_t>(t * G + g)] = a.causal ? a.q_pos[t] : std::numeric_limits<int32_t>::max();
  // Plain pointers: inside the lambda, `sc` would name the worker's own (empty) thread_local.
  float* partial = sc.partial.data();
  const float* qs = sc.qs.data();
  const int32_t* row_pos = sc.row_pos.data();
  const KeyRun* pieces = sc.pieces.data();
  const int64_t* task_first = sc.task_first.data();
  // Software prefetch, for q8_0 caches from 1 MiB of K/V per layer (~30 MiB for a 30-layer model, past L3):
  // where the caches stay in L3 it only costs instructions (f16, 512 keys: 16 -> 19.5 us per layer), and
  // f16 decode, already near the host's read rate, gained nothing from it (Q4_1 after 4096 / 8192: 84 / 59
  // with, 87 / 57 t/s without).
  const bool prefetch = std::is_same_v<P, KvQ8Ptr> &&
                        total * Hkv * static_cast<int64_t>(kRowBytes<kD, P>) * 2 >= (int64_t{1} << 20);
  GlobalPool().ParallelForDynamic(n_tasks, [&](int64_t t, int) {
    InitStates<kD>(Hkv, R, partial + t * slot, n_tasks * slot);
    for (int64_t ip = task_first[t]; ip < task_first[t + 1]; ++ip) {
      const KeyRun& pc = pieces[ip];
      DecodeRange<kD, P>(a, pc.k0, pc.k0 + pc.n, qs + pc.q_variant * Hkv * R * D, row_pos, R, partial + t * slot,
                         n_tasks * slot, prefetch);
    }
  });
  // Merge: out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M).
  for (int64_t hk = 0; hk < Hkv; ++hk) {
    const float* states = sc.partial.data() + hk * n_tasks * slot;
    for (int64_t r = 0; r < R; ++r) {
      float* out = a.out + ((r / G) * a.n_head + hk * G + r % G) * D;
      float mx = kNegInf;
      for (int64_t sp = 0; sp < n_tasks; ++sp) mx = std::max(mx, states[sp * slot + r]);
      std::fill(out, out + D, 0.0f);
      float* lse = a.lse ? a.lse + (r / G) * a.n_head + hk * G + r % G : nullptr;
      if (lse) *lse = kNegInf;
      if (mx == kNegInf) continue;  // no visible key: zeros
      float lsum = 0.0f;
      for (int64_t sp = 0; sp < n_tasks; ++sp) {
        const float* st = states + sp * slot;
        if (st[r] == kNegInf) continue;
        const float w = std::exp(st[r] - mx);
        lsum += st[R + r] * w;
        const float* acc = st + 2 * R + r * D;
        for (int64_t d = 0; d < D; ++d) out[d] += w * acc[d];
      }
      const float inv = 1.0f / lsum;
      for (int64_t d = 0; d < D; ++d) out[d] *= inv;
      if (lse) *lse = mx + std::log(lsum);
    }
  }
}
}  // namespace

template <size_t kD>
void DecodeKv(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_var) {
  switch (a.kv_dtype) {
    case KvDType::kF32: return Decode<kD, const float*>(a, runs, n_var);
    case KvDType::kF16: return Decode<kD, const hwy::float16_t*>(a, runs, n_var);
    case KvDType::kQ8_0: return Decode<kD, KvQ8Ptr>(a, runs, n_var);
  }
}

void DecodeTarget(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_var) {
  switch (a.head_dim) {
    case 32: return DecodeKv<32>(a, runs, n_var);
    case 64: return DecodeKv<64>(a, runs, n_var);
    case 128: return DecodeKv<128>(a, runs, n_var);
    default: LM_CHECK(false, "attention decode: head_dim ", a.head_dim, " has no SIMD kernel");
  }
}

void ConvertF32ToF16Target(const float* src, uint16_t* dst, int64_t n) {
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  auto* out = reinterpret_cast<hwy::float16_t*>(dst);
  int64_t i = 0;
  for (; i + static_cast<int64_t>(kN) <= n; i += static_cast<int64_t>(kN))
    hn::StoreU(hn::DemoteTo(dh, hn::LoadU(df, src + i)), dh, out + i);
  for (; i < n; ++i) {  // tail through a padded vector so rounding matches the SIMD part
    HWY_ALIGN float buf[kN] = {};
    HWY_ALIGN hwy::float16_t hb[kN];
    buf[0] = src[i];
    hn::Store(hn::DemoteTo(dh, hn::Load(df, buf)), dh, hb);
    out[i] = hb[0];
  }
}

void ConvertF16ToF32Target(const uint16_t* src, float* dst, int64_t n) {
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const auto* in = reinterpret_cast<const hwy::float16_t*>(src);
  int64_t i = 0;
  for (; i + static_cast<int64_t>(kN) <= n; i += static_cast<int64_t>(kN))
    hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, in + i)), df, dst + i);
  for (; i < n; ++i) dst[i] = F16ToF32(src[i]);  // exact either way: every f16 is an f32
}

}  // namespace lm::ops::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::ops {
HWY_EXPORT(DecodeTarget);
HWY_EXPORT(ConvertF32ToF16Target);
HWY_EXPORT(ConvertF16ToF32Target);

namespace internal {
void AttentionDecodeSimd(const AttentionArgs& a) {
  const KeyRun all{.k0 = 0, .n = a.n_kv, .q_variant = 0};
  HWY_DYNAMIC_DISPATCH(DecodeTarget)(a, std::span<const KeyRun>(&all, 1), 1);
}
void AttentionRunsDecodeSimd(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_variants) {
  HWY_DYNAMIC_DISPATCH(DecodeTarget)(a, runs, n_variants);
}
}  // namespace internal

void ConvertF32ToF16(const float* src, uint16_t* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(ConvertF32ToF16Target)(src, dst, n);
}
void ConvertF16ToF32(const uint16_t* src, float* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(ConvertF16ToF32Target)(src, dst, n);
}
}  // namespace lm::ops
#endif  // HWY_ONCE
