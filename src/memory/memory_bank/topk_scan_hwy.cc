// TopKScan: R query rows × 2 vectors of packed keys scored in registers over the whole head dimension, then
// compared with each row's running threshold. On AVX-512 a step is 12 rows × 32 keys (24 accumulators),
// on AVX2 6 rows × 16 keys (12 accumulators): 2 key loads and R broadcasts feed 2R FMAs per component, and
// the compare costs 2R instructions per step against 2R·D FMAs, so the kernel is FMA-bound.
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "memory/memory_bank/topk_scan_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <bit>
#include <limits>
#include <memory>

#include "hwy/highway.h"
#include "memory/memory_bank/exact_search.h"
#include "memory/memory_bank/topk_scan.h"

HWY_BEFORE_NAMESPACE();
namespace lm::membank {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int kRows = HWY_TARGET == HWY_AVX3_DL ? 12 : HWY_TARGET == HWY_AVX2 ? 6 : 4;
constexpr int64_t kPanel = PackedKeys::kPanel;

// Mask → bits, lane l at bit l (at most 16 lanes of f32).
template <class D, class M>
HWY_INLINE uint64_t MaskBits(D d, M m) {
  uint8_t b[8] = {};
  hn::StoreMaskBits(d, m, b);
  return static_cast<uint64_t>(b[0]) | static_cast<uint64_t>(b[1]) << 8;
}

// acc[r][h] = the scores of row r (queries transposed, qt [D][R]) against the N keys at ph (h = 0, 1).
template <int R, class V>
HWY_INLINE void Accumulate(const float* qt, int64_t D, const float* p0, const float* p1, V (&acc)[R][2]) {
  const hn::ScalableTag<float> df;
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = hn::Zero(df);
  for (int64_t d = 0; d < D; ++d) {
    const V k0 = hn::Load(df, p0 + d * kPanel), k1 = hn::Load(df, p1 + d * kPanel);
    for (int r = 0; r < R; ++r) {
      const V qb = hn::Set(df, qt[d * R + r]);
      acc[r][0] = hn::MulAdd(qb, k0, acc[r][0]);
      acc[r][1] = hn::MulAdd(qb, k1, acc[r][1]);
    }
  }
}

// Every score of up to R rows over keys [j0, j1), stored (the IVF probe, which needs them all).
template <int R>
HWY_INLINE void StoreRows(const float* qt, int64_t nr, int64_t D, const float* packed, int64_t j0, int64_t j1,
                          float* out, int64_t ldo) {
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  constexpr int64_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);
  HWY_ALIGN float buf[2 * kMaxLanes];
  for (int64_t j = j0; j < j1; j += 2 * N) {
    const float* p0 = packed + (j / kPanel) * kPanel * D + j % kPanel;
    const float* p1 = packed + ((j + N) / kPanel) * kPanel * D + (j + N) % kPanel;
    V acc[R][2];
    Accumulate<R>(qt, D, p0, p1, acc);
    const int64_t n_valid = std::min<int64_t>(2 * N, j1 - j);
    // r runs to the compile-time R (rows >= nr skipped inside), so acc is indexed by constants and stays in
    // registers; a loop to nr spilled every accumulator to the stack inside the FMA loop (2x slower).
    for (int r = 0; r < R; ++r) {
      if (r >= nr) continue;
      float* dst = out + r * ldo + (j - j0);
      if (n_valid == 2 * N) {
        hn::StoreU(acc[r][0], df, dst);
        hn::StoreU(acc[r][1], df, dst + N);
      } else {
        hn::Store(acc[r][0], df, buf);
        hn::Store(acc[r][1], df, buf + N);
        std::copy_n(buf, n_valid, dst);
      }
    }
  }
}

// One block of up to R rows over keys [j0, j1) in steps of 2N. qt is the block's queries transposed,
// [D][R] (rows >= nr are zero padding whose scores are never looked at), so the R broadcasts of a component
// come from one base pointer instead of R row pointers that would not fit in the general registers.
template <int R>
HWY_INLINE void ScanRows(const float* qt, int64_t nr, int64_t D, const float* packed, int64_t j0, int64_t j1,
                         RowTopK* tops) {
  const hn::ScalableTag<float> df;
  using V = hn::Vec<decltype(df)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  constexpr float kNever = std::numeric_limits<float>::infinity();  // no score is > +inf, NaN included
  float thr[R];
  bool all_full = true;
  for (int r = 0; r < R; ++r) {
    thr[r] = r < nr ? tops[r].threshold() : kNever;
    all_full = all_full && (r >= nr || tops[r].full());
  }
  constexpr int64_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);
  HWY_ALIGN float buf[R * 2 * kMaxLanes];
  for (int64_t j = j0; j < j1; j += 2 * N) {
    // Keys j .. j+N-1 and j+N .. j+2N-1: one panel (AVX-512), the two halves of one panel (AVX2), or parts
    // of one (narrower vectors). Either way each vector is one contiguous, aligned run per component.
    const float* p0 = packed + (j / kPanel) * kPanel * D + j % kPanel;
    const float* p1 = packed + ((j + N) / kPanel) * kPanel * D + (j + N) % kPanel;
    V acc[R][2];
    Accumulate<R>(qt, D, p0, p1, acc);
    // Lanes above each row's threshold, as bits (lane l of the step = key j + l). Computed for every row with
    // compile-time indices, so the accumulators stay in registers through the FMA loop.
    uint64_t bits[R];
    uint64_t any = 0;
    for (int r = 0; r < R; ++r) {
      const V t = hn::Set(df, thr[r]);
      bits[r] = MaskBits(df, hn::Gt(acc[r][0], t)) | MaskBits(df, hn::Gt(acc[r][1], t)) << N;
      any |= bits[r];
    }
    if (all_full && any == 0) continue;
    // Rare path: some row has a score above its threshold (or still has fewer than k candidates).
    for (int r = 0; r < R; ++r) {
      hn::Store(acc[r][0], df, buf + r * 2 * kMaxLanes);
      hn::Store(acc[r][1], df, buf + r * 2 * kMaxLanes + N);
    }
    const int64_t n_valid = std::min<int64_t>(2 * N, j1 - j);  // the last step may cover padding keys
    const uint64_t valid = n_valid == 64 ? ~uint64_t{0} : (uint64_t{1} << n_valid) - 1;
    all_full = true;
    for (int64_t r = 0; r < nr; ++r) {
      const float* sc = buf + r * 2 * kMaxLanes;
      if (!tops[r].full()) {
        for (int64_t l = 0; l < n_valid; ++l) tops[r].Consider(sc[l], j + l);  // also takes NaN while filling
      } else {
        // Ascending lanes, so keys still arrive in increasing index order.
        for (uint64_t m = bits[r] & valid; m != 0; m &= m - 1) {
          const int l = std::countr_zero(m);
          tops[r].Consider(sc[l], j + l);
        }
      }
      thr[r] = tops[r].threshold();
      all_full = all_full && tops[r].full();
    }
  }
}

// Transposes rows [r0, r0 + nr) of the [n_rows, D] queries into qt [D][R], zero-padding rows nr..R-1.
template <int R>
HWY_INLINE void Transpose(const float* q, int64_t nr, int64_t D, float* qt) {
  for (int64_t d = 0; d < D; ++d)
    for (int64_t r = 0; r < R; ++r) qt[d * R + r] = r < nr ? q[r * D + d] : 0.0f;
}

void TopKScanImpl(const TopKScanArgs& a) {
  const int64_t D = a.head_dim;
  constexpr int64_t kStackDims = 256;
  HWY_ALIGN float stack_qt[kRows * kStackDims];
  std::unique_ptr<float[]> heap_qt;
  if (D > kStackDims) heap_qt.reset(new float[static_cast<size_t>(kRows * D)]);
  float* qt = heap_qt ? heap_qt.get() : stack_qt;
  for (int64_t r0 = 0; r0 < a.n_rows;) {
    const int64_t nr = std::min<int64_t>(a.n_rows - r0, kRows);
    // Decode has 1–4 rows per kv head: a narrower block wastes less than padding to kRows.
    if (nr <= 4 && kRows > 4) {
      Transpose<4>(a.queries + r0 * D, nr, D, qt);
      ScanRows<4>(qt, nr, D, a.packed, a.j0, a.j1, a.tops + r0);
    } else {
      Transpose<kRows>(a.queries + r0 * D, nr, D, qt);
      ScanRows<kRows>(qt, nr, D, a.packed, a.j0, a.j1, a.tops + r0);
    }
    r0 += nr;
  }
}

void ScoreAllImpl(const ScoreAllArgs& a) {
  const int64_t D = a.head_dim;
  std::unique_ptr<float[]> qt(new float[static_cast<size_t>(kRows * D)]);
  for (int64_t r0 = 0; r0 < a.n_rows; r0 += kRows) {
    const int64_t nr = std::min<int64_t>(a.n_rows - r0, kRows);
    Transpose<kRows>(a.queries + r0 * D, nr, D, qt.get());
    StoreRows<kRows>(qt.get(), nr, D, a.packed, a.j0, a.j1, a.out + r0 * a.ldo, a.ldo);
  }
}

const char* TargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace lm::membank
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::membank {
HWY_EXPORT(TopKScanImpl);
HWY_EXPORT(TargetNameImpl);
HWY_EXPORT(ScoreAllImpl);
void ScoreAll(const ScoreAllArgs& a) { HWY_DYNAMIC_DISPATCH(ScoreAllImpl)(a); }
void TopKScan(const TopKScanArgs& a) { HWY_DYNAMIC_DISPATCH(TopKScanImpl)(a); }
const char* TopKScanTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameImpl)(); }
}  // namespace lm::membank
#endif
