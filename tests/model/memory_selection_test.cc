// ReAttention's selection policy and exact top-k scorer on synthetic scores; the position re-assignment.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/half.h"
#include "memory/rope_table.h"
#include "ops/rope.h"
#include "memory/reattention/positions.h"
#include "memory/reattention/scorer.h"
#include "memory/reattention/selection.h"

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

TEST(Scorer, ExactTopKMatchesBruteForce) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  const int64_t D = 16, k = 4;
  // Two jobs: many keys and few rows (decode: keys split into segments), and many rows (prefill).
  const int64_t shapes[2][2] = {{3, 20000}, {130, 1500}};
  std::vector<std::vector<float>> q(2), keys(2), bs(2);
  std::vector<std::vector<int32_t>> bi(2);
  std::vector<std::vector<uint16_t>> keys16(2);
  std::vector<ScoreJob> jobs;
  for (int j = 0; j < 2; ++j) {
    const int64_t R = shapes[j][0], N = shapes[j][1];
    q[j].resize(static_cast<size_t>(R * D));
    keys[j].resize(static_cast<size_t>(N * D));
    for (auto& x : q[j]) x = nd(rng);
    for (auto& x : keys[j]) x = F16ToF32(F32ToF16(nd(rng)));  // the scorer reads f16 keys: exact here
    keys16[j].resize(keys[j].size());
    for (size_t i = 0; i < keys[j].size(); ++i) keys16[j][i] = F32ToF16(keys[j][i]);
    bs[j].resize(static_cast<size_t>(R * k));
    bi[j].resize(bs[j].size());
    jobs.push_back({q[j].data(), R, keys16[j].data(), N, bs[j].data(), bi[j].data()});
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
      for (int64_t e = 0; e < k; ++e)
        EXPECT_EQ(bi[j][static_cast<size_t>(r * k + e)], all[static_cast<size_t>(e)].second)
            << "job " << j << " row " << r;
    }
  }
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
