// ivf-int8 chunk index: the int8 list scan against its plain reference on every SIMD target, the candidate
// list, top-p selection and k-means against brute force, and the index inside a memory bank (recall against an exact twin through
// training and FIFO eviction, the exact phase before training, Load into ivf-int8, config errors).
#include "hwy_test_util.h"  // first: the project's Highway target set

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <vector>

#include "memory/memory_bank/ivf_scan.h"
#include "memory/memory_bank/kmeans.h"
#include "memory/memory_bank/memory_bank.h"
#include "memory_bank_fixtures.h"

namespace lm::membank {
namespace {

using fixtures::Clustered;
using fixtures::MakePair;
using fixtures::Pair;
using fixtures::Recall;

template <class Fn>
void ForEachTarget(const Fn& fn) {
  lm::test::ForEachHwyTarget(fn, &IvfScanTargetName);
}

// Random codes in the kernel's layout (padding lanes 128) and their row-major copy.
struct Codes {
  std::vector<uint8_t> packed, rows;
  std::vector<int64_t> ids;
};
Codes RandomCodes(int64_t n_keys, int64_t D, std::mt19937* rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  Codes c;
  const int64_t groups = (n_keys + kIvfGroup - 1) / kIvfGroup, dim4 = D / 4;
  c.packed.assign(static_cast<size_t>(groups * dim4 * kIvfGroup * 4), 128);
  c.rows.resize(static_cast<size_t>(n_keys * D));
  for (int64_t i = 0; i < n_keys; ++i) {
    c.ids.push_back(1000 + 3 * i);
    for (int64_t d = 0; d < D; ++d) {
      const auto v = static_cast<uint8_t>(byte(*rng));
      c.rows[i * D + d] = v;
      c.packed[(i / kIvfGroup) * dim4 * kIvfGroup * 4 + ((d / 4) * kIvfGroup + i % kIvfGroup) * 4 + d % 4] = v;
    }
  }
  return c;
}

TEST(IvfScan, MatchesReferenceAndTheFormulaOnEveryTarget) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> qv(-kIvfQueryMax, kIvfQueryMax);
  std::uniform_real_distribution<float> f(-2.0f, 2.0f);
  // Rows 1..9 cover the 4-row blocks and the single-row tail; keys not a multiple of the group; D = 12 is 3 runs.
  for (const auto& [rows, n_keys, D, R] : std::vector<std::array<int64_t, 4>>{
           {1, 5, 64, 3}, {4, 8, 64, 8}, {7, 29, 64, 6}, {9, 40, 12, 40}, {5, 17, 16, 64}}) {
    SCOPED_TRACE(testing::Message() << rows << " rows, " << n_keys << " keys, D " << D << ", R " << R);
    const Codes codes = RandomCodes(n_keys, D, &rng);
    std::vector<int8_t> q(static_cast<size_t>(rows * D));
    for (int8_t& x : q) x = static_cast<int8_t>(qv(rng));
    std::vector<int32_t> q4(static_cast<size_t>(rows * D / 4)), corr(static_cast<size_t>(rows));
    std::memcpy(q4.data(), q.data(), q.size());
    std::vector<float> base(static_cast<size_t>(rows)), scale(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      base[r] = f(rng);
      scale[r] = 0.01f + 0.1f * std::fabs(f(rng));
      int32_t sum = 0;
      for (int64_t d = 0; d < D; ++d) sum += q[r * D + d];
      corr[r] = 128 * sum;
    }
    // The formula, independently: base + scale * Σ (code − 128) q; the R best per row, by score then slot.
    std::vector<std::vector<std::pair<float, int32_t>>> want(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < n_keys; ++i) {
        int64_t dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += (codes.rows[i * D + d] - 128) * q[r * D + d];
        want[r].push_back({std::fma(scale[r], static_cast<float>(dot), base[r]), static_cast<int32_t>(3 * i)});
      }
      std::sort(want[r].begin(), want[r].end(),
                [](auto& x, auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
      want[r].resize(static_cast<size_t>(std::min(R, n_keys)));
    }
    // Each row's candidates after a final shrink, best first.
    auto run = [&](bool reference) {
      std::vector<CandList> cands(static_cast<size_t>(rows));
      for (CandList& c : cands) c.Init(R);
      // Scanned in reverse order through the row index, as the list-major scan addresses its rows.
      std::vector<int32_t> order(static_cast<size_t>(rows));
      std::vector<float> base_by_order(static_cast<size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) {
        order[i] = static_cast<int32_t>(rows - 1 - i);
        base_by_order[i] = base[rows - 1 - i];
      }
      const IvfScanArgs a{.rows = order.data(), .q4 = q4.data(), .scale = scale.data(), .corr = corr.data(),
                          .cands = cands.data(), .base = base_by_order.data(), .n_rows = rows, .dim4 = D / 4,
                          .codes = codes.packed.data(), .ids = codes.ids.data(), .first_id = 1000,
                          .n_keys = n_keys};
      reference ? IvfScanReference(a) : IvfScan(a);
      std::vector<std::vector<std::pair<float, int32_t>>> got;
      for (CandList& c : cands) {
        c.Shrink();
        got.emplace_back();
        for (int64_t i = 0; i < c.size(); ++i) got.back().push_back({c.scores()[i], c.slots()[i]});
        std::sort(got.back().begin(), got.back().end(),
                  [](auto& x, auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
      }
      return got;
    };
    const auto ref = run(true);
    for (int64_t r = 0; r < rows; ++r) {
      ASSERT_EQ(ref[r].size(), want[r].size());
      // Scores equal; a slot may differ only where two keys tie at the cut.
      for (size_t j = 0; j < ref[r].size(); ++j) EXPECT_EQ(ref[r][j].first, want[r][j].first) << "row " << r;
    }
    ForEachTarget([&] {
      const auto got = run(false);
      for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(got[r], ref[r]) << "row " << r;
    });
  }
}

TEST(IvfScan, CandListKeepsTheBestAndRaisesItsThreshold) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  for (const int64_t keep : {1, 5, 32, 40}) {
    CandList c;
    c.Init(keep);
    std::vector<float> all;
    for (int32_t i = 0; i < 1000; ++i) {
      const float s = normal(rng);
      all.push_back(s);
      c.Add(s, i);
    }
    c.Shrink();
    ASSERT_EQ(c.size(), keep);
    std::sort(all.begin(), all.end(), std::greater<>());
    std::vector<float> got(c.scores(), c.scores() + c.size());
    std::sort(got.begin(), got.end(), std::greater<>());
    EXPECT_EQ(got, std::vector<float>(all.begin(), all.begin() + keep));
    EXPECT_EQ(c.threshold(), all[keep - 1]);
    for (int64_t i = 0; i < c.size(); ++i) EXPECT_EQ(all.end(), std::find(all.begin() + keep, all.end(), c.scores()[i]));
  }
}

TEST(IvfScan, SelectTopEqualsASortOnEveryTarget) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> small(0, 20);  // many ties
  std::normal_distribution<float> normal;
  ForEachTarget([&] {
    for (const auto& [n, p] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {13, 4}, {512, 52}, {300, 300}, {77, 9}}) {
      for (bool ties : {false, true}) {
        SCOPED_TRACE(testing::Message() << "n " << n << " p " << p << (ties ? " with ties" : ""));
        std::vector<float> s(static_cast<size_t>(n));
        for (float& x : s) x = ties ? static_cast<float>(small(rng)) : normal(rng);
        std::vector<Cand> out(static_cast<size_t>(n));
        ASSERT_EQ(SelectTop(s.data(), n, p, out.data()), p);
        std::vector<float> sorted = s;
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        std::vector<float> got;
        std::set<int32_t> seen;
        for (int64_t i = 0; i < p; ++i) {
          EXPECT_EQ(out[i].score, s[out[i].idx]);
          EXPECT_TRUE(seen.insert(out[i].idx).second) << "index " << out[i].idx << " twice";
          got.push_back(out[i].score);
        }
        std::sort(got.begin(), got.end(), std::greater<>());
        // The same multiset of scores as the p largest (which indices win a tie is not specified).
        EXPECT_EQ(got, std::vector<float>(sorted.begin(), sorted.begin() + p));
      }
    }
  });
}

TEST(KMeans, AssignNearestMatchesBruteForceAndSeparatedClustersAreFound) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n;
  const int64_t d = 10, k = 6, per = 50;
  std::vector<float> centres(static_cast<size_t>(k * d)), x;
  for (float& c : centres) c = 20.0f * n(rng);
  for (int64_t c = 0; c < k; ++c)
    for (int64_t i = 0; i < per; ++i)
      for (int64_t j = 0; j < d; ++j) x.push_back(centres[c * d + j] + n(rng));
  const int64_t N = k * per;
  const std::vector<float> got = KMeans(x.data(), N, d, k, 10, 1);
  std::vector<int32_t> assign(static_cast<size_t>(N));
  AssignNearest(x.data(), N, d, got.data(), k, assign.data());
  for (int64_t i = 0; i < N; ++i) {  // brute force
    int32_t best = 0;
    double best_d = INFINITY;
    for (int64_t c = 0; c < k; ++c) {
      double dd = 0;
      for (int64_t j = 0; j < d; ++j) dd += std::pow(double(x[i * d + j]) - got[c * d + j], 2);
      if (dd < best_d) best_d = dd, best = static_cast<int32_t>(c);
    }
    EXPECT_EQ(assign[i], best) << "row " << i;
  }
  // Each true cluster lands in one list, and the lists differ.
  std::set<int32_t> lists;
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t i = 1; i < per; ++i) EXPECT_EQ(assign[c * per + i], assign[c * per]) << "cluster " << c;
    lists.insert(assign[c * per]);
  }
  EXPECT_EQ(static_cast<int64_t>(lists.size()), k);
  EXPECT_EQ(KMeans(x.data(), N, d, k, 10, 1), got) << "not deterministic";
}

TEST(MemoryBankIvfInt8, RecallThroughTrainingAndEviction) {
  fixtures::ExpectRecallThroughEviction(IndexKind::kIvfInt8, 0.9);
}

// Keys with a shared component the queries lack (as real keys have) and a decode-sized query: still found.
TEST(MemoryBankIvfInt8, RecallWithACommonKeyComponentAndOneToken) {
  const int64_t Hkv = 1, H = 3, D = 64, csz = 4, kc = 16;
  Pair p = MakePair({.n_head_kv = Hkv, .head_dim = D, .chunk_size = csz, .capacity_tokens = 16384,
                     .index = IndexKind::kIvfInt8});
  Clustered data(Hkv, D, 96, 5, /*common=*/3.0f);
  p.Add(data.Tokens(16384, csz), 16384);
  ASSERT_TRUE(p.approx->index_ready());
  EXPECT_GE(Recall(*p.approx, *p.exact, data.Queries(64, H), 64, H, kc), 0.9);
  EXPECT_GE(Recall(*p.approx, *p.exact, data.Queries(1, H), 1, H, kc), 0.8);
}

TEST(MemoryBankIvfInt8, LoadIntoIvfInt8TrainsOnTheStoredChunks) {
  const int64_t Hkv = 1, H = 2, D = 16, csz = 4, T = 8, kc = 4;
  Pair p = MakePair({.n_head_kv = Hkv, .head_dim = D, .chunk_size = csz, .capacity_tokens = 8192});
  Clustered data(Hkv, D, 16, 5);
  p.Add(data.Tokens(4400, csz), 4400);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("lm_membank_ivf8_" + std::to_string(::getpid()))).string();
  ASSERT_TRUE(p.approx->Save(path).ok());
  MemoryBankConfig ivf = p.approx->config();
  ivf.index = IndexKind::kIvfInt8;
  auto loaded = MemoryBank::Load(path, ivf);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->config().index, IndexKind::kIvfInt8);
  EXPECT_TRUE((*loaded)->index_ready());  // 1100 chunks >= the auto training size of 1024
  EXPECT_GE(Recall(**loaded, *p.exact, data.Queries(T, H), T, H, kc), 0.85);
  std::filesystem::remove(path);
}

TEST(MemoryBankIvfInt8, HeadDimNotAMultipleOfFourIsRejected) {
  auto bank = MemoryBank::Create({.n_head_kv = 1, .head_dim = 30, .index = IndexKind::kIvfInt8});
  ASSERT_FALSE(bank.ok());
  EXPECT_EQ(bank.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bank.status().message().find("head_dim = 30"), std::string::npos) << bank.status().message();
}

}  // namespace
}  // namespace lm::membank
