// RowDotsF16 / RowDotsQ8 (Highway, AVX2 / AVX-512): each key is loaded and widened once and dotted with
// every row while it is in registers (f16) or in L1 (q8_0, widened per block of keys); a scalar loop covers
// head sizes that are not a multiple of the vector length.
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "memory/reattention/row_dots_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>

#include "core/half.h"
#include "core/quant.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "memory/reattention/row_dots.h"
#include "ops/kv_load-inl.h"
#include "ops/sum4-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lm::reattention {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

HWY_INLINE hn::Vec<DF> LoadKey(const float* p) { return hn::LoadU(DF(), p); }
HWY_INLINE hn::Vec<DF> LoadKey(const hwy::float16_t* p) {
  return hn::PromoteTo(DF(), hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), p));
}
HWY_INLINE float KeyValue(const float* p) { return *p; }
HWY_INLINE float KeyValue(const hwy::float16_t* p) { return F16ToF32(*reinterpret_cast<const uint16_t*>(p)); }

// out[r * out_stride + j] = q_r . keys_j for keys of element type T (f32 or f16), row stride `stride`.
template <class T>
void RowDots(const float* q, int64_t n_rows, const T* keys, int64_t stride, int64_t n, int64_t D, float* out,
             int64_t out_stride) {
  const DF df;
  const auto N = static_cast<int64_t>(hn::Lanes(df));
  HWY_ALIGN float tmp[4];
  if (D % N != 0) {  // no SIMD shape: one key at a time
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < n_rows; ++r) {
        float s = 0.0f;
        for (int64_t d = 0; d < D; ++d) s += q[r * D + d] * KeyValue(keys + j * stride + d);
        out[r * out_stride + j] = s;
      }
    return;
  }
  int64_t j = 0;
  if (N >= 4) {  // four keys at a time, their dot products reduced together (see sum4)
    for (; j + 4 <= n; j += 4) {
      const T* kj = keys + j * stride;
      for (int64_t r = 0; r < n_rows; ++r) {
        const float* qr = q + r * D;
        auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
        for (int64_t d = 0; d < D; d += N) {
          const auto qd = hn::LoadU(df, qr + d);
          a0 = hn::MulAdd(qd, LoadKey(kj + d), a0);
          a1 = hn::MulAdd(qd, LoadKey(kj + stride + d), a1);
          a2 = hn::MulAdd(qd, LoadKey(kj + 2 * stride + d), a2);
          a3 = hn::MulAdd(qd, LoadKey(kj + 3 * stride + d), a3);
        }
        lm::ops::HWY_NAMESPACE::sum4::Sum4(df, a0, a1, a2, a3, tmp);
        for (int u = 0; u < 4; ++u) out[r * out_stride + j + u] = tmp[u];
      }
    }
  }
  for (; j < n; ++j) {
    const T* kj = keys + j * stride;
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* qr = q + r * D;
      auto acc = hn::Zero(df);
      for (int64_t d = 0; d < D; d += N) acc = hn::MulAdd(hn::LoadU(df, qr + d), LoadKey(kj + d), acc);
      out[r * out_stride + j] = hn::GetLane(hn::SumOfLanes(df, acc));
    }
  }
}

void RowDotsF16Impl(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                    float* out) {
  RowDots(q, n_rows, reinterpret_cast<const hwy::float16_t*>(keys), stride, n, D, out, n);
}

// A block of keys widened once into the L1 scratch serves every row: widening per row (as the f16 path
// converts per load) would repeat the int8 -> f32 conversions and scale products G times.
void RowDotsQ8Impl(const float* q, int64_t n_rows, const void* keys, int64_t n, int64_t D, float* scratch,
                   float* out) {
  const int64_t blocks = D / 32;
  const auto* b = static_cast<const BlockQ8_0*>(keys);
  for (int64_t j0 = 0; j0 < n; j0 += kRowDotsQ8Keys) {
    const int64_t nb = std::min(kRowDotsQ8Keys, n - j0);
    float* w = scratch;
    for (int64_t e = 0; e < nb * blocks; ++e, ++b, w += 32) {
      hwy::Prefetch(b + 4 * kRowDotsQ8Keys * blocks);
      lm::ops::HWY_NAMESPACE::kv_load::WidenQ8Block(*b, w);
    }
    RowDots(q, n_rows, static_cast<const float*>(scratch), D, nb, D, out + j0, n);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace lm::reattention
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::reattention {
HWY_EXPORT(RowDotsF16Impl);
HWY_EXPORT(RowDotsQ8Impl);
void RowDotsF16(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                float* out) {
  HWY_DYNAMIC_DISPATCH(RowDotsF16Impl)(q, n_rows, keys, stride, n, D, out);
}
void RowDotsQ8(const float* q, int64_t n_rows, const void* keys, int64_t n, int64_t D, float* scratch, float* out) {
  HWY_DYNAMIC_DISPATCH(RowDotsQ8Impl)(q, n_rows, keys, n, D, scratch, out);
}
}  // namespace lm::reattention
#endif
