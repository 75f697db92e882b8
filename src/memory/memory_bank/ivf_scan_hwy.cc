// IvfScan: int8 residual codes of one inverted list against a block of query rows. x86 targets use AVX2's
// maddubs (u8 code x s8 query, pairs summed in int16 without saturation, see kIvfQueryMax), two of those added
// in int16, and one madd with ones (to int32): 64 multiply-adds per three multiply-port instructions. Measured
// (bench/memory_bank_kernels_bench.cc, Zen 3, one core): ~60 G int8 multiply-adds/s with every key rejected in
// registers, 1.8x the f32 exact kernel's rate. The AVX-512 target runs the same 256-bit code (VNNI's vpdpbusd
// would need fewer ops; not written, since no host here has it to test on). Other targets run the reference.
#include "backend/cpu/hwy_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "memory/memory_bank/ivf_scan_hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "hwy/highway.h"
#include "memory/memory_bank/ivf_scan.h"

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace lm::membank {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3_DL
// R rows (R <= 4 accumulators, one code load and R broadcasts per 4 dimensions) over all of the list's keys.
template <int R>
HWY_INLINE void ScanBlock(const IvfScanArgs& a, int64_t r0) {
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t n_groups = (a.n_keys + kIvfGroup - 1) / kIvfGroup;
  const int64_t group_bytes = a.dim4 * kIvfGroup * 4;
  int64_t qr[R];
  const int32_t* q[R];
  for (int r = 0; r < R; ++r) {
    qr[r] = a.rows != nullptr ? a.rows[r0 + r] : r0 + r;
    q[r] = a.q4 + qr[r] * a.dim4;
  }
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* cg = a.codes + g * group_bytes;
    __m256i acc[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_si256();
    // Two runs of 4 dimensions per step: their int16 pair sums (each |.| <= 2 * 255 * kIvfQueryMax) add without
    // saturating, so one madd widens both: 3 multiply-port ops per 64 products instead of 4.
    int64_t j = 0;
    for (; j + 2 <= a.dim4; j += 2) {
      const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cg + j * 32));
      const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cg + j * 32 + 32));
      for (int r = 0; r < R; ++r) {
        const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(k0, _mm256_set1_epi32(q[r][j])),
                                           _mm256_maddubs_epi16(k1, _mm256_set1_epi32(q[r][j + 1])));
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(p, ones));
      }
    }
    for (; j < a.dim4; ++j) {
      const __m256i k = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cg + j * 32));
      for (int r = 0; r < R; ++r)
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_maddubs_epi16(k, _mm256_set1_epi32(q[r][j])), ones));
    }
    const int64_t key0 = g * kIvfGroup;
    const int n_valid = static_cast<int>(std::min<int64_t>(kIvfGroup, a.n_keys - key0));
    const int valid = (1 << n_valid) - 1;
    for (int r = 0; r < R; ++r) {
      const int64_t row = qr[r];
      const __m256 s = _mm256_fmadd_ps(_mm256_set1_ps(a.scale[row]),
                                       _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r], _mm256_set1_epi32(a.corr[row]))),
                                       _mm256_set1_ps(a.base[r0 + r]));
      CandList* c = a.cands + row;
      int m = valid & _mm256_movemask_ps(_mm256_cmp_ps(s, _mm256_set1_ps(c->threshold()), _CMP_GT_OQ));
      if (m == 0) continue;
      alignas(32) float buf[kIvfGroup];
      _mm256_store_ps(buf, s);
      for (; m != 0; m &= m - 1) {
        const int l = std::countr_zero(static_cast<unsigned>(m));
        c->Add(buf[l], static_cast<int32_t>(a.ids[key0 + l] - a.first_id));  // re-checks a threshold a shrink raised
      }
    }
  }
}

void IvfScanImpl(const IvfScanArgs& a) {
  int64_t r0 = 0;
  for (; r0 + 4 <= a.n_rows; r0 += 4) ScanBlock<4>(a, r0);
  for (; r0 < a.n_rows; ++r0) ScanBlock<1>(a, r0);
}
#else
void IvfScanImpl(const IvfScanArgs& a) { IvfScanReference(a); }
#endif

int64_t CountAtLeastImpl(const float* s, int64_t n, float t) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto vt = hn::Set(d, t);
  int64_t count = 0, i = 0;
  for (; i + N <= n; i += N) count += static_cast<int64_t>(hn::CountTrue(d, hn::Ge(hn::LoadU(d, s + i), vt)));
  for (; i < n; ++i) count += s[i] >= t;
  return count;
}

void GatherDotsImpl(const float* q, const float* keys, int64_t D, const int32_t* idx, int64_t n, float* out) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t i = 0; i < n; ++i) {
    const float* k = keys + static_cast<int64_t>(idx[i]) * D;
    auto acc = hn::Zero(d);
    int64_t j = 0;
    for (; j + N <= D; j += N) acc = hn::MulAdd(hn::LoadU(d, q + j), hn::LoadU(d, k + j), acc);
    float sum = hn::GetLane(hn::SumOfLanes(d, acc));
    for (; j < D; ++j) sum += q[j] * k[j];
    out[i] = sum;
  }
}

// Bisection for a threshold that at least p of s[0..n) reach: narrows [*lo, *hi) (count(s >= *lo) >= p holds
// throughout) until at most p + slack reach *lo or the interval cannot be split. Returns count(s >= *lo).
HWY_INLINE int64_t Bisect(const float* s, int64_t n, int64_t p, int64_t slack, float* lo, float* hi, int64_t count) {
  for (int it = 0; it < 40 && count > p + slack; ++it) {
    const float mid = *lo + (*hi - *lo) * 0.5f;
    if (!(mid > *lo && mid < *hi)) break;
    const int64_t m = CountAtLeastImpl(s, n, mid);
    if (m >= p) {
      *lo = mid;
      count = m;
    } else {
      *hi = mid;
    }
  }
  return count;
}

int64_t SelectTopImpl(const float* s, int64_t n, int64_t p, Cand* out) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto vmin = hn::Set(d, std::numeric_limits<float>::infinity()), vmax = hn::Neg(vmin);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, s + i);
    vmin = hn::Min(vmin, v);
    vmax = hn::Max(vmax, v);
  }
  float lo = hn::GetLane(hn::MinOfLanes(d, vmin)), hi = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) {
    lo = std::min(lo, s[i]);
    hi = std::max(hi, s[i]);
  }
  int64_t c = 0;
  if (!(lo <= hi)) {  // NaN scores: no order to bisect; the first p stand in
    for (; c < p; ++c) out[c] = {s[c], static_cast<int32_t>(c)};
    return c;
  }
  // Phase 1, over all n: down to at most p + 16 candidates (cheap counts of n / N vectors each).
  const float hi0 = hi;
  Bisect(s, n, p, 16, &lo, &hi, n);
  thread_local std::vector<float> kept;
  kept.resize(static_cast<size_t>(n));
  const auto vlo = hn::Set(d, lo);
  for (i = 0; i + N <= n; i += N) {
    uint8_t bits[8] = {};
    hn::StoreMaskBits(d, hn::Ge(hn::LoadU(d, s + i), vlo), bits);
    uint64_t m = 0;
    std::memcpy(&m, bits, sizeof bits);
    for (; m != 0; m &= m - 1) {
      const int64_t j = i + std::countr_zero(m);
      kept[static_cast<size_t>(c)] = s[j];
      out[c++] = {s[j], static_cast<int32_t>(j)};
    }
  }
  for (; i < n; ++i)
    if (s[i] >= lo) {
      kept[static_cast<size_t>(c)] = s[i];
      out[c++] = {s[i], static_cast<int32_t>(i)};
    }
  if (c == p) return c;
  // Phase 2, over the c collected scores only: down to exactly p where no ties stand in the way.
  float lo2 = lo, hi2 = hi0 > lo ? hi0 : lo;
  hi2 = std::nextafter(hi2, std::numeric_limits<float>::infinity());  // count(>= hi2) == 0 < p
  const int64_t c2 = Bisect(kept.data(), c, p, 0, &lo2, &hi2, c);
  if (c2 < c) {
    int64_t w = 0;
    for (int64_t j = 0; j < c; ++j)
      if (out[j].score >= lo2) out[w++] = out[j];
    c = w;
  }
  for (; c > p; --c) {  // ties at the cut: drop the extra ones, the higher index first
    int64_t worst = 0;
    for (int64_t j = 1; j < c; ++j)
      if (Better(out[worst], out[j])) worst = j;
    out[worst] = out[c - 1];
  }
  return c;
}

// The target the dispatch chose (on non-x86 targets IvfScan itself runs the reference loop).
const char* IvfTargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace lm::membank
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lm::membank {
HWY_EXPORT(IvfScanImpl);
HWY_EXPORT(IvfTargetNameImpl);
HWY_EXPORT(CountAtLeastImpl);
HWY_EXPORT(GatherDotsImpl);
HWY_EXPORT(SelectTopImpl);
int64_t SelectTop(const float* s, int64_t n, int64_t p, Cand* out) {
  return HWY_DYNAMIC_DISPATCH(SelectTopImpl)(s, n, p, out);
}
int64_t CountAtLeast(const float* s, int64_t n, float t) { return HWY_DYNAMIC_DISPATCH(CountAtLeastImpl)(s, n, t); }
void GatherDots(const float* q, const float* keys, int64_t D, const int32_t* idx, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(GatherDotsImpl)(q, keys, D, idx, n, out);
}
void IvfScan(const IvfScanArgs& a) { HWY_DYNAMIC_DISPATCH(IvfScanImpl)(a); }
const char* IvfScanTargetName() { return HWY_DYNAMIC_DISPATCH(IvfTargetNameImpl)(); }

void CandList::Init(int64_t keep) {
  keep_ = keep;
  const auto cap = static_cast<size_t>(std::max<int64_t>(128, 4 * keep));
  scores_.resize(cap);
  slots_.resize(cap);
  pick_.resize(cap);
  keep_mask_.resize(cap);
  n_ = 0;
  threshold_ = -std::numeric_limits<float>::infinity();
}

void CandList::Shrink() {
  if (n_ < keep_) return;
  const int64_t kept = SelectTop(scores_.data(), n_, keep_, pick_.data());
  // Mark the kept positions, then compact in position order (each entry is read before it can be overwritten).
  std::fill(keep_mask_.begin(), keep_mask_.begin() + n_, 0);
  for (int64_t i = 0; i < kept; ++i) keep_mask_[static_cast<size_t>(pick_[static_cast<size_t>(i)].idx)] = 1;
  float worst = std::numeric_limits<float>::infinity();
  int64_t w = 0;
  for (int64_t i = 0; i < n_; ++i) {
    if (!keep_mask_[static_cast<size_t>(i)]) continue;
    scores_[static_cast<size_t>(w)] = scores_[static_cast<size_t>(i)];
    slots_[static_cast<size_t>(w)] = slots_[static_cast<size_t>(i)];
    worst = std::min(worst, scores_[static_cast<size_t>(w)]);
    ++w;
  }
  n_ = w;
  threshold_ = std::max(threshold_, worst);
}

void IvfScanReference(const IvfScanArgs& a) {
  const int64_t group_bytes = a.dim4 * kIvfGroup * 4;
  for (int64_t i = 0; i < a.n_rows; ++i) {
    const int64_t row = a.rows != nullptr ? a.rows[i] : i;
    const int32_t* q = a.q4 + row * a.dim4;
    for (int64_t k = 0; k < a.n_keys; ++k) {
      const uint8_t* code = a.codes + (k / kIvfGroup) * group_bytes + (k % kIvfGroup) * 4;
      int32_t dot = 0;
      for (int64_t j = 0; j < a.dim4; ++j)
        for (int b = 0; b < 4; ++b)
          dot += static_cast<int32_t>(code[j * kIvfGroup * 4 + b]) *
                 static_cast<int32_t>(static_cast<int8_t>(static_cast<uint32_t>(q[j]) >> (8 * b)));
      // One rounding of scale * x + base, as the kernel's FMA.
      a.cands[row].Add(std::fma(a.scale[row], static_cast<float>(dot - a.corr[row]), a.base[i]),
                       static_cast<int32_t>(a.ids[k] - a.first_id));
    }
  }
}
}  // namespace lm::membank
#endif
