// AVX-512 VNNI kernels for the int8 products: two weight blocks per zmm (quant_pair_avx512-inl.h), float
// accumulators kept in registers across all blocks of a row and reduced once, minimum terms (m·s_x)
// accumulated separately. Decode (T = 1) streams 8 rows at a time; prefill uses 4 rows × 4 tokens tiles
// that unpack each weight pair once and reuse it for all 4 tokens. Both do the same arithmetic, in the same
// order, for each (row, token), so a token's output is bit-identical however a prompt is split into calls.
// Included by quant_gemm_hwy.cc.
#if defined(LM_BACKEND_CPU_QUANT_GEMM_AVX512_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LM_BACKEND_CPU_QUANT_GEMM_AVX512_INL_H_
#undef LM_BACKEND_CPU_QUANT_GEMM_AVX512_INL_H_
#else
#define LM_BACKEND_CPU_QUANT_GEMM_AVX512_INL_H_
#endif

#include <algorithm>
#include <vector>

#include "backend/cpu/gemm.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lm {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL

// Horizontal sums of 4 zmm → [Σa, Σb, Σc, Σd]: halves added, then two hadd levels (13 ops, not 4×8).
HWY_INLINE __m128 Reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const auto half = [](__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  };
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
// [Σa, Σb, Σc, Σd] of 4 xmm.
HWY_INLINE __m128 Reduce4(__m128 a, __m128 b, __m128 c, __m128 d) {
  return _mm_hadd_ps(_mm_hadd_ps(a, b), _mm_hadd_ps(c, d));
}

// Decode prefetches this many rows ahead (measured on the 49152-row LM head, 1 thread: none 15 / 6.8 GB/s
// for q4_1 / q8_0, 4 rows 14 / 8.6, 16 rows 18 / 10-11, 32 rows 18 / 8.7).
constexpr int kPrefetchRows = 16;
constexpr int kDecodeRows = 8;
// Decode: rows r0..r0+R-1 against the single token. Each row's weights are read exactly once.
template <class P, int R>
HWY_INLINE void DecodeRows(const QuantGemmArgs& a, int64_t r0) {
  const int64_t nb = a.x.K / 32;
  const uint8_t* w = static_cast<const uint8_t*>(a.w) + r0 * a.row_bytes;
  const auto* xq = reinterpret_cast<const uint8_t*>(a.x.qs);
  __m512 acc[R];
  __m128 macc[R];
  for (int r = 0; r < R; ++r) {
    acc[r] = _mm512_setzero_ps();
    macc[r] = _mm_setzero_ps();
  }
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m512i x = _mm512_loadu_si512(xq + 32 * b);
    const __m512 dx = Spread2(a.x.d + b);
    // [s_b, s_b+1, 0, 0], unaligned-safe.
    const __m128 sx = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a.x.s + b)));
    for (int r = 0; r < R; ++r) {
      // The same place kPrefetchRows rows on: the weight stream is the bottleneck at T = 1, and software
      // prefetch keeps more misses in flight than the hardware streams do.
      const uint8_t* ahead = w + (kPrefetchRows + r) * a.row_bytes + b * P::kBlockBytes;
      _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
      if constexpr (2 * P::kBlockBytes > 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + 64), _MM_HINT_T0);
      const Pair p = P::Unpack2(w + r * a.row_bytes, b);
      const __m512 dot = _mm512_cvtepi32_ps(Dpbusd(_mm512_setzero_si512(), p.q, x));
      acc[r] = _mm512_fmadd_ps(dot, _mm512_mul_ps(p.sc, dx), acc[r]);
      macc[r] = _mm_fmadd_ps(p.m, sx, macc[r]);
    }
  }
  if (b < nb) {  // odd last block: upper halves of q and sc are zero
    const __m512i x = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b)));
    const __m512 dx = _mm512_set1_ps(a.x.d[b]);
    const __m128 sx = _mm_set_ss(a.x.s[b]);
    for (int r = 0; r < R; ++r) {
      const Pair p = P::Unpack1(w + r * a.row_bytes, b);
      const __m512 dot = _mm512_cvtepi32_ps(Dpbusd(_mm512_setzero_si512(), p.q, x));
      acc[r] = _mm512_fmadd_ps(dot, _mm512_mul_ps(p.sc, dx), acc[r]);
      macc[r] = _mm_fmadd_ps(p.m, sx, macc[r]);
    }
  }
  if constexpr (R % 4 == 0) {
    for (int g = 0; g < R; g += 4) {
      const __m128 y = _mm_add_ps(Reduce4(acc[g], acc[g + 1], acc[g + 2], acc[g + 3]),
                                  Reduce4(macc[g], macc[g + 1], macc[g + 2], macc[g + 3]));
      _mm_storeu_ps(a.y + r0 + g, y);
    }
  } else {
    // Same summation order as the 4-row path, so a row's result does not depend on where a slice starts.
    for (int r = 0; r < R; ++r)
      a.y[r0 + r] = _mm_cvtss_f32(_mm_add_ps(Reduce4(acc[r], acc[r], acc[r], acc[r]),
                                             Reduce4(macc[r], macc[r], macc[r], macc[r])));
  }
}

// Prefill tile: R rows × TT tokens (TT = 4, or 1 for the last T % 4). mins[r*nb + b] are the rows'
// minimum terms; s_t holds the activation sums of each 4-token group as [nb][4], so a tile reads them
// contiguously (a [nb][T] transpose put them 2 KB apart at T = 512: L1 set conflicts, -30%).
template <class P, int R, int TT>
HWY_INLINE void TileZ(const QuantGemmArgs& a, int64_t r0, int64_t t0, const float* mins, const float* s_t) {
  const int64_t K = a.x.K, nb = K / 32;
  const uint8_t* w = static_cast<const uint8_t*>(a.w) + r0 * a.row_bytes;
  const auto* xq = reinterpret_cast<const uint8_t*>(a.x.qs) + t0 * K;
  const float* xd = a.x.d + t0 * nb;
  __m512 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    Pair p[R];
    for (int r = 0; r < R; ++r) p[r] = P::Unpack2(w + r * a.row_bytes, b);
    for (int t = 0; t < TT; ++t) {
      const __m512i x = _mm512_loadu_si512(xq + t * K + 32 * b);
      const __m512 dx = Spread2(xd + t * nb + b);
      for (int r = 0; r < R; ++r) {
        const __m512 dot = _mm512_cvtepi32_ps(Dpbusd(_mm512_setzero_si512(), p[r].q, x));
        acc[r][t] = _mm512_fmadd_ps(dot, _mm512_mul_ps(p[r].sc, dx), acc[r][t]);
      }
    }
  }
  if (b < nb) {
    Pair p[R];
    for (int r = 0; r < R; ++r) p[r] = P::Unpack1(w + r * a.row_bytes, b);
    for (int t = 0; t < TT; ++t) {
      const __m512i x = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + t * K + 32 * b)));
      const __m512 dx = _mm512_set1_ps(xd[t * nb + b]);
      for (int r = 0; r < R; ++r) {
        const __m512 dot = _mm512_cvtepi32_ps(Dpbusd(_mm512_setzero_si512(), p[r].q, x));
        acc[r][t] = _mm512_fmadd_ps(dot, _mm512_mul_ps(p[r].sc, dx), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    // Σ_b m[r,b]·s[t,b] for the TT tokens at once (lanes = tokens), then the dot sums added per token.
    // Each step repeats DecodeRows' arithmetic, so a token's output has the same bits at T = 1, in a 4-token
    // tile and in the T % 4 tail: even and odd blocks in separate FMA chains (decode's macc lanes 0 and 1),
    // combined as (even + odd) + 0 (its Reduce4 of [even, odd, 0, 0]) and added to the Reduce4 sum of the
    // dot lanes. One ulp matters here: the next layer quantises this output to int8, where a value on a
    // rounding boundary moves a whole step. Different orders (one chain; _mm512_reduce_add_ps in the tail)
    // left ~1e-6 differences between prompt splits that became 1.7e-2 in the logits of the tiny-model test.
    const float* mr = mins + r * nb;
    // Block k's activation sums: TT = 4, this tile's [nb][4] regrouped sums; TT = 1, the token's own in lane 0.
    const auto sums = [&](int64_t k) {
      return TT == 4 ? _mm_loadu_ps(s_t + t0 * nb + 4 * k) : _mm_set_ss(a.x.s[t0 * nb + k]);
    };
    __m128 even = _mm_setzero_ps(), odd = _mm_setzero_ps();
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
      even = _mm_fmadd_ps(_mm_set1_ps(mr[k]), sums(k), even);
      odd = _mm_fmadd_ps(_mm_set1_ps(mr[k + 1]), sums(k + 1), odd);
    }
    if (k < nb) even = _mm_fmadd_ps(_mm_set1_ps(mr[k]), sums(k), even);  // odd last block: decode's lane 0
    const __m128 mv = _mm_add_ps(_mm_add_ps(even, odd), _mm_setzero_ps());
    if constexpr (TT == 4) {
      const __m128 y = _mm_add_ps(Reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), mv);
      alignas(16) float out[4];
      _mm_store_ps(out, y);
      for (int t = 0; t < 4; ++t) a.y[(t0 + t) * a.ldy + r0 + r] = out[t];
    } else {
      static_assert(TT == 1, "the prefill tail is one token wide");
      a.y[t0 * a.ldy + r0 + r] = _mm_cvtss_f32(_mm_add_ps(Reduce4(acc[r][0], acc[r][0], acc[r][0], acc[r][0]), mv));
    }
  }
}

// Prefill for rows r0..r0+R-1 and tokens [p0, p1): gathers the rows' minimum terms, then walks the
// tokens in tiles of 4.
template <class P, int R>
HWY_INLINE void PrefillRows(const QuantGemmArgs& a, int64_t r0, int64_t p0, int64_t p1, float* mins,
                            const float* s_t) {
  const int64_t nb = a.x.K / 32;
  const uint8_t* w = static_cast<const uint8_t*>(a.w) + r0 * a.row_bytes;
  for (int r = 0; r < R; ++r)
    for (int64_t b = 0; b < nb; ++b) mins[r * nb + b] = P::Min(w + r * a.row_bytes, b);
  int64_t t0 = p0;
  for (; t0 + 4 <= p1; t0 += 4) TileZ<P, R, 4>(a, r0, t0, mins, s_t);
  for (; t0 < p1; ++t0) TileZ<P, R, 1>(a, r0, t0, mins, s_t);
}

constexpr int64_t kPanelBytes = 192 * 1024;

template <class P>
HWY_NOINLINE void GemmZ(const QuantGemmArgs& a) {
  int64_t r0 = 0;
  if (a.T == 1) {
    for (; r0 + kDecodeRows <= a.n_rows; r0 += kDecodeRows) DecodeRows<P, kDecodeRows>(a, r0);
    for (; r0 + 4 <= a.n_rows; r0 += 4) DecodeRows<P, 4>(a, r0);
    for (; r0 < a.n_rows; ++r0) DecodeRows<P, 1>(a, r0);
    return;
  }
  // Scratch: activation sums regrouped per 4 tokens, and 4 rows of minimum terms. Per thread, reused.
  const int64_t nb = a.x.K / 32;
  thread_local std::vector<float> scratch;
  const size_t need = static_cast<size_t>(nb * a.T + 4 * nb);
  if (scratch.size() < need) scratch.resize(need);
  float* s_t = scratch.data();
  float* mins = s_t + nb * a.T;
  for (int64_t t = 0; t < a.T / 4 * 4; ++t)
    for (int64_t b = 0; b < nb; ++b) s_t[(t / 4 * nb + b) * 4 + t % 4] = a.x.s[t * nb + b];
  // Token panels whose Q8 activations (panel·K bytes) stay in L2 while all rows pass over them; without
  // them K = 1536, T = 512 streams 768 KB of activations per 4 rows and loses a third of the speed.
  const int64_t panel = std::max<int64_t>(4, (kPanelBytes / a.x.K) & ~int64_t{3});
  for (int64_t p0 = 0; p0 < a.T; p0 += panel) {
    const int64_t p1 = std::min(a.T, p0 + panel);
    for (r0 = 0; r0 + 4 <= a.n_rows; r0 += 4) PrefillRows<P, 4>(a, r0, p0, p1, mins, s_t);
    for (; r0 < a.n_rows; ++r0) PrefillRows<P, 1>(a, r0, p0, p1, mins, s_t);
  }
}

#endif  // HWY_AVX3_DL

}  // namespace HWY_NAMESPACE
}  // namespace lm
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
