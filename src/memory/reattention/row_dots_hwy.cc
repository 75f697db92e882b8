// RowDotsF16 (Highway, AVX2 / AVX-512): each key is loaded and widened once and dotted with every row while
// it is in registers; a scalar loop covers head sizes that are not a multiple of the vector length.
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "memory/reattention/row_dots_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "core/half.h"
#include "hwy/highway.h"
#include "memory/reattention/row_dots.h"
#include "ops/sum4-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lm::reattention {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void RowDotsImpl(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                 float* out) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const auto N = static_cast<int64_t>(hn::Lanes(df));
  const auto* k16 = reinterpret_cast<const hwy::float16_t*>(keys);
  HWY_ALIGN float tmp[4];
  if (D % N != 0) {  // no SIMD shape: widen one key at a time
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < n_rows; ++r) {
        float s = 0.0f;
        for (int64_t d = 0; d < D; ++d) s += q[r * D + d] * F16ToF32(keys[j * stride + d]);
        out[r * n + j] = s;
      }
    return;
  }
  int64_t j = 0;
  if (N >= 4) {  // four keys at a time, their dot products reduced together (see sum4)
    for (; j + 4 <= n; j += 4) {
      const hwy::float16_t* kj = k16 + j * stride;
      for (int64_t r = 0; r < n_rows; ++r) {
        const float* qr = q + r * D;
        auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
        for (int64_t d = 0; d < D; d += N) {
          const auto qd = hn::LoadU(df, qr + d);
          a0 = hn::MulAdd(qd, hn::PromoteTo(df, hn::LoadU(dh, kj + d)), a0);
          a1 = hn::MulAdd(qd, hn::PromoteTo(df, hn::LoadU(dh, kj + stride + d)), a1);
          a2 = hn::MulAdd(qd, hn::PromoteTo(df, hn::LoadU(dh, kj + 2 * stride + d)), a2);
          a3 = hn::MulAdd(qd, hn::PromoteTo(df, hn::LoadU(dh, kj + 3 * stride + d)), a3);
        }
        lm::ops::HWY_NAMESPACE::sum4::Sum4(df, a0, a1, a2, a3, tmp);
        for (int u = 0; u < 4; ++u) out[r * n + j + u] = tmp[u];
      }
    }
  }
  for (; j < n; ++j) {
    const hwy::float16_t* kj = k16 + j * stride;
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* qr = q + r * D;
      auto acc = hn::Zero(df);
      for (int64_t d = 0; d < D; d += N)
        acc = hn::MulAdd(hn::LoadU(df, qr + d), hn::PromoteTo(df, hn::LoadU(dh, kj + d)), acc);
      out[r * n + j] = hn::GetLane(hn::SumOfLanes(df, acc));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace lm::reattention
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::reattention {
HWY_EXPORT(RowDotsImpl);
void RowDotsF16(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                float* out) {
  HWY_DYNAMIC_DISPATCH(RowDotsImpl)(q, n_rows, keys, stride, n, D, out);
}
}  // namespace lm::reattention
#endif
