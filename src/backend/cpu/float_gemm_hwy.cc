// f16 / bf16 weights × f32 activations: weights are widened to f32 in registers (F16C vcvtph2ps, or a
// 16-bit shift for bf16) and fused-multiply-added in f32, so the result matches the f32 reference to
// rounding. Tiled R rows × TT tokens like the int8 kernels; one source for AVX2 and AVX-512.
// (AVX-512 BF16's vdpbf16ps would need bf16 activations, losing 16 mantissa bits of x; not used.)
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/float_gemm_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "backend/cpu/gemm.h"
#include "core/check.h"
#include "core/half.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lm {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// W element type tag → f32 vector loader.
template <class T>
struct Widen {
  template <class DF>
  static HWY_INLINE hn::Vec<DF> Load(DF df, const uint16_t* p) {
    const hn::Rebind<T, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const T*>(p)));
  }
  static float Scalar(uint16_t h) {
    if constexpr (std::is_same_v<T, hwy::float16_t>) return F16ToF32(h);
    return Bf16ToF32(h);
  }
};

constexpr int kTileRows = HWY_TARGET == HWY_AVX3_DL ? 4 : 2;
constexpr int kTileTokens = 4;

// Decode (T = 1) reads each weight once, from DRAM for any real model: prefetching this many rows ahead keeps
// more misses in flight than the hardware streams do (f16 LM head, 49152 x 576, 2 threads: 10.4 GB/s without).
constexpr int64_t kPrefetchRows = 16;

template <class T, int R, int TT, bool kPrefetch = false>
HWY_INLINE void Tile(const FloatGemmArgs& a, int64_t r0, int64_t t0) {
  const hn::ScalableTag<float> df;
  const int64_t K = a.K, N = static_cast<int64_t>(hn::Lanes(df));
  const uint16_t* w = static_cast<const uint16_t*>(a.w) + r0 * K;
  hn::Vec<decltype(df)> acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = hn::Zero(df);
  int64_t k = 0;
  for (; k + N <= K; k += N) {
    if constexpr (kPrefetch) {
      // One cache line per row covers 32 f16 weights: prefetch when k reaches a new line.
      if ((k & 31) == 0 && r0 + kPrefetchRows + R <= a.n_rows)
        for (int r = 0; r < R; ++r) hwy::Prefetch(w + (kPrefetchRows + r) * K + k);
    }
    hn::Vec<decltype(df)> wv[R];
    for (int r = 0; r < R; ++r) wv[r] = Widen<T>::Load(df, w + r * K + k);
    for (int t = 0; t < TT; ++t) {
      const auto xv = hn::LoadU(df, a.x + (t0 + t) * K + k);
      for (int r = 0; r < R; ++r) acc[r][t] = hn::MulAdd(wv[r], xv, acc[r][t]);
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int r = 0; r < R; ++r) {
      float s = hn::GetLane(hn::SumOfLanes(df, acc[r][t]));
      for (int64_t kk = k; kk < K; ++kk) s += Widen<T>::Scalar(w[r * K + kk]) * a.x[(t0 + t) * K + kk];
      a.y[(t0 + t) * a.ldy + r0 + r] = s;
    }
}

template <class T, int R>
HWY_INLINE void RowTile(const FloatGemmArgs& a, int64_t r0) {
  int64_t t0 = 0;
  for (; t0 + kTileTokens <= a.T; t0 += kTileTokens) Tile<T, R, kTileTokens>(a, r0, t0);
  for (; t0 < a.T; ++t0) Tile<T, R, 1>(a, r0, t0);
}

template <class T>
HWY_NOINLINE void GemmType(const FloatGemmArgs& a) {
  int64_t r0 = 0;
  if (a.T == 1) {
    for (; r0 + 4 <= a.n_rows; r0 += 4) Tile<T, 4, 1, true>(a, r0, 0);
  } else {
    for (; r0 + kTileRows <= a.n_rows; r0 += kTileRows) RowTile<T, kTileRows>(a, r0);
  }
  for (; r0 < a.n_rows; ++r0) RowTile<T, 1>(a, r0);
}

void FloatGemmImpl(const FloatGemmArgs& a) {
  if (a.w_type == DType::kF16) return GemmType<hwy::float16_t>(a);
  LM_CHECK(a.w_type == DType::kBF16, "FloatGemm: unsupported weight type ", Name(a.w_type));
  GemmType<hwy::bfloat16_t>(a);
}

}  // namespace HWY_NAMESPACE
}  // namespace lm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm {
HWY_EXPORT(FloatGemmImpl);
void FloatGemm(const FloatGemmArgs& a) { HWY_DYNAMIC_DISPATCH(FloatGemmImpl)(a); }
}  // namespace lm
#endif
