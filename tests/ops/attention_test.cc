// Flash-style attention against the plain reference: GQA, position masks, out-of-order keys, no visible key.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "ops/attention.h"

namespace lm::ops {
namespace {

struct Case {
  int64_t n_q, n_kv, n_head, n_head_kv, head_dim;
  bool causal;
};

void RunCase(const Case& c, uint32_t seed, bool shuffle_keys) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  auto fill = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
  };
  const auto q = fill(c.n_q * c.n_head * c.head_dim);
  const auto k = fill(c.n_kv * c.n_head_kv * c.head_dim);
  const auto v = fill(c.n_kv * c.n_head_kv * c.head_dim);
  std::vector<int32_t> k_pos(static_cast<size_t>(c.n_kv)), q_pos(static_cast<size_t>(c.n_q));
  for (int64_t j = 0; j < c.n_kv; ++j) k_pos[static_cast<size_t>(j)] = static_cast<int32_t>(j);
  if (shuffle_keys) std::shuffle(k_pos.begin(), k_pos.end(), rng);
  for (int64_t i = 0; i < c.n_q; ++i) q_pos[static_cast<size_t>(i)] = static_cast<int32_t>(c.n_kv - c.n_q + i);
  std::vector<float> out(q.size()), ref(q.size());
  AttentionArgs a{.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = q_pos.data(), .k_pos = k_pos.data(),
                  .out = out.data(), .n_q = c.n_q, .n_kv = c.n_kv, .n_head = c.n_head, .n_head_kv = c.n_head_kv,
                  .head_dim = c.head_dim, .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim)),
                  .causal = c.causal};
  Attention(a);
  a.out = ref.data();
  reference::Attention(a);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-5) << "index " << i;
}

TEST(Attention, MatchesReference) {
  RunCase({1, 1, 1, 1, 8, true}, 1, false);
  RunCase({7, 7, 9, 3, 64, true}, 2, false);      // prefill, GQA 3:1
  RunCase({1, 300, 9, 3, 64, true}, 3, false);    // decode over several key blocks
  RunCase({5, 130, 4, 4, 16, true}, 4, true);     // keys stored out of position order
  RunCase({3, 70, 6, 2, 32, false}, 5, false);    // no mask (memory attention)
}

TEST(Attention, QueryWithNoVisibleKeyOutputsZero) {
  const std::vector<float> q(8, 1.0f), k(8, 1.0f), v(8, 3.0f);
  const int32_t q_pos = 0, k_pos = 5;
  std::vector<float> out(8, 7.0f);
  AttentionArgs a{.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = &q_pos, .k_pos = &k_pos, .out = out.data(),
                  .n_q = 1, .n_kv = 1, .n_head = 1, .n_head_kv = 1, .head_dim = 8, .scale = 1.0f};
  Attention(a);
  for (float x : out) EXPECT_EQ(x, 0.0f);
}

TEST(Attention, LargeScoresStayFinite) {
  std::vector<float> q(16, 30.0f), k(3 * 16, 30.0f), v(3 * 16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 16);
  const int32_t q_pos = 2, k_pos[3] = {0, 1, 2};
  std::vector<float> out(16);
  AttentionArgs a{.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = &q_pos, .k_pos = k_pos, .out = out.data(),
                  .n_q = 1, .n_kv = 3, .n_head = 1, .n_head_kv = 1, .head_dim = 16, .scale = 1.0f};
  Attention(a);
  for (int d = 0; d < 16; ++d) EXPECT_NEAR(out[d], d, 1e-4);
}

}  // namespace
}  // namespace lm::ops
