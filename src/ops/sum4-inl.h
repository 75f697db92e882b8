// Per-target horizontal sums of four f32 vectors at once (Highway): the totals of a, b, c and e land in
// out[0..3]. Two rounds of interleave-and-add leave each 128-bit block holding four partial totals, and
// halving adds fold the blocks, about three shuffles per vector where four separate reductions would spend
// eight or more each. Scoring a query against a run of keys (attention decode, ReAttention's top-k sweep)
// otherwise spends most of its time in those reductions. Include inside a Highway target loop.
#if defined(LM_OPS_SUM4_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LM_OPS_SUM4_INL_H_
#undef LM_OPS_SUM4_INL_H_
#else
#define LM_OPS_SUM4_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lm::ops::HWY_NAMESPACE {
namespace sum4 {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR
// Stores the sum of v's 128-bit blocks (4 floats) at out.
template <class D>
HWY_INLINE void StoreBlockSum(D d, hn::Vec<D> v, float* out) {
  if constexpr (hn::MaxLanes(d) > 4) {
    const hn::Half<D> dh;
    StoreBlockSum(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)), out);
  } else {
    hn::StoreU(v, d, out);
  }
}
#endif

template <class D>
HWY_INLINE void Sum4(D d, hn::Vec<D> a, hn::Vec<D> b, hn::Vec<D> c, hn::Vec<D> e, float* out) {
#if HWY_TARGET == HWY_SCALAR
  out[0] = hn::GetLane(a);
  out[1] = hn::GetLane(b);
  out[2] = hn::GetLane(c);
  out[3] = hn::GetLane(e);
#else
  // Per block: [a0+a2, b0+b2, a1+a3, b1+b3] and the same for (c, e) ...
  const auto ab = hn::Add(hn::InterleaveLower(d, a, b), hn::InterleaveUpper(d, a, b));
  const auto ce = hn::Add(hn::InterleaveLower(d, c, e), hn::InterleaveUpper(d, c, e));
  // ... then pairs as 64-bit lanes: [a, b, c, e] partial totals per block.
  const hn::Repartition<uint64_t, D> du;
  const auto abu = hn::BitCast(du, ab), ceu = hn::BitCast(du, ce);
  const auto s = hn::Add(hn::BitCast(d, hn::InterleaveLower(du, abu, ceu)),
                         hn::BitCast(d, hn::InterleaveUpper(du, abu, ceu)));
  StoreBlockSum(d, s, out);
#endif
}

}  // namespace sum4
}  // namespace lm::ops::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LM_OPS_SUM4_INL_H_
