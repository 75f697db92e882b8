// Exact top-k search kernel on every SIMD target compiled in: rankings equal a double-precision brute force
// (integer data, so scores are exact and ties common) over shapes that hit every tail of the kernel (rows not
// a multiple of the row block, keys not a multiple of the step, tiny and odd head dims, decode's key split),
// NaN and tie rules, and incremental packing equal to a full repack.
#include "hwy_test_util.h"  // first: the project's Highway target set
#include "memory/memory_bank/exact_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace lm::membank {
namespace {

std::vector<float> IntData(int64_t n, std::mt19937* rng, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(dist(*rng));
  return v;
}

std::vector<int32_t> BruteForce(const std::vector<float>& q, int64_t rows, const std::vector<float>& keys,
                                int64_t n_keys, int64_t D, int64_t k) {
  std::vector<int32_t> out;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<std::pair<double, int32_t>> s(static_cast<size_t>(n_keys));
    for (int64_t j = 0; j < n_keys; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += double(q[r * D + d]) * keys[j * D + d];
      s[j] = {dot, static_cast<int32_t>(j)};
    }
    std::partial_sort(s.begin(), s.begin() + k, s.end(),
                      [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (int64_t j = 0; j < k; ++j) out.push_back(s[j].second);
  }
  return out;
}

template <class Fn>
void ForEachTarget(const Fn& fn) {
  test::ForEachHwyTarget(fn, &ExactSearchTargetName);
}

struct Case {
  int64_t rows, n_keys, D, k;
};

TEST(ExactSearch, MatchesBruteForceOnEveryTarget) {
  const Case cases[] = {
      {1, 1, 1, 1},       {3, 17, 3, 5},      {13, 31, 16, 31},  {5, 33, 64, 7},   {25, 100, 70, 16},
      {97, 1000, 64, 16}, {1, 20000, 16, 16}, {4, 9000, 64, 64}, {200, 2100, 8, 3},
  };
  ForEachTarget([&] {
    std::mt19937 rng(11);
    for (const Case& c : cases) {
      SCOPED_TRACE(testing::Message() << "rows " << c.rows << " keys " << c.n_keys << " D " << c.D << " k " << c.k);
      const auto keys = IntData(c.n_keys * c.D, &rng, -3, 3), q = IntData(c.rows * c.D, &rng, -2, 2);
      std::vector<int32_t> out(static_cast<size_t>(c.rows * c.k));
      ExactTopK({.queries = q.data(),
                 .n_rows = c.rows,
                 .head_dim = c.D,
                 .keys = keys.data(),
                 .n_keys = c.n_keys,
                 .k = c.k,
                 .out = out.data()});
      ASSERT_EQ(out, BruteForce(q, c.rows, keys, c.n_keys, c.D, c.k));
    }
  });
}

TEST(ExactSearch, TiesGoToLowerIndexAndNaNRanksLastOnEveryTarget) {
  // Keys 0..39 all score 1 except key 3 (NaN), key 7 (2) and key 35 (3): expect 35, 7, then 0, 1, 2, 4.
  const int64_t D = 2, n = 40;
  std::vector<float> keys(n * D, 0.5f);
  keys[3 * D] = std::numeric_limits<float>::quiet_NaN();
  keys[7 * D] = keys[7 * D + 1] = 1.0f;
  keys[35 * D] = keys[35 * D + 1] = 1.5f;
  const float q[2] = {1.0f, 1.0f};
  ForEachTarget([&] {
    std::vector<int32_t> out(6);
    ExactTopK({.queries = q, .n_rows = 1, .head_dim = D, .keys = keys.data(), .n_keys = n, .k = 6, .out = out.data()});
    EXPECT_EQ(out, (std::vector<int32_t>{35, 7, 0, 1, 2, 4}));
    out.resize(n);
    ExactTopK({.queries = q, .n_rows = 1, .head_dim = D, .keys = keys.data(), .n_keys = n, .k = n, .out = out.data()});
    EXPECT_EQ(out.back(), 3);
  });
}

TEST(PackedKeys, IncrementalUpdatesEqualAFullRepack) {
  std::mt19937 rng(5);
  const int64_t D = 5, cap = 200;
  const auto keys = IntData(cap * D, &rng, -9, 9);
  PackedKeys inc, full;
  ASSERT_TRUE(inc.Reserve(cap, D));
  ASSERT_TRUE(full.Reserve(cap, D));
  const int64_t sizes[] = {1, 15, 16, 17, 40, 63, 64, 130, 200};
  int64_t n = 0;
  for (int64_t next : sizes) {
    inc.Update(keys.data(), next, n);
    full.Update(keys.data(), next, 0);
    n = next;
    ASSERT_EQ(inc.size(), n);
    const int64_t padded = (n + PackedKeys::kAlign - 1) / PackedKeys::kAlign * PackedKeys::kAlign;
    for (int64_t i = 0; i < padded * D; ++i) ASSERT_EQ(inc.data()[i], full.data()[i]) << "n " << n << " i " << i;
    // Layout: component d of key j at panel j / 16, offset d * 16 + j % 16; padding keys are zero.
    for (int64_t j = 0; j < padded; ++j)
      for (int64_t d = 0; d < D; ++d)
        ASSERT_EQ(full.data()[(j / 16) * 16 * D + d * 16 + j % 16], j < n ? keys[j * D + d] : 0.0f);
  }
  // Shrinking (after an eviction shift the bank repacks from 0) re-zeroes the tail.
  full.Update(keys.data() + 3 * D, 20, 0);
  for (int64_t j = 20; j < 32; ++j) EXPECT_EQ(full.data()[(j / 16) * 16 * D + j % 16], 0.0f);
}

}  // namespace
}  // namespace lm::membank
