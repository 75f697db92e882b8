// Int8 products of GGML-quantised weights with Q8 activations. On AVX3_DL (AVX-512 VNNI) every format but
// q6_K runs the zmm kernels of quant_gemm_avx512-inl.h (two blocks per register, 8-row decode streams,
// 4×4 prefill tiles over L2-sized token panels). AVX2 and q6_K use the 256-bit tiles here: R rows × TT
// tokens, each unpacked weight sub-block reused for TT tokens from registers. Dynamic dispatch picks the
// target at run time.
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/quant_gemm_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "backend/cpu/gemm.h"
#include "backend/cpu/quant_unpack-inl.h"
#include "backend/cpu/quant_pair_avx512-inl.h"
#include "backend/cpu/quant_gemm_avx512-inl.h"
#include "core/check.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lm {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3_DL

// AVX-512 has 32 vector registers: a 4×4 tile keeps 16 accumulators live; AVX2's 16 allow 2×4.
constexpr int kTileRows = HWY_TARGET == HWY_AVX3_DL ? 4 : 2;
constexpr int kTileTokens = 4;

// Decode reads each weight once, mostly from DRAM: prefetching the same block this many rows on keeps more
// misses in flight than the hardware streams do (AVX2, q8_0 LM head 49152 x 576, 1 thread: 3.4 GB/s
// without; see docs/RESULTS.md).
constexpr int64_t kDecodePrefetchRows = 16;

template <class F, int R, int TT>
HWY_INLINE void Tile(const QuantGemmArgs& a, int64_t r0, int64_t t0) {
  const DF df;
  const D8 d8;
  const int64_t K = a.x.K, nb = K / 32;
  const uint8_t* w = static_cast<const uint8_t*>(a.w) + r0 * a.row_bytes;
  VF acc[R][TT];
  float macc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) {
      acc[r][t] = hn::Zero(df);
      macc[r][t] = 0.0f;
    }
  for (int64_t b = 0; b < nb; ++b) {
    V8 q[R], sgn[R];
    VF sc[R];
    float m[R];
    for (int r = 0; r < R; ++r) {
      if constexpr (TT == 1) {
        const uint8_t* ahead = w + (kDecodePrefetchRows + r) * a.row_bytes + b * F::kBlockBytes;
        hwy::Prefetch(ahead);  // a hint: past the last row it is dropped, never a fault
      }
      F::Unpack(w + r * a.row_bytes, b, q[r], sc[r], m[r]);
      if constexpr (F::kSigned) {
        sgn[r] = q[r];
        q[r] = AbsI8(q[r]);
      }
    }
    for (int t = 0; t < TT; ++t) {
      const int64_t tb = (t0 + t) * nb + b;
      const V8 xq = hn::LoadU(d8, reinterpret_cast<const uint8_t*>(a.x.qs + (t0 + t) * K + 32 * b));
      const VF dx = hn::Set(df, a.x.d[tb]);
      for (int r = 0; r < R; ++r) {
        const V8 xs = F::kSigned ? SignI8(xq, sgn[r]) : xq;
        acc[r][t] = hn::MulAdd(hn::Mul(DotU8I8(q[r], xs), sc[r]), dx, acc[r][t]);
        if constexpr (F::kHasMin) macc[r][t] = FusedMulAdd(m[r], a.x.s[tb], macc[r][t]);
      }
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int r = 0; r < R; ++r)
      a.y[(t0 + t) * a.ldy + r0 + r] = hn::GetLane(hn::SumOfLanes(df, acc[r][t])) + macc[r][t];
}

template <class F, int R>
HWY_INLINE void RowTile(const QuantGemmArgs& a, int64_t r0) {
  int64_t t0 = 0;
  for (; t0 + kTileTokens <= a.T; t0 += kTileTokens) Tile<F, R, kTileTokens>(a, r0, t0);
  for (; t0 < a.T; ++t0) Tile<F, R, 1>(a, r0, t0);
}

template <class F>
HWY_NOINLINE void GemmFormat(const QuantGemmArgs& a) {
  // Decode (T = 1) takes 4 rows per pass on every target; a 4-row tile of one token fits AVX2 too.
  constexpr int kDecodeRows = 4;
  const int rows = a.T == 1 ? kDecodeRows : kTileRows;
  int64_t r0 = 0;
  if (rows == 4) {
    for (; r0 + 4 <= a.n_rows; r0 += 4) RowTile<F, 4>(a, r0);
  } else {
    for (; r0 + kTileRows <= a.n_rows; r0 += kTileRows) RowTile<F, kTileRows>(a, r0);
  }
  for (; r0 < a.n_rows; ++r0) RowTile<F, 1>(a, r0);
}

void QuantGemmImpl(const QuantGemmArgs& a) {
#if HWY_TARGET == HWY_AVX3_DL
  // zmm kernels (two blocks per register) for every format except q6_K, whose per-16 scales keep it on
  // the 256-bit tiles below.
  switch (a.w_type) {
    case DType::kQ8_0: return GemmZ<PairQ8_0>(a);
    case DType::kQ4_0: return GemmZ<PairQ4_0>(a);
    case DType::kQ4_1: return GemmZ<PairQ4_1>(a);
    case DType::kQ5_0: return GemmZ<PairGeneric<FmtQ5_0>>(a);
    case DType::kQ5_1: return GemmZ<PairGeneric<FmtQ5_1>>(a);
    case DType::kQ4_K: return GemmZ<PairGeneric<FmtQ4_K>>(a);
    case DType::kQ5_K: return GemmZ<PairGeneric<FmtQ5_K>>(a);
    default: break;
  }
#endif
  switch (a.w_type) {
    case DType::kQ8_0: return GemmFormat<FmtQ8_0>(a);
    case DType::kQ4_0: return GemmFormat<FmtQ4_0>(a);
    case DType::kQ4_1: return GemmFormat<FmtQ4_1>(a);
    case DType::kQ5_0: return GemmFormat<FmtQ5_0>(a);
    case DType::kQ5_1: return GemmFormat<FmtQ5_1>(a);
    case DType::kQ4_K: return GemmFormat<FmtQ4_K>(a);
    case DType::kQ5_K: return GemmFormat<FmtQ5_K>(a);
    case DType::kQ6_K: return GemmFormat<FmtQ6_K>(a);
    default: LM_CHECK(false, "QuantGemm: unsupported weight type ", Name(a.w_type));
  }
}

#else  // portable fallback: the reference (allocates, but only machines without AVX2 get here)

void QuantGemmImpl(const QuantGemmArgs& a) { QuantGemmReference(a); }

#endif

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace lm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm {
HWY_EXPORT(QuantGemmImpl);
HWY_EXPORT(TargetName);

bool QuantGemmSupports(DType t) {
  switch (t) {
    case DType::kQ8_0: case DType::kQ4_0: case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1:
    case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

void QuantGemm(const QuantGemmArgs& a) { HWY_DYNAMIC_DISPATCH(QuantGemmImpl)(a); }
const char* GemmTargetName() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }
}  // namespace lm
#endif
