// Per-target loads of cached K/V for the attention kernels: kN consecutive elements of an f32, f16 or q8_0
// cache as one f32 vector. A cache position is a "K/V pointer": const float*, const hwy::float16_t*, or
// KvQ8Ptr (a q8_0 cache has no element pointer, so it is addressed by block base + element index); all three
// support `p + n` in elements, so kernels are written once for every type. Included by
// attention_{decode,prefill}_cpu.cc and reattention/row_dots_hwy.cc inside their Highway target loops.
#ifndef LM_OPS_KV_PTR_DEFINED_
#define LM_OPS_KV_PTR_DEFINED_
#include <cstdint>
#include <type_traits>

#include "core/quant.h"
#include "hwy/base.h"

namespace lm::ops {
struct KvQ8Ptr {
  const BlockQ8_0* base;
  int64_t e;  // element index from base
  KvQ8Ptr operator+(int64_t n) const { return {base, e + n}; }
};

// The K/V pointer type P at the start of a cache buffer.
template <class P>
P KvPtrAt(const void* p) {
  if constexpr (std::is_same_v<P, KvQ8Ptr>) {
    return KvQ8Ptr{static_cast<const BlockQ8_0*>(p), 0};
  } else {
    return static_cast<P>(p);
  }
}
}  // namespace lm::ops
#endif  // LM_OPS_KV_PTR_DEFINED_

#if defined(LM_OPS_KV_LOAD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LM_OPS_KV_LOAD_INL_H_
#undef LM_OPS_KV_LOAD_INL_H_
#else
#define LM_OPS_KV_LOAD_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace lm::ops::HWY_NAMESPACE {
namespace kv_load {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

HWY_INLINE hn::Vec<DF> LoadKv(const float* p) { return hn::LoadU(DF(), p); }
HWY_INLINE hn::Vec<DF> LoadKv(const hwy::float16_t* p) {
  return hn::PromoteTo(DF(), hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), p));
}
// A q8_0 block's scale in every lane, widened by the vector unit (F16C on x86): the scalar F16ToF32 cost more
// than the load itself.
HWY_INLINE hn::Vec<DF> Q8Scale(const BlockQ8_0& b) {
  const hn::Rebind<uint16_t, DF> d16;
  return hn::PromoteTo(DF(), hn::BitCast(hn::Rebind<hwy::float16_t, DF>(), hn::Set(d16, b.d)));
}
// Elements [i, i + kN) of a q8_0 block as f32, before the scale (i a multiple of kN).
HWY_INLINE hn::Vec<DF> Q8Ints(const BlockQ8_0& b, size_t i) {
  const hn::Rebind<int8_t, DF> d8;
  const hn::Rebind<int32_t, DF> d32;
  return hn::ConvertTo(DF(), hn::PromoteTo(d32, hn::LoadU(d8, b.qs + i)));
}

// kN <= 32 elements never straddle a block: callers load at offsets that are multiples of kN, and 32 % kN == 0.
HWY_INLINE hn::Vec<DF> LoadKv(KvQ8Ptr p) {
  static_assert(32 % hn::MaxLanes(DF()) == 0, "q8_0 loads must stay inside one block");
  const BlockQ8_0& b = p.base[p.e >> 5];
  return hn::Mul(Q8Ints(b, static_cast<size_t>(p.e & 31)), Q8Scale(b));
}

// The 32 f32 values of one q8_0 block at dst, its scale widened once (the decode kernel's widened K rows).
HWY_INLINE void WidenQ8Block(const BlockQ8_0& b, float* dst) {
  const DF df;
  const auto scale = Q8Scale(b);
  for (size_t i = 0; i < 32; i += hn::Lanes(df)) hn::StoreU(hn::Mul(Q8Ints(b, i), scale), df, dst + i);
}
}  // namespace kv_load
}  // namespace lm::ops::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LM_OPS_KV_LOAD_INL_H_
