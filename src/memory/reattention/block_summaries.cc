// BlockSummaries: running per-block key means; CandidateRanges: per-row top share of blocks by q . mean
// (scores and a threshold per row across the threads, then the union of the kept blocks as ranges).
#include "memory/reattention/block_summaries.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "core/thread_pool.h"
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

namespace {

// The ranges of one head from its rows' scores [n_rows, nb] and thresholds: the union of each row's kept
// blocks, merged where they touch, plus the keys after the last complete block (up to n_mid).
void RangesFromScores(const float* scores, const float* thresholds, int64_t n_rows, int64_t nb, int64_t block,
                      int64_t n_mid, std::vector<uint8_t>& keep, std::vector<KeyRange>* out) {
  out->clear();
  const auto append = [out](int64_t begin, int64_t n) {  // merged into the last range where they touch
    if (!out->empty() && out->back().begin + out->back().n == begin)
      out->back().n += n;
    else
      out->push_back({begin, n});
  };
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

}  // namespace

void CandidateRanges(const float* q, int64_t n_rows, std::span<const BlockSummaries> s, int64_t n_mid,
                     double share, CandidateScratch& sc, std::span<std::vector<KeyRange>> out) {
  const auto heads = static_cast<int64_t>(s.size());
  if (heads == 0) return;
  const int64_t B = s[0].block(), D = s[0].head_dim();
  // Every head of a layer holds the same number of complete blocks (they are appended together).
  const int64_t nb = std::max<int64_t>(0, std::min(s[0].n_blocks(), n_mid / B));
  if (nb > 0) {
    const int64_t keep =
        std::clamp<int64_t>(static_cast<int64_t>(std::ceil(share * static_cast<double>(nb))), 1, nb);
    sc.scores.resize(static_cast<size_t>(heads * n_rows * nb));
    sc.thresholds.resize(static_cast<size_t>(heads * n_rows));
    ThreadPool& pool = GlobalPool();
    const int64_t n_slices = pool.n_threads();
    if (sc.kth.size() < static_cast<size_t>(n_slices)) sc.kth.resize(static_cast<size_t>(n_slices));
    pool.ParallelForDynamic(heads * n_slices, [&](int64_t i, int) {
      const int64_t h = i / n_slices, b0 = i % n_slices * nb / n_slices, b1 = (i % n_slices + 1) * nb / n_slices;
      RowDotsF16(q + h * n_rows * D, n_rows, s[static_cast<size_t>(h)].means() + b0 * D, D, b1 - b0, D,
                 sc.scores.data() + h * n_rows * nb + b0, nb);
    });
    pool.ParallelForDynamic(heads * n_rows, [&](int64_t i, int tid) {
      sc.thresholds[static_cast<size_t>(i)] =
          KthLargest(sc.scores.data() + i * nb, nb, keep, sc.kth[static_cast<size_t>(tid)]);
    });
  }
  for (int64_t h = 0; h < heads; ++h)
    RangesFromScores(sc.scores.data() + h * n_rows * nb, sc.thresholds.data() + h * n_rows, n_rows, nb, B, n_mid,
                     sc.keep, &out[static_cast<size_t>(h)]);
}

}  // namespace lm::reattention
