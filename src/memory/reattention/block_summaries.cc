// BlockSummaries: running per-block key means; CandidateRanges: per-row top share of blocks by q . mean.
#include "memory/reattention/block_summaries.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/half.h"
#include "memory/reattention/row_dots.h"

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

void CandidateRanges(const float* q, int64_t n_rows, const BlockSummaries& s, int64_t n_mid, double share,
                     CandidateScratch& sc, std::vector<KeyRange>* out) {
  out->clear();
  if (n_mid <= 0) return;
  const auto append = [out](int64_t begin, int64_t n) {  // merged into the last range where they touch
    if (!out->empty() && out->back().begin + out->back().n == begin)
      out->back().n += n;
    else
      out->push_back({begin, n});
  };
  const int64_t B = s.block(), nb = std::min(s.n_blocks(), n_mid / B);
  if (nb > 0) {
    const int64_t keep = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(share * static_cast<double>(nb))), 1, nb);
    sc.scores.resize(static_cast<size_t>(n_rows * nb));
    sc.keep.assign(static_cast<size_t>(nb), 0);
    const int64_t head_dim = s.head_dim();
    RowDotsF16(q, n_rows, s.means(), head_dim, nb, head_dim, sc.scores.data());
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* row = sc.scores.data() + r * nb;
      sc.row.assign(row, row + nb);
      std::nth_element(sc.row.begin(), sc.row.begin() + (keep - 1), sc.row.end(), std::greater<float>());
      const float threshold = sc.row[static_cast<size_t>(keep - 1)];
      for (int64_t b = 0; b < nb; ++b) sc.keep[static_cast<size_t>(b)] |= row[b] >= threshold;
    }
    for (int64_t b = 0; b < nb; ++b)
      if (sc.keep[static_cast<size_t>(b)]) append(b * B, B);
  }
  if (nb * B < n_mid) append(nb * B, n_mid - nb * B);  // keys after the last complete block: always scored
}

}  // namespace lm::reattention
