// Block selection for reattention's decode sweep: running block means, each row's top share of blocks by
// q . mean, and the scorer's exact top-k over the named key ranges only (against brute force).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "core/half.h"
#include "memory/reattention/block_summaries.h"
#include "memory/reattention/scorer.h"
#include "ops/attention.h"

namespace lm::reattention {
namespace {

std::vector<float> Gaussian(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> x(n);
  for (auto& e : x) e = scale * nd(rng);
  return x;
}

// Keys added in uneven pieces, from rows with a stride wider than D (a KV head's slice of [Hkv, D] rows):
// one f16 mean per complete block, the partial block's keys counted once it completes.
TEST(BlockSummaries, MeansOfCompleteBlocksAddedInPieces) {
  const int64_t D = 8, stride = 3 * D, B = 4, n = 23;
  const auto rows = Gaussian(static_cast<size_t>(n * stride), 1);
  BlockSummaries s(B, D);
  for (int64_t t0 = 0, piece = 1; t0 < n; t0 += piece, piece = piece % 5 + 2)
    s.Add(rows.data() + t0 * stride + D, stride, std::min(piece, n - t0));  // the second head's keys
  ASSERT_EQ(s.n_blocks(), n / B);
  for (int64_t b = 0; b < s.n_blocks(); ++b)
    for (int64_t d = 0; d < D; ++d) {
      double sum = 0;
      for (int64_t t = b * B; t < (b + 1) * B; ++t) sum += rows[static_cast<size_t>(t * stride + D + d)];
      EXPECT_NEAR(F16ToF32(s.means()[b * D + d]), sum / B, 2e-3) << "block " << b << " dim " << d;
    }
  EXPECT_GT(s.bytes(), 0u);
  s.Clear();
  EXPECT_EQ(s.n_blocks(), 0);
}

// Every row's top ceil(share * B) blocks by q . mean are in the ranges, no other block is, blocks beyond the
// middle are ignored and the keys after the last complete block are always included.
TEST(CandidateRanges, EachRowsTopBlocksUnionedPlusTheTail) {
  const int64_t D = 16, B = 8, rows = 3, n_keys = 1000, n_mid = 803;  // 100 blocks in the middle, tail of 3
  const auto keys = Gaussian(static_cast<size_t>(n_keys * D), 2);
  const auto q = Gaussian(static_cast<size_t>(rows * D), 3);
  BlockSummaries s(B, D);
  s.Add(keys.data(), D, n_keys);
  const int64_t nb = n_mid / B;
  for (double share : {0.05, 0.2, 1.0}) {
    SCOPED_TRACE(share);
    CandidateScratch scratch;
    std::vector<KeyRange> ranges;
    CandidateRanges(q.data(), rows, std::span<const BlockSummaries>(&s, 1), n_mid, share, scratch,
                    std::span<std::vector<KeyRange>>(&ranges, 1));
    std::vector<int> covered(static_cast<size_t>(n_mid), 0);
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (i > 0) {
        ASSERT_LT(ranges[i - 1].begin + ranges[i - 1].n, ranges[i].begin) << "ranges sorted and merged";
      }
      ASSERT_LE(ranges[i].begin + ranges[i].n, n_mid);
      for (int64_t j = ranges[i].begin; j < ranges[i].begin + ranges[i].n; ++j) covered[static_cast<size_t>(j)] = 1;
    }
    std::vector<int> want(static_cast<size_t>(nb), 0);
    const auto keep = static_cast<size_t>(std::ceil(share * static_cast<double>(nb)));
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<std::pair<float, int64_t>> sc;
      for (int64_t b = 0; b < nb; ++b) {
        float dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += q[static_cast<size_t>(r * D + d)] * F16ToF32(s.means()[b * D + d]);
        sc.push_back({-dot, b});
      }
      std::sort(sc.begin(), sc.end());
      for (size_t i = 0; i < keep; ++i) want[static_cast<size_t>(sc[i].second)] = 1;
    }
    int64_t n_kept = 0;
    for (int64_t b = 0; b < nb; ++b) {
      n_kept += want[static_cast<size_t>(b)];
      for (int64_t j = b * B; j < (b + 1) * B; ++j)
        ASSERT_EQ(covered[static_cast<size_t>(j)], want[static_cast<size_t>(b)]) << "block " << b << " key " << j;
    }
    for (int64_t j = nb * B; j < n_mid; ++j) EXPECT_EQ(covered[static_cast<size_t>(j)], 1) << "tail key " << j;
    if (share == 1.0) {
      EXPECT_EQ(ranges.size(), 1u);  // everything: one range over the whole middle
    } else {
      EXPECT_LT(n_kept, nb);
      EXPECT_GE(n_kept, static_cast<int64_t>(keep));
    }
  }
}

// With ranges the top-k is exact over the named keys and ignores the others, for few rows (decode: row dots,
// the named keys split into segments across range boundaries) and many rows (sgemm), f16 and q8_0 keys.
TEST(Scorer, RangesScoreOnlyTheNamedKeys) {
  for (ops::KvDType type : {ops::KvDType::kF16, ops::KvDType::kQ8_0}) {
    SCOPED_TRACE(type == ops::KvDType::kF16 ? "f16 keys" : "q8_0 keys");
    const int64_t D = 64, k = 4, N = 30011;
    auto keys = Gaussian(static_cast<size_t>(N * D), 4);
    std::vector<uint8_t> stored(static_cast<size_t>(ops::KvBytes(type, N * D)));
    ops::StoreKv(type, keys.data(), stored.data(), N * D);
    ops::LoadKvRow(type, stored.data(), keys.data(), N * D);  // the reference scores what is stored
    // Ranges of uneven lengths with gaps; the best keys overall lie in the gaps for some rows.
    std::vector<KeyRange> ranges;
    for (int64_t b = 5, len = 7; b < N; b += len + 37 + len % 11, len = len * 3 % 997 + 1)
      ranges.push_back({b, std::min(len, N - b)});
    std::vector<int> named(static_cast<size_t>(N), 0);
    for (const KeyRange& r : ranges)
      for (int64_t j = r.begin; j < r.begin + r.n; ++j) named[static_cast<size_t>(j)] = 1;
    for (int64_t R : {3, 70}) {
      SCOPED_TRACE(R);
      const auto q = Gaussian(static_cast<size_t>(R * D), 5);
      std::vector<float> bs(static_cast<size_t>(R * k));
      std::vector<int32_t> bi(bs.size());
      const ScoreJob job{.q = q.data(), .n_rows = R, .keys = stored.data(), .n_keys = N, .type = type,
                         .best_s = bs.data(), .best_i = bi.data(), .ranges = ranges};
      TopKScorer scorer;
      scorer.Run({&job, 1}, D, k);
      for (int64_t r = 0; r < R; ++r) {
        std::vector<std::pair<double, int32_t>> all;
        for (int64_t n = 0; n < N; ++n) {
          if (!named[static_cast<size_t>(n)]) continue;
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += static_cast<double>(q[static_cast<size_t>(r * D + d)]) * keys[static_cast<size_t>(n * D + d)];
          all.push_back({-s, static_cast<int32_t>(n)});
        }
        std::partial_sort(all.begin(), all.begin() + k, all.end());
        for (int64_t e = 0; e < k; ++e)
          ASSERT_EQ(bi[static_cast<size_t>(r * k + e)], all[static_cast<size_t>(e)].second) << "row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace lm::reattention
