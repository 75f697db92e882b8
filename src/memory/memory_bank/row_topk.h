// Running top-k of one query row over keys pushed in increasing index order, shared by the exact search's
// driver and its SIMD kernel (internal to lm_memory_bank).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace lm::membank {

struct Cand {
  float score;
  int32_t idx;
};

// The total order of the ranking: higher score first, then lower index. A function object, not a function:
// passed to nth_element / partial_sort it is inlined there (a function pointer was called per comparison,
// 28% of an ivf-int8 search).
struct BetterCand {
  bool operator()(const Cand& a, const Cand& b) const {
    return a.score > b.score || (a.score == b.score && a.idx < b.idx);
  }
};
inline constexpr BetterCand Better{};

// Because indices only grow, a new key whose score merely equals the current k-th best loses the tie, so
// "score > threshold()" is an exact filter once full(). Candidates are pruned in batches (one nth_element per
// ~k + 32 accepted keys), so threshold() may lag the true k-th best; the filter stays exact, only looser.
class RowTopK {
 public:
  void Init(int64_t k) {
    k_ = k;
    cap_ = 2 * k + 32;
    c_.clear();
    c_.reserve(static_cast<size_t>(cap_));
    threshold_ = -std::numeric_limits<float>::infinity();
  }

  bool full() const { return static_cast<int64_t>(c_.size()) >= k_; }
  float threshold() const { return threshold_; }

  void Consider(float s, int64_t idx) {
    if (s > threshold_ || !full()) Push(s, static_cast<int32_t>(idx));
  }

  // The best min(k, seen) candidates, best first.
  const std::vector<Cand>& Finish() {
    const auto mid = c_.begin() + std::min<int64_t>(k_, static_cast<int64_t>(c_.size()));
    std::partial_sort(c_.begin(), mid, c_.end(), Better);
    c_.erase(mid, c_.end());
    return c_;
  }

 private:
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

}  // namespace lm::membank
