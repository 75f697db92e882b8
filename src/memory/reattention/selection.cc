// ReAttention selection policy: top-k, voting with clip, span expansion.
#include "memory/reattention/selection.h"

#include "memory/reattention/row_dots.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>

namespace lm::reattention {

void ResetTopK(float* best_s, int32_t* best_i, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    best_s[j] = -std::numeric_limits<float>::infinity();
    best_i[j] = -1;
  }
}

void PushTopK(float* best_s, int32_t* best_i, int64_t k, const float* scores, int64_t n, int32_t idx0) {
  float floor = best_i[k - 1] >= 0 ? best_s[k - 1] : -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    if (best_i[k - 1] >= 0) {  // full: skip to the next score above the floor (the common case)
      j += FirstAbove(scores + j, n - j, floor);  // SIMD: the one-by-one loop was 4% of a decode step
      if (j == n) break;
    }
    const float s = scores[j];
    int64_t p = k - 1;
    while (p > 0 && (best_i[p - 1] < 0 || s > best_s[p - 1])) {
      best_s[p] = best_s[p - 1];
      best_i[p] = best_i[p - 1];
      --p;
    }
    best_s[p] = s;
    best_i[p] = idx0 + static_cast<int32_t>(j);
    floor = best_s[k - 1];
  }
}

float KthLargest(const float* x, int64_t n, int64_t k, std::vector<float>& scratch) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  constexpr int kBuckets = 256;
  const float scale = static_cast<float>(kBuckets) / (hi - lo);
  // Rounded subtraction and multiplication by a positive number keep the order, so buckets are monotone in
  // the value; an infinite or NaN scale (all equal, or a range beyond float) puts everything in bucket 0.
  const auto bucket = [&](float v) {
    const float f = (v - lo) * scale;
    return f >= 1.0f ? std::min(static_cast<int>(f), kBuckets - 1) : 0;
  };
  std::array<int32_t, kBuckets> count{};
  if (std::isfinite(scale))
    for (int64_t i = 0; i < n; ++i) ++count[static_cast<size_t>(bucket(x[i]))];
  else
    count[0] = static_cast<int32_t>(n);
  int b = kBuckets - 1;
  int64_t above = 0;  // values in buckets above b
  while (above + count[static_cast<size_t>(b)] < k) above += count[static_cast<size_t>(b--)];
  scratch.clear();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(scale) || bucket(x[i]) == b) scratch.push_back(x[i]);
  const auto kth = static_cast<std::ptrdiff_t>(k - above - 1);
  std::nth_element(scratch.begin(), scratch.begin() + kth, scratch.end(), std::greater<float>());
  return scratch[static_cast<size_t>(kth)];
}

void SelectSpans(std::span<const int32_t> anchors, int64_t n_mid, const SelectionParams& p, SelectionScratch& s,
                 std::vector<int32_t>* out) {
  out->clear();
  if (n_mid <= 0) return;
  // Vote: count occurrences of each distinct anchor (torch.unique with counts in the reference).
  s.sorted.clear();
  for (int32_t a : anchors)
    if (a >= 0 && a < n_mid) s.sorted.push_back(a);
  std::sort(s.sorted.begin(), s.sorted.end());
  s.distinct.clear();
  s.counts.clear();
  for (size_t i = 0; i < s.sorted.size();) {
    size_t j = i;
    while (j < s.sorted.size() && s.sorted[j] == s.sorted[i]) ++j;
    s.distinct.push_back(s.sorted[i]);
    s.counts.push_back(static_cast<int32_t>(j - i));
    i = j;
  }
  // Clip to the most voted anchors; ties go to the later (more recent) token, deterministically.
  s.order.resize(s.distinct.size());
  for (size_t i = 0; i < s.order.size(); ++i) s.order[i] = static_cast<int32_t>(i);
  if (static_cast<int64_t>(s.order.size()) > p.recall_clip) {
    std::nth_element(s.order.begin(), s.order.begin() + p.recall_clip, s.order.end(), [&](int32_t a, int32_t b) {
      return s.counts[static_cast<size_t>(a)] != s.counts[static_cast<size_t>(b)]
                 ? s.counts[static_cast<size_t>(a)] > s.counts[static_cast<size_t>(b)]
                 : a > b;
    });
    s.order.resize(static_cast<size_t>(p.recall_clip));
    std::sort(s.order.begin(), s.order.end());  // back to ascending anchor order
  }
  // Expand to spans and merge overlaps; anchors are ascending, so the spans are too.
  const int64_t before = p.span / 2, after = p.span - before - 1;
  int64_t covered = -1;  // last index already emitted
  for (int32_t o : s.order) {
    const int64_t a = s.distinct[static_cast<size_t>(o)];
    const int64_t lo = std::max<int64_t>({0, a - before, covered + 1});
    const int64_t hi = std::min<int64_t>(n_mid - 1, a + after);
    for (int64_t i = lo; i <= hi; ++i) out->push_back(static_cast<int32_t>(i));
    covered = std::max(covered, hi);
  }
}

std::vector<int32_t> SelectFromScores(const float* scores, int64_t n_rows, int64_t n_mid, const SelectionParams& p) {
  std::vector<float> best_s(static_cast<size_t>(p.top_k));
  std::vector<int32_t> anchors(static_cast<size_t>(n_rows * p.top_k));
  for (int64_t r = 0; r < n_rows; ++r) {
    int32_t* bi = anchors.data() + r * p.top_k;
    ResetTopK(best_s.data(), bi, p.top_k);
    PushTopK(best_s.data(), bi, p.top_k, scores + r * n_mid, n_mid, 0);
  }
  SelectionScratch s;
  std::vector<int32_t> out;
  SelectSpans(anchors, n_mid, p, s, &out);
  return out;
}

}  // namespace lm::reattention
