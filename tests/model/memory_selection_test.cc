// ReAttention's selection policy, exact top-k scorer and row-dot kernels on synthetic data; the position
// re-assignment.
#include "hwy_test_util.h"  // first: the project's SIMD target set

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "memory/reattention/positions.h"
#include "memory/reattention/row_dots.h"
#include "memory/reattention/scorer.h"
#include "memory/reattention/selection.h"
#include "memory/rope_table.h"
#include "ops/attention.h"
#include "ops/rope.h"

namespace lm::reattention {
namespace {

TEST(TopK, KeepsBestInOrderAndEarlierOnTies) {
  const float s[] = {1, 5, 3, 5, 9, -2};
  float bs[3];
  int32_t bi[3];
  ResetTopK(bs, bi, 3);
  PushTopK(bs, bi, 3, s, 6, 10);
  EXPECT_EQ(bi[0], 14);
  EXPECT_EQ(bi[1], 11);  // tie 5 vs 5: the earlier index first
  EXPECT_EQ(bi[2], 13);
}

TEST(TopK, FewerKeysThanKLeavesEmptySlots) {
  const float s[] = {2};
  float bs[3];
  int32_t bi[3];
  ResetTopK(bs, bi, 3);
  PushTopK(bs, bi, 3, s, 1, 0);
  EXPECT_EQ(bi[0], 0);
  EXPECT_EQ(bi[1], -1);
}

// Every k of every kind of input, against a full sort: many distinct values, few repeated ones (ties spanning
// the bucket boundaries), one value, a single element, clustered values with a far outlier (most in one
// bucket), and a range beyond float (max - min overflows).
TEST(KthLargest, MatchesAFullSortForEveryK) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<std::vector<float>> inputs;
  for (int64_t n : {1, 2, 7, 257, 900}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = 10.0f * nd(rng);
    inputs.push_back(x);
    for (auto& v : x) v = std::round(v / 8.0f);  // few distinct values
    inputs.push_back(x);
  }
  inputs.push_back(std::vector<float>(33, -2.5f));
  std::vector<float> clustered(500);
  for (auto& v : clustered) v = 1.0f + 1e-4f * nd(rng);
  clustered[17] = 1e6f;
  inputs.push_back(clustered);
  inputs.push_back({3e38f, -3e38f, 0.0f, 1.0f, -1.0f, 3e38f});
  std::vector<float> scratch;
  for (const auto& x : inputs) {
    SCOPED_TRACE(x.size());
    std::vector<float> sorted = x;
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    for (int64_t k = 1; k <= static_cast<int64_t>(x.size()); ++k)
      ASSERT_EQ(KthLargest(x.data(), static_cast<int64_t>(x.size()), k, scratch), sorted[static_cast<size_t>(k - 1)])
          << "k " << k;
  }
}

TEST(Selection, SpansAroundPeaksClampedMergedSorted) {
  // Two rows, 100 keys; row 0 peaks at 50, row 1 at 2 and 52 (overlapping spans merge, 2 clamps at 0).
  std::vector<float> sc(200, 0.0f);
  sc[50] = 10;
  sc[100 + 2] = 10;
  sc[100 + 52] = 9;
  const auto sel = SelectFromScores(sc.data(), 2, 100, {.top_k = 1, .span = 8, .recall_clip = 10});
  // Row 0: anchor 50 -> [46, 53]; row 1 top-1: 2 -> [0, 5].
  std::vector<int32_t> want;
  for (int i = 0; i <= 5; ++i) want.push_back(i);
  for (int i = 46; i <= 53; ++i) want.push_back(i);
  EXPECT_EQ(sel, want);
}

TEST(Selection, ClipKeepsMostVotedAnchors) {
  // Anchor 7 voted 3 times, 40 twice, 90 once; clip 2 keeps 7 and 40.
  const std::vector<int32_t> anchors = {7, 40, 90, 7, 40, 7, -1};
  SelectionScratch s;
  std::vector<int32_t> out;
  SelectSpans(anchors, 100, {.top_k = 1, .span = 2, .recall_clip = 2}, s, &out);
  EXPECT_EQ(out, (std::vector<int32_t>{6, 7, 39, 40}));
}

// The top-k is exact over the keys as stored: f16, or q8_0 blocks (scores of the dequantised keys).
TEST(Scorer, ExactTopKMatchesBruteForce) {
  for (ops::KvDType type : {ops::KvDType::kF16, ops::KvDType::kQ8_0}) {
    SCOPED_TRACE(type == ops::KvDType::kF16 ? "f16 keys" : "q8_0 keys");
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    const int64_t D = 64, k = 4;
    // Two jobs: many keys and few rows (decode: row dots, keys split into segments), and many rows (prefill:
    // sgemm). 20003 keys: the q8_0 row dots' last block of 64 keys is partial.
    const int64_t shapes[2][2] = {{3, 20003}, {130, 1500}};
    std::vector<std::vector<float>> q(2), keys(2), bs(2);
    std::vector<std::vector<int32_t>> bi(2);
    std::vector<std::vector<uint8_t>> stored(2);
    std::vector<ScoreJob> jobs;
    for (int j = 0; j < 2; ++j) {
      const int64_t R = shapes[j][0], N = shapes[j][1];
      q[j].resize(static_cast<size_t>(R * D));
      keys[j].resize(static_cast<size_t>(N * D));
      for (auto& x : q[j]) x = nd(rng);
      for (auto& x : keys[j]) x = nd(rng);
      stored[j].resize(static_cast<size_t>(ops::KvBytes(type, N * D)));
      ops::StoreKv(type, keys[j].data(), stored[j].data(), N * D);
      ops::LoadKvRow(type, stored[j].data(), keys[j].data(), N * D);  // the reference scores what is stored
      bs[j].resize(static_cast<size_t>(R * k));
      bi[j].resize(bs[j].size());
      jobs.push_back({q[j].data(), R, stored[j].data(), N, type, bs[j].data(), bi[j].data()});
    }
    TopKScorer scorer;
    scorer.Run(jobs, D, k);
    for (int j = 0; j < 2; ++j) {
      const int64_t R = shapes[j][0], N = shapes[j][1];
      for (int64_t r = 0; r < R; ++r) {
        std::vector<std::pair<double, int32_t>> all;
        for (int64_t n = 0; n < N; ++n) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += static_cast<double>(q[j][static_cast<size_t>(r * D + d)]) * keys[j][static_cast<size_t>(n * D + d)];
          all.push_back({-s, static_cast<int32_t>(n)});
        }
        std::partial_sort(all.begin(), all.begin() + k, all.end());
        for (int64_t e = 0; e < k; ++e) {
          EXPECT_EQ(bi[j][static_cast<size_t>(r * k + e)], all[static_cast<size_t>(e)].second)
              << "job " << j << " row " << r;
          EXPECT_NEAR(bs[j][static_cast<size_t>(r * k + e)], -all[static_cast<size_t>(e)].first, 1e-4);
        }
      }
    }
  }
}

// The row-dot kernels on every compiled SIMD target (and the scalar fallback), head sizes 32 to 128, key
// counts that leave partial blocks of 4 and of 64, against double sums over the stored keys.
TEST(RowDots, MatchStoredKeysOnEveryTarget) {
  test::ForEachHwyTarget([] {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd;
    for (int64_t D : {32, 64, 128})
      for (int64_t rows : {1, 3, 4, 5}) {
        const int64_t n = 131;
        std::vector<float> q(static_cast<size_t>(rows * D)), keys(static_cast<size_t>(n * D));
        for (auto& x : q) x = nd(rng);
        for (auto& x : keys) x = 3.0f * nd(rng);
        std::vector<uint16_t> k16(keys.size());
        std::vector<uint8_t> k8(static_cast<size_t>(ops::KvBytes(ops::KvDType::kQ8_0, n * D)));
        ops::StoreKv(ops::KvDType::kF16, keys.data(), k16.data(), n * D);
        ops::StoreKv(ops::KvDType::kQ8_0, keys.data(), k8.data(), n * D);
        std::vector<float> w16(keys.size()), w8(keys.size());
        ops::LoadKvRow(ops::KvDType::kF16, k16.data(), w16.data(), n * D);
        ops::LoadKvRow(ops::KvDType::kQ8_0, k8.data(), w8.data(), n * D);
        std::vector<float> out16(static_cast<size_t>(rows * n)), out8(out16.size());
        RowDotsF16(q.data(), rows, k16.data(), D, n, D, out16.data());
        // Into a wider output (block selection writes each thread's slice of the blocks into a shared row):
        // the same scores at the stride, the gaps untouched.
        const int64_t ld = n + 5;
        std::vector<float> strided(static_cast<size_t>(rows * ld), -7.0f);
        RowDotsF16(q.data(), rows, k16.data(), D, n, D, strided.data(), ld);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < ld; ++j)
            ASSERT_EQ(strided[static_cast<size_t>(r * ld + j)], j < n ? out16[static_cast<size_t>(r * n + j)] : -7.0f)
                << "D " << D << " rows " << rows << " column " << j;
        RowDotsQ8(q.data(), rows, k8.data(), n, D, out8.data(), k8.data(), n);  // prefetching itself again
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < n; ++j) {
            double s16 = 0, s8 = 0;
            for (int64_t d = 0; d < D; ++d) {
              const double qd = q[static_cast<size_t>(r * D + d)];
              s16 += qd * w16[static_cast<size_t>(j * D + d)];
              s8 += qd * w8[static_cast<size_t>(j * D + d)];
            }
            const auto i = static_cast<size_t>(r * n + j);
            ASSERT_NEAR(out16[i], s16, 1e-4 * (1 + std::fabs(s16))) << "D " << D << " rows " << rows << " key " << j;
            ASSERT_NEAR(out8[i], s8, 1e-4 * (1 + std::fabs(s8))) << "D " << D << " rows " << rows << " key " << j;
          }
      }
  });
}

// The top-k's skip on every target: the first score strictly above the floor (equal is not above), at every
// offset of a vector pair and past the last whole pair, or n when there is none.
TEST(FirstAbove, FindsTheFirstScoreAboveTheFloorOnEveryTarget) {
  test::ForEachHwyTarget([] {
    for (int64_t n : {0, 1, 7, 40, 67}) {
      std::vector<float> s(static_cast<size_t>(n), 1.0f);
      EXPECT_EQ(FirstAbove(s.data(), n, 1.0f), n) << "n " << n;
      for (int64_t at = 0; at < n; ++at) {
        std::fill(s.begin(), s.end(), -3.0f);
        s[static_cast<size_t>(at)] = 2.0f;
        if (at + 1 < n) s[static_cast<size_t>(n - 1)] = 5.0f;  // a later one must not win
        ASSERT_EQ(FirstAbove(s.data(), n, 1.5f), at) << "n " << n;
      }
    }
  });
}

TEST(Positions, ScopeIsGlobalSelectedLocalWithContiguousPositions) {
  Scope s;
  const std::vector<int32_t> sel = {3, 4, 10};
  BuildScope(/*n_cached=*/100, /*n_global=*/2, /*n_local=*/5, sel, /*n_chunk=*/2, &s);
  EXPECT_EQ(s.index, (std::vector<int32_t>{0, 1, 5, 6, 12, 95, 96, 97, 98, 99}));
  EXPECT_EQ(s.k_pos.back(), 9);
  EXPECT_EQ(s.q_pos, (std::vector<int32_t>{8, 9}));
  BuildScope(6, 2, 5, {}, 1, &s);  // short cache: everything, positions = indices
  EXPECT_EQ(s.index.size(), 6u);
  EXPECT_EQ(s.q_pos, (std::vector<int32_t>{5}));
}

// The cos/sin table rotates exactly as ops::ApplyRope (bit for bit), grows without changing its entries,
// and moves a row rotated at position a to position b by rotating it by b - a (negative included).
TEST(RopeTable, MatchesApplyRopeAndMovesRowsBetweenPositions) {
  const ops::RopeParams p{.head_dim = 64, .rot_dim = 64, .theta = 10000.0f, .style = ops::RopeStyle::kInterleaved};
  RopeTable table(p, 16);
  table.Extend(40000);
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> x(128);
  for (auto& e : x) e = nd(rng);
  for (int32_t pos : {0, 7, 8191, 39999}) {
    std::vector<float> a = x, b = x;
    table.RotateRow(a.data(), 2, pos);
    ops::ApplyRope(b.data(), &pos, 1, 2, p);
    EXPECT_EQ(a, b) << "position " << pos;
  }
  for (auto [from, to] : {std::pair{30000, 100}, std::pair{5, 9000}}) {
    std::vector<float> moved = x, direct = x;
    table.RotateRow(moved.data(), 2, from);
    table.RotateRowBy(moved.data(), 2, to - from);
    table.RotateRow(direct.data(), 2, to);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(moved[i], direct[i], 2e-5f) << from << " -> " << to;
  }
}

}  // namespace
}  // namespace lm::reattention
