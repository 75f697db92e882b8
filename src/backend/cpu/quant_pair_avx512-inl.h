// AVX-512 (AVX3_DL) unpacking of two consecutive 32-element weight blocks into one 512-bit register, for
// the zmm kernels in quant_gemm_avx512-inl.h. Included once per target after quant_unpack-inl.h; defines
// nothing except on AVX3_DL.
//
// Every format handled here becomes unsigned bytes plus a per-block minimum term:
//   Σ_i w_i·x_i = d_w·d_x·Σ_i q_i·xq_i + m·s_x     (s_x = d_x·Σ xq, from the Q8 activations)
// so one vpdpbusd (u8 × s8) serves all of them. Signed q8_0 is moved to unsigned by q+128 (xor 0x80),
// which makes it m = -128·d_w: no per-token sign fix-ups (AVX-512 has no vpsignb) and the correction is
// shared by all tokens. q6_K (per-16 scales) stays on the 256-bit path.
#if defined(LM_BACKEND_CPU_QUANT_PAIR_AVX512_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LM_BACKEND_CPU_QUANT_PAIR_AVX512_INL_H_
#undef LM_BACKEND_CPU_QUANT_PAIR_AVX512_INL_H_
#else
#define LM_BACKEND_CPU_QUANT_PAIR_AVX512_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lm {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL

// Blocks b and b+1: q = 64 unsigned bytes laid out like the 64 activation bytes they meet; sc = weight
// scale per int32 lane of the dot (lanes 0-7 block b, 8-15 block b+1); m lanes 0,1 = minimum terms.
// For the last, odd block (Unpack1) the upper half of q and sc and m lane 1 are zero.
struct Pair {
  __m512i q;
  __m512 sc;
  __m128 m;
};

// acc + Σ of 4 adjacent u8·s8 products per int32 lane. Inline asm: Highway's AVX3_DL target string
// names avxvnni but not avx512vnni, so the intrinsic is unavailable; the zmm form is always EVEX.
HWY_INLINE __m512i Dpbusd(__m512i acc, __m512i w, __m512i x) {
  asm("vpdpbusd %[x], %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w), [x] "v"(x));
  return acc;
}

// [v0 ×8, v2 ×8]: per-block scalars in lanes 0 and 2 spread over each block's 8 dot lanes.
HWY_INLINE __m512 Spread02(__m128 v) {
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2),
                               _mm512_castps128_ps512(v));
}
// [p[0] ×8, p[1] ×8] for two consecutive floats (activation scales of blocks b, b+1).
HWY_INLINE __m512 Spread2(const float* p) {
  // _mm_loadl_epi64 is the unaligned 8-byte load; _mm_load_sd through a double* would be UB at 4-byte alignment.
  const __m128 v = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                               _mm512_castps128_ps512(v));
}

// The 4 bytes at a and at c as f16 pairs → [a0, a1, c0, c1] f32 (d and m of two blocks in one cvtph).
HWY_INLINE __m128 HalfPairs(const uint8_t* a, const uint8_t* c) {
  int32_t ua, uc;
  std::memcpy(&ua, a, 4);
  std::memcpy(&uc, c, 4);
  return _mm_cvtph_ps(_mm_insert_epi32(_mm_cvtsi32_si128(ua), uc, 1));
}

// 16 nibble-pair bytes of each block → [lo(a) hi(a) lo(c) hi(c)], 16 bytes each (GGML order).
HWY_INLINE __m512i NibblePairs(const uint8_t* qa, const uint8_t* qc) {
  const __m256i y = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qa))),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(qc)), 1);
  const __m512i z = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(y));
  // Shift 128-bit chunks 1 and 3 (16-bit lanes 8-15, 24-31) right by 4, then keep the low nibbles.
  return _mm512_and_si512(_mm512_mask_srli_epi16(z, 0xFF00FF00u, z, 4), _mm512_set1_epi8(0x0F));
}

// The odd last block: the 256-bit unpack of the generic format, upper half zero.
template <class F>
HWY_INLINE Pair PairFromSingle(const uint8_t* row, int64_t b) {
  V8 q;
  VF sc;
  float m;
  F::Unpack(row, b, q, sc, m);
  return {_mm512_zextsi256_si512(q.raw), _mm512_zextps256_ps512(sc.raw), _mm_set_ss(m)};
}

// Any unsigned-with-minimum format, from its 256-bit unpack (q4_0 fallback shape; q5_x, q4_K, q5_K).
template <class F>
struct PairGeneric {
  static constexpr int64_t kBlockBytes = F::kBlockBytes;
  static HWY_INLINE Pair Unpack2(const uint8_t* row, int64_t b) {
    V8 qa, qc;
    VF sa, sc;
    float ma, mc;
    F::Unpack(row, b, qa, sa, ma);
    F::Unpack(row, b + 1, qc, sc, mc);
    return {_mm512_inserti64x4(_mm512_castsi256_si512(qa.raw), qc.raw, 1),
            _mm512_insertf32x8(_mm512_castps256_ps512(sa.raw), sc.raw, 1), _mm_setr_ps(ma, mc, 0.0f, 0.0f)};
  }
  static HWY_INLINE Pair Unpack1(const uint8_t* row, int64_t b) { return PairFromSingle<F>(row, b); }
  static HWY_INLINE float Min(const uint8_t* row, int64_t b) {
    V8 q;
    VF sc;
    float m;
    F::Unpack(row, b, q, sc, m);
    return m;
  }
};

struct PairQ4_1 : PairGeneric<FmtQ4_1> {
  static HWY_INLINE Pair Unpack2(const uint8_t* row, int64_t b) {
    const uint8_t* a = row + sizeof(BlockQ4_1) * b;
    const uint8_t* c = a + sizeof(BlockQ4_1);
    const __m128 dm = HalfPairs(a, c);  // [dA, mA, dC, mC]
    return {NibblePairs(a + 4, c + 4), Spread02(dm), _mm_shuffle_ps(dm, dm, _MM_SHUFFLE(3, 1, 3, 1))};
  }
  static HWY_INLINE float Min(const uint8_t* row, int64_t b) {
    return Half(reinterpret_cast<const BlockQ4_1*>(row)[b].m);
  }
};

struct PairQ4_0 : PairGeneric<FmtQ4_0> {
  static HWY_INLINE Pair Unpack2(const uint8_t* row, int64_t b) {
    const uint8_t* a = row + sizeof(BlockQ4_0) * b;
    const uint8_t* c = a + sizeof(BlockQ4_0);
    const __m128 d = HalfPairs(a, c);  // [dA, junk, dC, junk]: lanes 1 and 3 are quant bytes, never used
    return {NibblePairs(a + 2, c + 2), Spread02(d),
            _mm_mul_ps(_mm_shuffle_ps(d, d, _MM_SHUFFLE(2, 0, 2, 0)), _mm_set1_ps(-8.0f))};
  }
};

struct PairQ8_0 {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  static HWY_INLINE Pair Unpack2(const uint8_t* row, int64_t b) {
    const uint8_t* a = row + sizeof(BlockQ8_0) * b;
    const uint8_t* c = a + sizeof(BlockQ8_0);
    const __m512i q = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 2))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 2)), 1);
    const __m128 d = HalfPairs(a, c);  // [dA, junk, dC, junk]
    return {_mm512_xor_si512(q, _mm512_set1_epi8(static_cast<char>(0x80))), Spread02(d),
            _mm_mul_ps(_mm_shuffle_ps(d, d, _MM_SHUFFLE(2, 0, 2, 0)), _mm_set1_ps(-128.0f))};
  }
  static HWY_INLINE Pair Unpack1(const uint8_t* row, int64_t b) {
    const auto* blk = reinterpret_cast<const BlockQ8_0*>(row) + b;
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs));
    const float d = Half(blk->d);
    return {_mm512_zextsi256_si512(_mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)))),
            _mm512_zextps256_ps512(_mm256_set1_ps(d)), _mm_set_ss(-128.0f * d)};
  }
  static HWY_INLINE float Min(const uint8_t* row, int64_t b) {
    return -128.0f * Half(reinterpret_cast<const BlockQ8_0*>(row)[b].d);
  }
};

#endif  // HWY_AVX3_DL

}  // namespace HWY_NAMESPACE
}  // namespace lm
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
