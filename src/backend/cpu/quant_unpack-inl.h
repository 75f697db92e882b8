// Per-target (Highway) unpacking of one 32-element sub-block of each GGML weight format into 32 int8
// lanes plus its scales, and the int8 dot product they feed. Included by quant_gemm_hwy.cc once per
// target; only the x86 targets (AVX2, AVX3_DL) define anything, the portable fallback uses the reference.
//
// Every format becomes  Σ_i w_i·x_i = Σ_lanes scale_lane · dot_lane(q, x_q) · d_x + m · s_x
// where dot_lane sums 4 adjacent byte products (maddubs+madd on AVX2, vpdpbusd on AVX-512 VNNI), so a
// per-16-element scale (q6_K) is just a scale vector whose lanes differ. Formats whose q is unsigned
// (q4_x, q5_x, K-quants with minimums) feed the u8 operand directly; an offset like q4_0's -8 moves
// into m (m = -8·d, using s_x = d_x·Σ x_q). Signed q (q8_0, q6_K) use the sign trick (|w|, sign(x, w)).
#if defined(LM_BACKEND_CPU_QUANT_UNPACK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LM_BACKEND_CPU_QUANT_UNPACK_INL_H_
#undef LM_BACKEND_CPU_QUANT_UNPACK_INL_H_
#else
#define LM_BACKEND_CPU_QUANT_UNPACK_INL_H_
#endif

#include <cstring>

#include "core/quant.h"
#include "hwy/highway.h"

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace lm {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3_DL
namespace hn = hwy::HWY_NAMESPACE;
using D8 = hn::Full256<uint8_t>;
using DF = hn::Full256<float>;
using V8 = hn::Vec256<uint8_t>;
using VF = hn::Vec256<float>;

HWY_INLINE float Half(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of nibble pairs → 32 values: low nibbles are elements 0..15, high nibbles 16..31.
HWY_INLINE V8 Nibbles(const uint8_t* qs) {
  const auto lo = hn::LoadU(hn::Full128<uint8_t>(), qs);
  return hn::And(hn::Combine(D8(), hn::ShiftRight<4>(lo), lo), hn::Set(D8(), 0x0F));
}

// 0x10 in lane j where bit j of the little-endian 32-bit qh is set (the 5th bit of q5_0/q5_1).
HWY_INLINE V8 FifthBits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const D8 d8;
  alignas(32) static constexpr uint8_t kByte[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  alignas(32) static constexpr uint8_t kBit[32] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
                                                   1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  // pshufb works within 128-bit halves; the 4 qh bytes repeat in both, so indices 2 and 3 work there too.
  const V8 spread = hn::TableLookupBytes(hn::BitCast(d8, hn::Set(hn::Full256<uint32_t>(), bits)), hn::Load(d8, kByte));
  return hn::IfThenElseZero(hn::TestBit(spread, hn::Load(d8, kBit)), hn::Set(d8, 0x10));
}

// 8 lanes, lane i = Σ_{j<4} w[4i+j]·x[4i+j]; w unsigned bytes, x signed bytes (|x| <= 127, |w| <= 128).
HWY_INLINE VF DotU8I8(V8 w, V8 x) {
#if HWY_TARGET == HWY_AVX3_DL
  // Highway 1.0.3 has no int8 dot op; the EVEX form is the one AVX-512 VNNI machines have (Zen 4 lacks
  // the VEX "AVX-VNNI" encoding the compiler's avxvnni target would emit), hence inline asm.
  __m256i acc = _mm256_setzero_si256();
  asm("%{evex%} vpdpbusd %[x], %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w.raw), [x] "v"(x.raw));
#else
  // maddubs sums byte pairs into i16 (≤ 2·128·127, no saturation), madd with ones sums pairs into i32.
  const __m256i acc = _mm256_madd_epi16(_mm256_maddubs_epi16(w.raw, x.raw), _mm256_set1_epi16(1));
#endif
  return hn::ConvertTo(DF(), hn::Vec256<int32_t>{acc});
}

// Signed weights: |w| as the unsigned operand and x with w's sign.
HWY_INLINE V8 AbsI8(V8 w) { return V8{_mm256_sign_epi8(w.raw, w.raw)}; }
HWY_INLINE V8 SignI8(V8 x, V8 w) { return V8{_mm256_sign_epi8(x.raw, w.raw)}; }

// a·b + c rounded once. Scalar a*b + c is contracted to an FMA only when the compiler optimises (GCC's
// default -ffp-contract=fast does nothing at -O0), so written plainly it rounds differently in Debug and
// Release; the intrinsic makes every build compute the same bits.
HWY_INLINE float FusedMulAdd(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

// q4_K / q5_K 6-bit scale and min of sub-block j (GGML's get_scale_min_k4).
HWY_INLINE void ScaleMin(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Each format: Unpack(row, b, q, scale, m) for sub-block b (32 elements) of a row.
struct FmtQ8_0 {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0) / 1;  // per 32 elements
  static constexpr bool kSigned = true, kHasMin = false;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ8_0*>(row) + b;
    q = hn::LoadU(D8(), reinterpret_cast<const uint8_t*>(blk->qs));
    sc = hn::Set(DF(), Half(blk->d));
    m = 0.0f;
  }
};
struct FmtQ4_0 {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0) / 1;  // per 32 elements
  static constexpr bool kSigned = false, kHasMin = true;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ4_0*>(row) + b;
    q = Nibbles(blk->qs);
    const float d = Half(blk->d);
    sc = hn::Set(DF(), d);
    m = -8.0f * d;
  }
};
struct FmtQ4_1 {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_1) / 1;  // per 32 elements
  static constexpr bool kSigned = false, kHasMin = true;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ4_1*>(row) + b;
    q = Nibbles(blk->qs);
    sc = hn::Set(DF(), Half(blk->d));
    m = Half(blk->m);
  }
};
struct FmtQ5_0 {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_0) / 1;  // per 32 elements
  static constexpr bool kSigned = false, kHasMin = true;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ5_0*>(row) + b;
    q = hn::Or(Nibbles(blk->qs), FifthBits(blk->qh));
    const float d = Half(blk->d);
    sc = hn::Set(DF(), d);
    m = -16.0f * d;
  }
};
struct FmtQ5_1 {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_1) / 1;  // per 32 elements
  static constexpr bool kSigned = false, kHasMin = true;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ5_1*>(row) + b;
    q = hn::Or(Nibbles(blk->qs), FifthBits(blk->qh));
    sc = hn::Set(DF(), Half(blk->d));
    m = Half(blk->m);
  }
};
// K-quants: 256-element super-blocks of 8 sub-blocks; sub-block j of super-block b/8 is j = b % 8.
// q4_K/q5_K: sub-blocks 2p and 2p+1 share the 32 bytes qs[32p..], low and high nibbles.
struct FmtQ4_K {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_K) / 8;  // per 32 elements
  static constexpr bool kSigned = false, kHasMin = true;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ4_K*>(row) + b / 8;
    const int j = static_cast<int>(b % 8);
    const V8 v = hn::LoadU(D8(), blk->qs + 32 * (j / 2));
    q = (j & 1) ? hn::ShiftRight<4>(v) : hn::And(v, hn::Set(D8(), 0x0F));
    int s, mn;
    ScaleMin(j, blk->scales, &s, &mn);
    sc = hn::Set(DF(), Half(blk->d) * static_cast<float>(s));
    m = -Half(blk->dmin) * static_cast<float>(mn);
  }
};
struct FmtQ5_K {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_K) / 8;  // per 32 elements
  static constexpr bool kSigned = false, kHasMin = true;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ5_K*>(row) + b / 8;
    const int j = static_cast<int>(b % 8);
    const D8 d8;
    const V8 v = hn::LoadU(d8, blk->qs + 32 * (j / 2));
    const V8 lo = (j & 1) ? hn::ShiftRight<4>(v) : hn::And(v, hn::Set(d8, 0x0F));
    const V8 hi = hn::IfThenElseZero(hn::TestBit(hn::LoadU(d8, blk->qh), hn::Set(d8, static_cast<uint8_t>(1u << j))),
                                     hn::Set(d8, 0x10));
    q = hn::Or(lo, hi);
    int s, mn;
    ScaleMin(j, blk->scales, &s, &mn);
    sc = hn::Set(DF(), Half(blk->d) * static_cast<float>(s));
    m = -Half(blk->dmin) * static_cast<float>(mn);
  }
};
// q6_K: halves n of 128; within one, sub-block k (0..3) takes low (k<2) or high nibbles of ql[64n + 32(k&1)..]
// and bits 2k..2k+1 of qh[32n..]; its two 16-element halves have scales sc[8n + 2k] and sc[8n + 2k + 1].
struct FmtQ6_K {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ6_K) / 8;  // per 32 elements
  static constexpr bool kSigned = true, kHasMin = false;
  static HWY_INLINE void Unpack(const uint8_t* row, int64_t b, V8& q, VF& sc, float& m) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(row) + b / 8;
    const int j = static_cast<int>(b % 8), n = j / 4, k = j % 4;
    const D8 d8;
    const V8 l = hn::LoadU(d8, blk->ql + 64 * n + 32 * (k & 1));
    const V8 lo = k < 2 ? hn::And(l, hn::Set(d8, 0x0F)) : hn::ShiftRight<4>(l);
    const V8 h = hn::LoadU(d8, blk->qh + 32 * n);
    V8 hb;
    switch (k) {
      case 0: hb = h; break;
      case 1: hb = hn::ShiftRight<2>(h); break;
      case 2: hb = hn::ShiftRight<4>(h); break;
      default: hb = hn::ShiftRight<6>(h); break;
    }
    const V8 u = hn::Or(lo, hn::ShiftLeft<4>(hn::And(hb, hn::Set(d8, 3))));
    q = hn::Sub(u, hn::Set(d8, 32));  // two's complement: the bytes now hold q - 32 in [-32, 31]
    const float d = Half(blk->d);
    const hn::Full128<float> d4;
    sc = hn::Combine(DF(), hn::Set(d4, d * blk->scales[8 * n + 2 * k + 1]), hn::Set(d4, d * blk->scales[8 * n + 2 * k]));
    m = 0.0f;
  }
};
#endif  // x86 targets

}  // namespace HWY_NAMESPACE
}  // namespace lm
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
