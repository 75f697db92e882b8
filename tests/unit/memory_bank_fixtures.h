// Shared by the approximate-index tests (faiss, ivf-int8): clustered synthetic keys and queries, and recall of
// an approximate bank against an exact twin fed the same chunks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "memory/memory_bank/memory_bank.h"

namespace lm::membank::fixtures {

// Token keys around a few cluster centres, one cluster per chunk's tokens (text stays on a topic for a while);
// queries aim at a centre. Values are irrelevant here.
class Clustered {
 public:
  // common > 0 adds one shared vector, `common` times the centres' scale, to every key, as real attention
  // keys carry (their mean key is nearly as long as a key) and queries do not.
  Clustered(int64_t Hkv, int64_t D, int n_clusters, uint32_t seed, float common = 0.0f)
      : Hkv_(Hkv), D_(D), rng_(seed) {
    std::normal_distribution<float> n;
    centres_.resize(static_cast<size_t>(n_clusters * Hkv * D));
    for (float& x : centres_) x = 2.0f * n(rng_);
    shared_.resize(static_cast<size_t>(Hkv * D));
    for (float& x : shared_) x = 2.0f * common * n(rng_);
  }
  // [N, Hkv, D]
  std::vector<float> Tokens(int64_t N, int64_t csz) {
    std::normal_distribution<float> n;
    std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(centres_.size() / (Hkv_ * D_)) - 1);
    std::vector<float> k(static_cast<size_t>(N * Hkv_ * D_));
    for (int64_t t = 0; t < N; t += csz) {
      const int64_t c = pick(rng_);
      for (int64_t j = t; j < std::min(N, t + csz); ++j)
        for (int64_t i = 0; i < Hkv_ * D_; ++i)
          k[j * Hkv_ * D_ + i] = centres_[c * Hkv_ * D_ + i] + shared_[i] + n(rng_);
    }
    return k;
  }
  // [T, H, D]: query head h aims at a centre of kv head h / (H / Hkv), without the keys' shared part.
  std::vector<float> Queries(int64_t T, int64_t H) {
    std::normal_distribution<float> n;
    std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(centres_.size() / (Hkv_ * D_)) - 1);
    std::vector<float> q(static_cast<size_t>(T * H * D_));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t c = pick(rng_), g = h / (H / Hkv_);
        for (int64_t d = 0; d < D_; ++d) q[(t * H + h) * D_ + d] = centres_[(c * Hkv_ + g) * D_ + d] + 0.5f * n(rng_);
      }
    return q;
  }

 private:
  int64_t Hkv_, D_;
  std::mt19937 rng_;
  std::vector<float> centres_, shared_;  // shared_: [Hkv, D], in every key, not in the queries
};

// Mean over rows of |approx ∩ exact| / k; also checks every approximate slot is a stored chunk's first token.
inline double Recall(const MemoryBank& approx, const MemoryBank& exact, const std::vector<float>& q, int64_t T, int64_t H,
              int64_t n_chunks) {
  std::vector<int32_t> a, e;
  int64_t ka = 0, ke = 0;
  EXPECT_TRUE(approx.Retrieve(q.data(), T, H, n_chunks, &a, &ka).ok());
  EXPECT_TRUE(exact.Retrieve(q.data(), T, H, n_chunks, &e, &ke).ok());
  EXPECT_EQ(ka, ke);
  const int64_t csz = exact.config().chunk_size, per_row = ka * csz;
  double hits = 0;
  for (int64_t row = 0; row < T * H; ++row) {
    std::set<int32_t> want(e.begin() + row * per_row, e.begin() + (row + 1) * per_row), got;
    for (int64_t j = 0; j < per_row; ++j) {
      const int32_t s = a[row * per_row + j];
      EXPECT_TRUE(s >= 0 && s < approx.n_tokens()) << s;
      if (j % csz == 0) {
        EXPECT_EQ(s % csz, 0);
      }
      got.insert(s);
    }
    EXPECT_EQ(static_cast<int64_t>(got.size()), per_row) << "duplicate slots in row " << row;
    for (int32_t s : got) hits += want.count(s);
  }
  return ka == 0 ? 1.0 : hits / static_cast<double>(T * H * per_row);
}

struct Pair {
  std::unique_ptr<MemoryBank> approx, exact;
  void Add(const std::vector<float>& k, int64_t N) {
    ASSERT_TRUE(approx->Add(k.data(), k.data(), N).ok());
    ASSERT_TRUE(exact->Add(k.data(), k.data(), N).ok());
    ASSERT_EQ(approx->n_chunks(), exact->n_chunks());
  }
};

inline Pair MakePair(MemoryBankConfig c) {
  Pair p;
  auto a = MemoryBank::Create(c);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  c.index = IndexKind::kExact;
  auto e = MemoryBank::Create(c);
  EXPECT_TRUE(e.ok());
  p.approx = std::move(*a);
  p.exact = std::move(*e);
  return p;
}

// A bank of 2048 chunks (IVF auto: 181 lists, 22 probed, trains at 1024 chunks) fed 16 batches of 300 chunks
// under the spec's eviction, checked against its exact twin after each: exact answers while an IVF is
// untrained (only IVF kinds have that phase), recall@8 never below min_recall, the index (not the exact
// fallback) answering almost every row, and its bytes counted.
inline void ExpectRecallThroughEviction(IndexKind kind, double min_recall) {
  SCOPED_TRACE(IndexKindName(kind));
  const int64_t Hkv = 2, H = 4, D = 32, csz = 2, T = 16, kc = 8;
  Pair p = MakePair({.n_head_kv = Hkv,
                     .head_dim = D,
                     .chunk_size = csz,
                     .capacity_tokens = 4096,
                     .eviction = EvictionRule::kSpec,
                     .index = kind});
  Clustered data(Hkv, D, 24, 11);
  double worst = 1.0;
  bool saw_exact_phase = false;
  for (int step = 0; step < 16; ++step) {
    p.Add(data.Tokens(2 * 300 + 1, csz), 2 * 300 + 1);  // 300 chunks and a dropped tail token
    const auto q = data.Queries(T, H);
    const double recall = Recall(*p.approx, *p.exact, q, T, H, kc);
    if (!p.approx->index_ready()) {
      saw_exact_phase = true;
      EXPECT_EQ(recall, 1.0) << "an untrained IVF must search exactly";
    }
    worst = std::min(worst, recall);
  }
  EXPECT_EQ(saw_exact_phase, kind != IndexKind::kFaissHnsw);
  EXPECT_TRUE(p.approx->index_ready());
  EXPECT_GT(p.approx->chunks_evicted(), 2000);
  EXPECT_GE(worst, min_recall) << "recall@" << kc << " fell to " << worst;
  EXPECT_LT(p.approx->exact_fallback_rows(), 16 * T * H / 10) << "fallback rows " << p.approx->exact_fallback_rows();
  EXPECT_GT(p.approx->bytes(), p.exact->bytes());
}

}  // namespace lm::membank::fixtures
