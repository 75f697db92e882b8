// BlockSummaries: running per-block key means; per-row top share of blocks by q . mean
// (scores and a threshold per row, then the union of the kept blocks as ranges).
#include "memory/reattention/block_summaries.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "memory/reattention/row_dots.h"
#include "memory/reattention/selection.h"

namespace lm::reattention {

void BlockSummaries::Add(const float* keys, int64_t stride, int64_t n) {
  sum_.resize(static_cast<size_t>(d_));
  for (int64_t t = 0; t < n; ++t) {
    const float* k = keys + t * stride;
    if (filled_ == 0) std::fill(sum_.begin(), sum_.end(), 0.0f);
    for (int64_t d = 0; d < d_; ++d) sum_[static_cast<size_t>(d)] += k[d];
    if (++filled_ == block_) {
      const float inv = 1.0f / static_cast<float>(block_);
      for (int64_t d = 0; d < d_; ++d) means_.push_back(F32ToF16(sum_[static_cast<size_t>(d)] * inv));
      filled_ = 0;
    }
  }
}

void BlockSummaries::Clear() {
  filled_ = 0;
  sum_.clear();
  means_.clear();
}

BlockPlan PlanBlocks(const BlockSummaries& s, int64_t n_mid, double share) {
  BlockPlan p;
  p.nb = std::max<int64_t>(0, std::min(s.n_blocks(), n_mid / s.block()));
  if (p.nb > 0)
    p.keep = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(share * static_cast<double>(p.nb))), 1, p.nb);
  return p;
}

void BlockScores(const float* q, int64_t n_rows, const BlockSummaries& s, int64_t b0, int64_t n, float* out,
                 int64_t out_stride) {
  const int64_t D = s.head_dim();
  RowDotsF16(q, n_rows, s.means() + b0 * D, D, n, D, out, out_stride);
}

void RangesFromScores(const float* scores, const float* thresholds, int64_t n_rows, const BlockPlan& plan,
                      int64_t block, int64_t n_mid, std::vector<uint8_t>& keep, std::vector<KeyRange>* out) {
  out->clear();
  const auto append = [out](int64_t begin, int64_t n) {  // merged into the last range where they touch
    if (!out->empty() && out->back().begin + out->back().n == begin)
      out->back().n += n;
    else
      out->push_back({begin, n});
  };
  const int64_t nb = plan.nb;
  keep.assign(static_cast<size_t>(nb), 0);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = scores + r * nb;
    const float threshold = thresholds[r];
    for (int64_t b = 0; b < nb; ++b) keep[static_cast<size_t>(b)] |= row[b] >= threshold;
  }
  for (int64_t b = 0; b < nb; ++b)
    if (keep[static_cast<size_t>(b)]) append(b * block, block);
  if (nb * block < n_mid) append(nb * block, n_mid - nb * block);
}

void CandidateRanges(const float* q, int64_t n_rows, const BlockSummaries& s, int64_t n_mid, double share,
                     CandidateScratch& sc, std::vector<KeyRange>* out) {
  out->clear();
  if (n_mid <= 0) return;
  const BlockPlan plan = PlanBlocks(s, n_mid, share);
  sc.scores.resize(static_cast<size_t>(n_rows * plan.nb));
  sc.thresholds.resize(static_cast<size_t>(n_rows));
  if (plan.nb > 0) {
    BlockScores(q, n_rows, s, 0, plan.nb, sc.scores.data(), plan.nb);
    for (int64_t r = 0; r < n_rows; ++r)
      sc.thresholds[static_cast<size_t>(r)] = KthLargest(sc.scores.data() + r * plan.nb, plan.nb, plan.keep, sc.kth);
  }
  RangesFromScores(sc.scores.data(), sc.thresholds.data(), n_rows, plan, s.block(), n_mid, sc.keep, out);
}

}  // namespace lm::reattention
