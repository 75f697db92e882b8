// Retrieval-query centring: matches a naive per-row mean, is causal, and removes a "hub" chunk that raw
// inner-product retrieval returns for every query.
#include "memory/memory_bank/query_centring.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {
namespace {

TEST(QueryCentring, MatchesNaiveCausalMean) {
  const int64_t T = 37, H = 3, D = 5;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(2.0f, 1.5f);
  std::vector<float> q(static_cast<size_t>(T * H * D)), out(q.size());
  for (float& x : q) x = dist(rng);
  CentreQueriesCausal(q.data(), T, H, D, out.data());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < H * D; ++i) {
      double mean = 0;
      for (int64_t s = 0; s <= t; ++s) mean += q[static_cast<size_t>(s * H * D + i)];
      mean /= static_cast<double>(t + 1);
      EXPECT_NEAR(out[static_cast<size_t>(t * H * D + i)], q[static_cast<size_t>(t * H * D + i)] - mean, 1e-5)
          << "t=" << t << " i=" << i;
    }
  // Causal: changing a later row leaves every earlier output unchanged.
  std::vector<float> q2 = q, out2(q.size());
  for (int64_t i = 0; i < H * D; ++i) q2[static_cast<size_t>((T - 1) * H * D + i)] += 10.0f;
  CentreQueriesCausal(q2.data(), T, H, D, out2.data());
  for (size_t i = 0; i < static_cast<size_t>((T - 1) * H * D); ++i) ASSERT_EQ(out[i], out2[i]) << i;
}

// Queries share a large common direction u plus a small per-query direction e_j. Chunk 0 (the hub) has key
// along u; chunk j + 1 has key along e_j. Raw retrieval returns the hub for every query; centred retrieval
// returns each query's own chunk once the running mean has seen the common direction.
TEST(QueryCentring, RemovesAHubChunkThatRawRetrievalAlwaysReturns) {
  const int64_t D = 8, n_specific = 6, csz = 1;
  MemoryBankConfig c{.n_head_kv = 1, .head_dim = D, .chunk_size = csz, .capacity_tokens = 64};
  auto bank = MemoryBank::Create(c);
  ASSERT_TRUE(bank.ok()) << bank.status().ToString();
  std::vector<float> k(static_cast<size_t>((n_specific + 1) * D), 0.0f), v(k.size(), 0.0f);
  k[0] = 3.0f;                                                                             // hub: along u = e_0
  for (int64_t j = 0; j < n_specific; ++j) k[static_cast<size_t>((j + 1) * D + j + 1)] = 1.0f;  // e_{j+1}
  ASSERT_TRUE((*bank)->Add(k.data(), v.data(), n_specific + 1).ok());

  // Each query: 5·u + 1·e_{j+1}, cycling through the specific directions twice.
  const int64_t T = 2 * n_specific;
  std::vector<float> q(static_cast<size_t>(T * D), 0.0f), qc(q.size());
  for (int64_t t = 0; t < T; ++t) {
    q[static_cast<size_t>(t * D)] = 5.0f;
    q[static_cast<size_t>(t * D + (t % n_specific) + 1)] = 1.0f;
  }
  CentreQueriesCausal(q.data(), T, 1, D, qc.data());
  std::vector<int32_t> raw_slots, centred_slots;
  int64_t chunks = 0;
  ASSERT_TRUE((*bank)->Retrieve(q.data(), T, 1, 1, &raw_slots, &chunks).ok());
  ASSERT_EQ(chunks, 1);
  ASSERT_TRUE((*bank)->Retrieve(qc.data(), T, 1, 1, &centred_slots, &chunks).ok());
  for (int64_t t = 0; t < T; ++t) EXPECT_EQ(raw_slots[static_cast<size_t>(t)], 0) << "raw t=" << t;
  for (int64_t t = 1; t < T; ++t)  // row 0 centres to zero: every score ties
    EXPECT_EQ(centred_slots[static_cast<size_t>(t)], (t % n_specific) + 1) << "centred t=" << t;
}

}  // namespace
}  // namespace lm::membank
