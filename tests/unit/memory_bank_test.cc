// Memory bank tests: chunking and mean keys, tail drop, exact retrieval against brute force (ties included),
// the spec's FIFO eviction numbers, slot contents after shifts, argument errors and Reset.
#include "memory/memory_bank/memory_bank.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

namespace lm::membank {
namespace {

std::unique_ptr<MemoryBank> MakeBank(const MemoryBankConfig& c) {
  auto bank = MemoryBank::Create(c);
  EXPECT_TRUE(bank.ok()) << bank.status().ToString();
  return std::move(*bank);
}

// [N, Hkv, D] with small integers, so every score and mean is exact in f32 and ties are common.
std::vector<float> IntData(int64_t n, std::mt19937* rng, int lo = -3, int hi = 3) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(dist(*rng));
  return v;
}

std::vector<float> NormalData(int64_t n, std::mt19937* rng) {
  std::normal_distribution<float> dist;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(*rng);
  return v;
}

// Brute force in double: for each (t, h), chunk slots ranked by (score desc, slot asc), cut at k.
std::vector<int32_t> BruteForceChunks(const MemoryBank& bank, const std::vector<float>& q, int64_t T, int64_t H,
                                      int64_t k, std::vector<double>* scores_out = nullptr) {
  const int64_t D = bank.config().head_dim, r = H / bank.config().n_head_kv, n = bank.n_chunks();
  std::vector<int32_t> out;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < H; ++h) {
      const float* ck = bank.chunk_keys(h / r);
      std::vector<std::pair<double, int32_t>> s(static_cast<size_t>(n));
      for (int64_t c = 0; c < n; ++c) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += double(q[(t * H + h) * D + d]) * ck[c * D + d];
        s[c] = {dot, static_cast<int32_t>(c)};
      }
      std::sort(s.begin(), s.end(),
                [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
      for (int64_t j = 0; j < k; ++j) {
        out.push_back(s[j].second);
        if (scores_out) scores_out->push_back(s[j].first);
      }
    }
  }
  return out;
}

std::vector<int32_t> Retrieve(const MemoryBank& bank, const std::vector<float>& q, int64_t T, int64_t H,
                              int64_t n_chunks, int64_t* k_out) {
  std::vector<int32_t> slots;
  const Status s = bank.Retrieve(q.data(), T, H, n_chunks, &slots, k_out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return slots;
}

TEST(MemoryBank, ChunkingMeanKeysAndTailDrop) {
  const int64_t Hkv = 2, D = 3, csz = 4, N = 10;
  auto bank = MakeBank({.n_head_kv = Hkv, .head_dim = D, .chunk_size = csz, .capacity_tokens = 64});
  std::mt19937 rng(1);
  const auto k = NormalData(N * Hkv * D, &rng), v = NormalData(N * Hkv * D, &rng);
  auto written = bank->Add(k.data(), v.data(), N);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 8);  // 10 % 4 = 2 tail tokens dropped
  EXPECT_EQ(bank->n_chunks(), 2);
  EXPECT_EQ(bank->n_tokens(), 8);
  EXPECT_EQ(bank->tokens_written(), 8);
  EXPECT_EQ(bank->kv_stride(), 64 * D);
  for (int64_t g = 0; g < Hkv; ++g) {
    for (int64_t s = 0; s < 8; ++s)
      for (int64_t d = 0; d < D; ++d) {
        EXPECT_EQ(bank->keys()[g * bank->kv_stride() + s * D + d], k[(s * Hkv + g) * D + d]);
        EXPECT_EQ(bank->values()[g * bank->kv_stride() + s * D + d], v[(s * Hkv + g) * D + d]);
      }
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t d = 0; d < D; ++d) {
        float sum = 0;
        for (int64_t j = 0; j < csz; ++j) sum += k[((c * csz + j) * Hkv + g) * D + d];
        EXPECT_FLOAT_EQ(bank->chunk_keys(g)[c * D + d], sum / csz);
      }
  }
  // A batch shorter than a chunk writes nothing; the next batch starts a fresh chunk (no carry-over).
  written = bank->Add(k.data(), v.data(), 3);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 0);
  EXPECT_EQ(bank->n_chunks(), 2);
  ASSERT_TRUE(bank->Add(k.data(), v.data(), 4).ok());
  EXPECT_EQ(bank->keys()[8 * D], k[0]);
}

struct Shape {
  int64_t T, H, Hkv, D, csz, n_stored_chunks, n_chunks;
};

TEST(MemoryBank, RetrieveMatchesBruteForceWithTies) {
  const Shape shapes[] = {
      {5, 6, 2, 8, 4, 37, 5},        // GQA H = 6, Hkv = 2
      {1, 4, 4, 64, 2, 300, 16},     // MHA, decode
      {3, 2, 1, 16, 1, 10, 50},      // n_chunks larger than stored
      {64, 2, 1, 16, 1, 20000, 16},  // many column tiles
      {1, 2, 1, 16, 1, 20000, 16},   // few rows: key range split across threads
  };
  std::mt19937 rng(7);
  for (const Shape& s : shapes) {
    SCOPED_TRACE(testing::Message() << "T " << s.T << " H " << s.H << " Hkv " << s.Hkv << " D " << s.D << " csz "
                                    << s.csz << " chunks " << s.n_stored_chunks << " k " << s.n_chunks);
    auto bank = MakeBank(
        {.n_head_kv = s.Hkv, .head_dim = s.D, .chunk_size = s.csz, .capacity_tokens = s.n_stored_chunks * s.csz * 2});
    const int64_t N = s.n_stored_chunks * s.csz;
    const auto k = IntData(N * s.Hkv * s.D, &rng), v = IntData(N * s.Hkv * s.D, &rng);
    ASSERT_TRUE(bank->Add(k.data(), v.data(), N).ok());
    const auto q = IntData(s.T * s.H * s.D, &rng, -2, 2);
    int64_t k_out = -1;
    const auto slots = Retrieve(*bank, q, s.T, s.H, s.n_chunks, &k_out);
    const int64_t kk = std::min(s.n_chunks, s.n_stored_chunks);
    ASSERT_EQ(k_out, kk);
    ASSERT_EQ(static_cast<int64_t>(slots.size()), s.T * s.H * kk * s.csz);
    const auto ref = BruteForceChunks(*bank, q, s.T, s.H, kk);
    for (int64_t i = 0; i < s.T * s.H * kk; ++i)
      for (int64_t e = 0; e < s.csz; ++e) ASSERT_EQ(slots[i * s.csz + e], ref[i] * s.csz + e) << "entry " << i;
  }
}

TEST(MemoryBank, RetrieveRealValuedScoresMatch) {
  std::mt19937 rng(3);
  const int64_t T = 7, H = 6, Hkv = 3, D = 32, csz = 4, n_stored = 500, kc = 16;
  auto bank = MakeBank({.n_head_kv = Hkv, .head_dim = D, .chunk_size = csz, .capacity_tokens = 4096});
  const auto k = NormalData(n_stored * csz * Hkv * D, &rng), v = NormalData(n_stored * csz * Hkv * D, &rng);
  ASSERT_TRUE(bank->Add(k.data(), v.data(), n_stored * csz).ok());
  const auto q = NormalData(T * H * D, &rng);
  int64_t k_out = 0;
  const auto slots = Retrieve(*bank, q, T, H, kc, &k_out);
  std::vector<double> ref_scores;
  BruteForceChunks(*bank, q, T, H, kc, &ref_scores);
  // The search kernel's f32 sums may round differently from the double reference, so compare scores rank by
  // rank, not slots.
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < kc; ++j) {
        const int64_t i = (t * H + h) * kc + j, c = slots[i * csz] / csz;
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += double(q[(t * H + h) * D + d]) * bank->chunk_keys(h / 2)[c * D + d];
        EXPECT_NEAR(dot, ref_scores[i], 1e-4);
      }
}

// Occupancy in chunks after each add of `add` chunks into a bank of `cap` chunks.
std::vector<int64_t> Occupancy(EvictionRule rule, int64_t cap, int64_t add, int n_adds) {
  const int64_t csz = 2;
  auto bank =
      MakeBank({.n_head_kv = 1, .head_dim = 1, .chunk_size = csz, .capacity_tokens = cap * csz, .eviction = rule});
  std::vector<float> kv(static_cast<size_t>(add * csz), 1.0f);
  std::vector<int64_t> occ;
  for (int i = 0; i < n_adds; ++i) {
    EXPECT_TRUE(bank->Add(kv.data(), kv.data(), add * csz).ok());
    occ.push_back(bank->n_chunks());
  }
  return occ;
}

TEST(MemoryBank, SpecEvictionNumbers) {
  // Before adding n: if stored + n >= capacity, drop 2n. 64 chunks, adds of 16: 48 + 16 >= 64 drops 32.
  EXPECT_EQ(Occupancy(EvictionRule::kSpec, 64, 16, 7), (std::vector<int64_t>{16, 32, 48, 32, 48, 32, 48}));
  // kExact fills the bank and then drops just enough.
  EXPECT_EQ(Occupancy(EvictionRule::kExact, 64, 16, 6), (std::vector<int64_t>{16, 32, 48, 64, 64, 64}));
  // Spec §5 with the training settings: 16384 chunks, 2048 per step oscillates between 12288 and 14336.
  const auto train = Occupancy(EvictionRule::kSpec, 16384, 2048, 12);
  EXPECT_EQ(train[6], 14336);
  EXPECT_EQ(train[7], 12288);
  EXPECT_EQ(*std::min_element(train.begin() + 7, train.end()), 12288);
  EXPECT_EQ(*std::max_element(train.begin() + 6, train.end()), 14336);
  // An add of more than half the capacity drops everything stored (the official code would go negative).
  EXPECT_EQ(Occupancy(EvictionRule::kSpec, 64, 40, 3), (std::vector<int64_t>{40, 40, 40}));
  EXPECT_EQ(Occupancy(EvictionRule::kSpec, 64, 64, 2), (std::vector<int64_t>{64, 64}));
}

// Token keys and values encode (absolute token index, head, dim), so any slot can be checked after shifts.
float Code(int64_t tok, int64_t g, int64_t d, bool value) {
  return float(tok * 100 + g * 10 + d) + (value ? 0.5f : 0.0f);
}

TEST(MemoryBank, SlotsHoldWrittenDataAfterEvictionShifts) {
  for (EvictionRule rule : {EvictionRule::kSpec, EvictionRule::kExact}) {
    SCOPED_TRACE(EvictionRuleName(rule));
    const int64_t Hkv = 2, D = 3, csz = 2, cap_chunks = 20;
    auto bank = MakeBank(
        {.n_head_kv = Hkv, .head_dim = D, .chunk_size = csz, .capacity_tokens = cap_chunks * csz, .eviction = rule});
    int64_t next_tok = 0;
    for (int64_t n : {7, 12, 9, 14, 5, 11, 16, 3, 10}) {  // tokens per add; odd ones lose their tail
      std::vector<float> k(n * Hkv * D), v(n * Hkv * D);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t g = 0; g < Hkv; ++g)
          for (int64_t d = 0; d < D; ++d) {
            k[(t * Hkv + g) * D + d] = Code(next_tok + t, g, d, false);
            v[(t * Hkv + g) * D + d] = Code(next_tok + t, g, d, true);
          }
      auto written = bank->Add(k.data(), v.data(), n);
      ASSERT_TRUE(written.ok());
      next_tok += *written;  // a dropped tail is never stored, so the code skips nothing stored
      ASSERT_LE(bank->n_chunks(), cap_chunks);
      // Slot s holds the (tokens_written - n_tokens + s)-th stored token, oldest first.
      const int64_t first = bank->tokens_written() - bank->n_tokens();
      for (int64_t g = 0; g < Hkv; ++g)
        for (int64_t s = 0; s < bank->n_tokens(); ++s)
          for (int64_t d = 0; d < D; ++d) {
            ASSERT_EQ(bank->keys()[g * bank->kv_stride() + s * D + d], Code(first + s, g, d, false));
            ASSERT_EQ(bank->values()[g * bank->kv_stride() + s * D + d], Code(first + s, g, d, true));
          }
      // The newest chunk is retrievable right after the Add: a query along its key wins by a margin.
      const int64_t newest = bank->n_chunks() - 1;
      std::vector<float> q(2 * D);  // H = Hkv = 2
      for (int64_t g = 0; g < Hkv; ++g)
        for (int64_t d = 0; d < D; ++d) q[g * D + d] = bank->chunk_keys(g)[newest * D + d];
      int64_t k_out = 0;
      const auto slots = Retrieve(*bank, q, 1, Hkv, 1, &k_out);
      ASSERT_EQ(k_out, 1);
      EXPECT_EQ(slots[0], newest * csz);
      EXPECT_EQ(slots[csz], newest * csz);
      // The search kernel's packed copy of the chunk keys follows every shift: full ranking = brute force.
      std::mt19937 rng(static_cast<uint32_t>(next_tok));
      const auto qr = IntData(3 * Hkv * D, &rng);
      const int64_t kk = std::min<int64_t>(5, bank->n_chunks());
      const auto got = Retrieve(*bank, qr, 3, Hkv, kk, &k_out);
      const auto ref = BruteForceChunks(*bank, qr, 3, Hkv, kk);
      for (int64_t i = 0; i < 3 * Hkv * kk; ++i) ASSERT_EQ(got[i * csz], ref[i] * csz) << "entry " << i;
    }
    EXPECT_EQ(bank->tokens_written(), next_tok);
    EXPECT_GT(bank->chunks_evicted(), 0);
  }
}

TEST(MemoryBank, EmptyBankAndReset) {
  auto bank = MakeBank({.n_head_kv = 1, .head_dim = 4, .chunk_size = 2, .capacity_tokens = 16});
  std::vector<float> q(4, 1.0f);
  int64_t k_out = -1;
  auto slots = Retrieve(*bank, q, 1, 1, 16, &k_out);
  EXPECT_EQ(k_out, 0);
  EXPECT_TRUE(slots.empty());
  std::vector<float> kv(6 * 4, 1.0f);
  ASSERT_TRUE(bank->Add(kv.data(), kv.data(), 6).ok());
  slots = Retrieve(*bank, q, 1, 1, 16, &k_out);
  EXPECT_EQ(k_out, 3);
  EXPECT_EQ(slots, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));  // all tie: slot order
  bank->Reset();
  EXPECT_EQ(bank->n_chunks(), 0);
  EXPECT_EQ(bank->tokens_written(), 6);  // lifetime counter
  slots = Retrieve(*bank, q, 1, 1, 16, &k_out);
  EXPECT_EQ(k_out, 0);
  ASSERT_TRUE(bank->Add(kv.data(), kv.data(), 2).ok());
  EXPECT_EQ(bank->n_chunks(), 1);
  // (K + V + chunk keys + packed chunk keys, padded to 32) x D x f32
  EXPECT_EQ(bank->bytes(), (2 * 16 + 8 + 32) * 4 * 4u);
  EXPECT_EQ(bank->stored_bytes(), (2 * 2 + 1) * 4 * 4u);  // what is held: 2 tokens' K and V, 1 chunk key
}

TEST(MemoryBank, ErrorsSayWhatAndHint) {
  auto bad = MemoryBank::Create({.n_head_kv = 2, .head_dim = 64, .chunk_size = 4, .capacity_tokens = 10});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("capacity_tokens = 10"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("hint"), std::string::npos);
  EXPECT_FALSE(MemoryBank::Create({.n_head_kv = 0, .head_dim = 64}).ok());
  EXPECT_FALSE(MemoryBank::Create({.n_head_kv = 1, .head_dim = 8, .chunk_size = 0}).ok());

  auto bank = MakeBank({.n_head_kv = 2, .head_dim = 4, .chunk_size = 2, .capacity_tokens = 8});
  std::vector<float> kv(10 * 2 * 4, 1.0f);
  auto too_many = bank->Add(kv.data(), kv.data(), 10);  // 5 chunks > capacity 4
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("5 chunks"), std::string::npos) << too_many.status().message();
  EXPECT_FALSE(bank->Add(kv.data(), kv.data(), -1).ok());
  ASSERT_TRUE(bank->Add(kv.data(), kv.data(), 8).ok());
  std::vector<int32_t> slots;
  int64_t k_out = 0;
  std::vector<float> q(3 * 4, 1.0f);
  Status s = bank->Retrieve(q.data(), 1, 3, 2, &slots, &k_out);  // H = 3 with Hkv = 2
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("H = 3"), std::string::npos) << s.message();
  EXPECT_FALSE(bank->Retrieve(q.data(), 1, 2, 0, &slots, &k_out).ok());  // n_chunks = 0
}

}  // namespace
}  // namespace lm::membank
