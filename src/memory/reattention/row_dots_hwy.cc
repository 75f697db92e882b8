// RowDotsF16 / RowDotsQ8 (Highway, AVX2 / AVX-512): each key is loaded and widened once and dotted with
// every row (q8_0: every row of a group of three) while it is in registers; for f16 a scalar loop covers head
// sizes that are not a multiple of the vector length (q8_0 heads are multiples of 32).
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
                    float* out, int64_t out_stride) {
  RowDots(q, n_rows, reinterpret_cast<const hwy::float16_t*>(keys), stride, n, D, out, out_stride > 0 ? out_stride : n);
}

// Rows [0, R) of q against keys [0, n): each key's int8 values are widened and scaled once, in registers,
// and multiplied into every row's accumulator (R rows x 4 keys of accumulators, 12 registers at R = 3), so
// nothing is written back and read again as a widened copy would be. Prefetches run kAhead keys ahead,
// past key n into `next` (the caller's next range): the keys right after a selected block are mostly
// unselected ones, not worth the bandwidth.
template <int R>
void Q8RowGroup(const float* q, const BlockQ8_0* keys, int64_t n, int64_t D, float* out, int64_t out_stride,
                const BlockQ8_0* next, int64_t n_next) {
  namespace kv = lm::ops::HWY_NAMESPACE::kv_load;
  const DF df;
  constexpr int64_t kAhead = 32;  // keys prefetched ahead (about 2 KiB at D = 64)
  const auto N = static_cast<int64_t>(hn::Lanes(df));
  const int64_t blocks = D / 32;
  const auto widen = [](const BlockQ8_0& b, int64_t i, hn::Vec<DF> scale) {
    return hn::Mul(kv::Q8Ints(b, static_cast<size_t>(i)), scale);
  };
  HWY_ALIGN float tmp[4];
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (int64_t u = 0; u < 4; ++u) {
      const int64_t i = j + u + kAhead;
      if (i < n)
        hwy::Prefetch(keys + i * blocks);
      else if (i - n < n_next)
        hwy::Prefetch(next + (i - n) * blocks);
    }
    hn::Vec<DF> acc[4][R];
    for (auto& key : acc)
      for (auto& a : key) a = hn::Zero(df);
    for (int64_t b = 0; b < blocks; ++b) {
      for (int64_t u = 0; u < 4; ++u) {
        const BlockQ8_0& blk = keys[(j + u) * blocks + b];
        const auto scale = kv::Q8Scale(blk);
        for (int64_t i = 0; i < 32; i += N) {
          const auto k = widen(blk, i, scale);
          for (int r = 0; r < R; ++r) acc[u][r] = hn::MulAdd(hn::LoadU(df, q + r * D + b * 32 + i), k, acc[u][r]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      lm::ops::HWY_NAMESPACE::sum4::Sum4(df, acc[0][r], acc[1][r], acc[2][r], acc[3][r], tmp);
      for (int64_t u = 0; u < 4; ++u) out[r * out_stride + j + u] = tmp[u];
    }
  }
  for (; j < n; ++j) {
    hn::Vec<DF> acc[R];
    for (auto& a : acc) a = hn::Zero(df);
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_0& blk = keys[j * blocks + b];
      const auto scale = kv::Q8Scale(blk);
      for (int64_t i = 0; i < 32; i += N) {
        const auto k = widen(blk, i, scale);
        for (int r = 0; r < R; ++r) acc[r] = hn::MulAdd(hn::LoadU(df, q + r * D + b * 32 + i), k, acc[r]);
      }
    }
    for (int r = 0; r < R; ++r) out[r * out_stride + j] = hn::GetLane(hn::SumOfLanes(df, acc[r]));
  }
}

// Rows in groups of at most three (12 accumulators and the widened key fit AVX2's 16 registers); a key is
// widened once per group, so G = 3 (the default model) widens it once.
void RowDotsQ8Impl(const float* q, int64_t n_rows, const void* keys, int64_t n, int64_t D, float* out,
                   const void* next, int64_t n_next) {
  const auto* b = static_cast<const BlockQ8_0*>(keys);
  const auto* nb = static_cast<const BlockQ8_0*>(next);
  for (int64_t r0 = 0; r0 < n_rows; r0 += 3) {
    const float* qr = q + r0 * D;
    float* o = out + r0 * n;
    switch (std::min<int64_t>(3, n_rows - r0)) {
      case 1: Q8RowGroup<1>(qr, b, n, D, o, n, nb, n_next); break;
      case 2: Q8RowGroup<2>(qr, b, n, D, o, n, nb, n_next); break;
      default: Q8RowGroup<3>(qr, b, n, D, o, n, nb, n_next); break;
    }
  }
}

int64_t FirstAboveImpl(const float* s, int64_t n, float floor) {
  const DF df;
  const auto N = static_cast<int64_t>(hn::Lanes(df));
  const auto f = hn::Set(df, floor);
  int64_t j = 0;
  for (; j + 2 * N <= n; j += 2 * N)  // two vectors per test; the scalar loop below finds the lane
    if (!hn::AllFalse(df, hn::Or(hn::Gt(hn::LoadU(df, s + j), f), hn::Gt(hn::LoadU(df, s + j + N), f)))) break;
  for (; j < n; ++j)
    if (s[j] > floor) return j;
  return n;
}

}  // namespace HWY_NAMESPACE
}  // namespace lm::reattention
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::reattention {
HWY_EXPORT(RowDotsF16Impl);
HWY_EXPORT(RowDotsQ8Impl);
HWY_EXPORT(FirstAboveImpl);
void RowDotsF16(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                float* out, int64_t out_stride) {
  HWY_DYNAMIC_DISPATCH(RowDotsF16Impl)(q, n_rows, keys, stride, n, D, out, out_stride);
}
void RowDotsQ8(const float* q, int64_t n_rows, const void* keys, int64_t n, int64_t D, float* out,
               const void* next, int64_t n_next) {
  HWY_DYNAMIC_DISPATCH(RowDotsQ8Impl)(q, n_rows, keys, n, D, out, next, n_next);
}
int64_t FirstAbove(const float* s, int64_t n, float floor) { return HWY_DYNAMIC_DISPATCH(FirstAboveImpl)(s, n, floor); }
}  // namespace lm::reattention
#endif
