// ExpShiftSum and MaskScaleMax: Highway's polynomial Exp over whole vectors, for AVX-512, AVX2 and the portable fallback.
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "train/ops/softmax_row_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "train/ops/softmax_row.h"

HWY_BEFORE_NAMESPACE();
namespace lm::train {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

double ExpShiftSumImpl(float* x, int64_t n, float shift) {
  const hn::ScalableTag<float> df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto s = hn::Set(df, shift), lo = hn::Set(df, -87.0f);
  double sum = 0;
  int64_t i = 0;
  // Lane-wise f32 sums of at most kFlush vectors, then one reduction into the double total.
  constexpr int64_t kFlush = 64;
  while (i + N <= n) {
    auto acc = hn::Zero(df);
    for (int64_t v = 0; v < kFlush && i + N <= n; ++v, i += N) {
      const auto a = hn::Sub(hn::LoadU(df, x + i), s);
      auto e = hn::IfThenZeroElse(hn::Lt(a, lo), hn::Exp(df, hn::Max(a, lo)));
      e = hn::IfThenElse(hn::IsNaN(a), a, e);  // a diverged run must still show NaN
      hn::StoreU(e, df, x + i);
      acc = hn::Add(acc, e);
    }
    sum += static_cast<double>(hn::GetLane(hn::SumOfLanes(df, acc)));
  }
  for (; i < n; ++i) {
    const float a = x[i] - shift;
    x[i] = a < -87.0f ? 0.0f : std::exp(a);
    sum += x[i];
  }
  return sum;
}

float MaskScaleMaxImpl(float* row, const int32_t* k_pos, int64_t n, int32_t q_pos, float scale) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const auto sc = hn::Set(df, scale), ninf = hn::Set(df, kNegInf);
  const auto qp = hn::Set(di, q_pos);
  auto mx = ninf;
  int64_t j = 0;
  for (; j + N <= n; j += N) {
    const auto hidden = hn::RebindMask(df, hn::Gt(hn::LoadU(di, k_pos + j), qp));  // Highway 1.0 has no int Le
    const auto x = hn::IfThenElse(hidden, ninf, hn::Mul(hn::LoadU(df, row + j), sc));
    hn::StoreU(x, df, row + j);
    mx = hn::Max(mx, x);
  }
  float m = hn::GetLane(hn::MaxOfLanes(df, mx));
  for (; j < n; ++j) {
    row[j] = k_pos[j] <= q_pos ? row[j] * scale : kNegInf;
    m = std::max(m, row[j]);
  }
  return m;
}

}  // namespace HWY_NAMESPACE
}  // namespace lm::train
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::train {
HWY_EXPORT(ExpShiftSumImpl);
HWY_EXPORT(MaskScaleMaxImpl);
double ExpShiftSum(float* x, int64_t n, float shift) { return HWY_DYNAMIC_DISPATCH(ExpShiftSumImpl)(x, n, shift); }
float MaskScaleMax(float* row, const int32_t* k_pos, int64_t n, int32_t q_pos, float scale) {
  return HWY_DYNAMIC_DISPATCH(MaskScaleMaxImpl)(row, k_pos, n, q_pos, scale);
}
}  // namespace lm::train
#endif
