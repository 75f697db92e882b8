// ExactTopK: tiles of sgemm scores scanned against a running k-th-best threshold, merged across key ranges.
#include "memory/memory_bank/exact_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "backend/cpu/blas.h"
#include "core/check.h"
#include "core/thread_pool.h"

namespace lm::membank {
namespace {

// Score tile per thread: 1 MiB, so the scores sgemm writes are still in L2 when the scan reads them. With a
// 16-thread pool that is 16 MiB of scratch in all, whatever the bank size.
constexpr int64_t kTileFloats = 256 * 1024;
constexpr int64_t kMaxRowBlock = 128;
// A key range smaller than this is not worth a thread of its own (the merge would cost more than it saves).
constexpr int64_t kMinKeysPerPart = 4096;

struct Cand {
  float score;
  int32_t idx;
};

// The total order of the ranking: higher score first, then lower index.
inline bool Better(const Cand& a, const Cand& b) { return a.score > b.score || (a.score == b.score && a.idx < b.idx); }

// Running top-k of one row over keys pushed in increasing index order. Because indices only grow, a new key
// whose score merely equals the current k-th best loses the tie, so "score > threshold" is an exact filter.
class RowTopK {
 public:
  void Init(int64_t k) {
    k_ = k;
    cap_ = 2 * k + 32;  // prune in batches: one nth_element per ~k+32 accepted keys
    c_.clear();
    c_.reserve(static_cast<size_t>(cap_));
    threshold_ = -std::numeric_limits<float>::infinity();
  }

  void Scan(const float* scores, int64_t n, int64_t first_idx) {
    int64_t j = 0;
    // Once k candidates are held almost no score beats the threshold: test 16 at a time with a compare-OR
    // that vectorises, and look closer only at groups that have a winner.
    for (; j + 16 <= n; j += 16) {
      if (static_cast<int64_t>(c_.size()) >= k_) {
        bool any = false;
        for (int i = 0; i < 16; ++i) any |= scores[j + i] > threshold_;
        if (!any) continue;
      }
      for (int64_t i = j; i < j + 16; ++i) Consider(scores[i], first_idx + i);
    }
    for (; j < n; ++j) Consider(scores[j], first_idx + j);
  }

  // The best min(k, seen) candidates, best first.
  const std::vector<Cand>& Finish() {
    const auto mid = c_.begin() + std::min<int64_t>(k_, static_cast<int64_t>(c_.size()));
    std::partial_sort(c_.begin(), mid, c_.end(), Better);
    c_.erase(mid, c_.end());
    return c_;
  }

 private:
  void Consider(float s, int64_t idx) {
    if (s > threshold_ || static_cast<int64_t>(c_.size()) < k_) Push(s, static_cast<int32_t>(idx));
  }

  void Push(float s, int32_t idx) {
    // NaN would break the strict weak order that nth_element needs; it ranks last instead.
    if (std::isnan(s)) s = -std::numeric_limits<float>::infinity();
    c_.push_back({s, idx});
    if (static_cast<int64_t>(c_.size()) == cap_) {
      std::nth_element(c_.begin(), c_.begin() + (k_ - 1), c_.end(), Better);
      c_.resize(static_cast<size_t>(k_));
      threshold_ = c_[static_cast<size_t>(k_ - 1)].score;
    }
  }

  int64_t k_ = 0, cap_ = 0;
  float threshold_ = 0;
  std::vector<Cand> c_;
};

}  // namespace

void ExactTopK(const ExactSearchParams& p) {
  LM_CHECK(p.n_rows >= 0 && p.head_dim > 0 && p.k >= 1 && p.k <= p.n_keys, "ExactTopK: n_rows ", p.n_rows, " D ",
           p.head_dim, " k ", p.k, " n_keys ", p.n_keys);
  LM_CHECK(p.n_keys <= std::numeric_limits<int32_t>::max(), "ExactTopK: n_keys ", p.n_keys, " exceeds int32");
  if (p.n_rows == 0) return;
  const int64_t D = p.head_dim, k = p.k;
  const int64_t rows_b = std::min(p.n_rows, kMaxRowBlock);
  const int64_t cols_b = std::min(p.n_keys, std::max<int64_t>(kTileFloats / rows_b, 256));
  const int64_t n_row_blocks = (p.n_rows + rows_b - 1) / rows_b;

  // Few rows (decode: T = 1) would leave threads idle, so the keys are split into parts, each searched for
  // its own top-k, and the parts merged. Every part holds at least k keys, so each yields k candidates.
  ThreadPool& pool = GlobalPool();
  int64_t n_parts = 1;
  if (n_row_blocks < pool.n_threads()) {
    const int64_t want = (pool.n_threads() + n_row_blocks - 1) / n_row_blocks;
    n_parts = std::max<int64_t>(1, std::min(want, p.n_keys / std::max(k, kMinKeysPerPart)));
  }
  std::vector<Cand> parts(n_parts > 1 ? static_cast<size_t>(p.n_rows * n_parts * k) : 0);

  pool.ParallelFor(n_row_blocks * n_parts, [&](int64_t begin, int64_t end, int) {
    // Uninitialised: sgemm with beta = 0 overwrites it.
    const std::unique_ptr<float[]> tile(new float[static_cast<size_t>(rows_b * cols_b)]);
    std::vector<RowTopK> tops(static_cast<size_t>(rows_b));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r0 = (item / n_parts) * rows_b, part = item % n_parts;
      const int64_t nr = std::min(rows_b, p.n_rows - r0);
      const int64_t k0 = p.n_keys * part / n_parts, k1 = p.n_keys * (part + 1) / n_parts;
      for (int64_t i = 0; i < nr; ++i) tops[i].Init(k);
      for (int64_t c0 = k0; c0 < k1; c0 += cols_b) {
        const int64_t nc = std::min(cols_b, k1 - c0);
        SgemmNT(nr, nc, D, p.queries + r0 * D, p.keys + c0 * D, tile.get());
        for (int64_t i = 0; i < nr; ++i) tops[i].Scan(tile.get() + i * nc, nc, c0);
      }
      for (int64_t i = 0; i < nr; ++i) {
        const std::vector<Cand>& best = tops[i].Finish();
        LM_CHECK(static_cast<int64_t>(best.size()) == k, "ExactTopK: part yielded ", best.size(), " of ", k);
        if (n_parts == 1) {
          for (int64_t j = 0; j < k; ++j) p.out[(r0 + i) * k + j] = best[j].idx;
        } else {
          std::copy(best.begin(), best.end(), parts.begin() + ((r0 + i) * n_parts + part) * k);
        }
      }
    }
  });
  if (n_parts == 1) return;

  pool.ParallelFor(p.n_rows, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const auto first = parts.begin() + r * n_parts * k;
      std::partial_sort(first, first + k, first + n_parts * k, Better);
      for (int64_t j = 0; j < k; ++j) p.out[r * k + j] = first[j].idx;
    }
  });
}

}  // namespace lm::membank
