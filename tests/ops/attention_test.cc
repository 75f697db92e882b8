// Flash-style attention against the plain reference: f32, f16 and q8_0 K/V, decode and prefill shapes, GQA 1/3/4,
// position masks (out-of-order and repeated key positions), queries that see no key, very large scores.
#include "hwy_test_util.h"  // first: the project's Highway target set

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/half.h"
#include "core/quant.h"
#include "ops/attention.h"

namespace lm::ops {
namespace {

struct Case {
  int64_t n_q, n_kv, n_head, n_head_kv, head_dim;
  bool causal = true;
  bool shuffle_keys = false;   // key positions stored out of order
  bool repeat_keys = false;    // several keys share a position
  int32_t q_shift = 0;         // subtract from query positions (negative enough: some queries see no key)
};

struct Data {
  std::vector<float> q, k, v;
  std::vector<uint16_t> k16, v16;
  std::vector<BlockQ8_0> k8, v8;  // empty when head_dim is not a multiple of 32
  std::vector<int32_t> q_pos, k_pos;
};

Data MakeData(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto fill = [&](int64_t n) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& e : x) e = nd(rng);
    return x;
  };
  Data d;
  d.q = fill(c.n_q * c.n_head * c.head_dim);
  d.k = fill(c.n_kv * c.n_head_kv * c.head_dim);
  d.v = fill(c.n_kv * c.n_head_kv * c.head_dim);
  d.k16.resize(d.k.size());
  d.v16.resize(d.v.size());
  ConvertF32ToF16(d.k.data(), d.k16.data(), static_cast<int64_t>(d.k.size()));
  ConvertF32ToF16(d.v.data(), d.v16.data(), static_cast<int64_t>(d.v.size()));
  if (c.head_dim % 32 == 0) {
    d.k8.resize(d.k.size() / 32);
    d.v8.resize(d.v.size() / 32);
    StoreKv(KvDType::kQ8_0, d.k.data(), d.k8.data(), static_cast<int64_t>(d.k.size()));
    StoreKv(KvDType::kQ8_0, d.v.data(), d.v8.data(), static_cast<int64_t>(d.v.size()));
  }
  d.k_pos.resize(static_cast<size_t>(c.n_kv));
  d.q_pos.resize(static_cast<size_t>(c.n_q));
  for (int64_t j = 0; j < c.n_kv; ++j) d.k_pos[static_cast<size_t>(j)] = static_cast<int32_t>(c.repeat_keys ? j / 3 : j);
  if (c.shuffle_keys) std::shuffle(d.k_pos.begin(), d.k_pos.end(), rng);
  const int32_t last = c.repeat_keys ? static_cast<int32_t>((c.n_kv - 1) / 3) : static_cast<int32_t>(c.n_kv - 1);
  for (int64_t i = 0; i < c.n_q; ++i)
    d.q_pos[static_cast<size_t>(i)] = last - static_cast<int32_t>(c.n_q - 1 - i) - c.q_shift;
  return d;
}

AttentionArgs Args(const Case& c, const Data& d, KvDType t, float* out) {
  const void* k = t == KvDType::kF16 ? static_cast<const void*>(d.k16.data())
                  : t == KvDType::kQ8_0 ? static_cast<const void*>(d.k8.data()) : d.k.data();
  const void* v = t == KvDType::kF16 ? static_cast<const void*>(d.v16.data())
                  : t == KvDType::kQ8_0 ? static_cast<const void*>(d.v8.data()) : d.v.data();
  return AttentionArgs{.q = d.q.data(), .k = k, .v = v, .kv_dtype = t,
                       .q_pos = d.q_pos.data(), .k_pos = d.k_pos.data(), .out = out, .n_q = c.n_q, .n_kv = c.n_kv,
                       .n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim = c.head_dim,
                       .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim)), .causal = c.causal};
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Tolerances, for unit-normal q/k/v and scale 1/sqrt(D):
// - kernel vs reference on the same K/V: only f32 accumulation order differs from the double reference;
// - f16 K/V vs f32 reference: f16 keeps 11 significant bits, so each stored element moves by at most
//   2^-11 relative (4.9e-4). That shifts scores by ~4.9e-4 * sum_d |q_d k_d| * scale (~4e-4 here) and V by
//   <= 4.9e-4 * |v| (|v| < 5): outputs, convex combinations of V, move by ~1e-3 at most; 4e-3 leaves margin
//   without hiding real bugs (a wrong mask or a dropped block moves outputs by O(0.1-1)).
constexpr float kTolSame = 2e-5f;
constexpr float kTolF16VsF32 = 4e-3f;
// - q8_0 K/V vs f32 reference: each element moves by at most half a step, amax/254 of its block of 32
//   (amax ~ 2.5 for unit normals: <= 1e-2 absolute, ~20x f16's 2^-11 relative). Measured up to 1.6e-2 on these
//   cases; 6e-2 is the bound (a wrong block or scale moves outputs by O(0.1-1)).
constexpr float kTolQ8VsF32 = 6e-2f;

void RunCase(const Case& c, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "n_q " << c.n_q << " n_kv " << c.n_kv << " H " << c.n_head << " Hkv "
                                  << c.n_head_kv << " D " << c.head_dim << " causal " << c.causal << " seed " << seed);
  const Data d = MakeData(c, seed);
  const size_t n = d.q.size();
  std::vector<float> ref32(n), ref16(n), out32(n, 7.0f), out16(n, 7.0f);
  // The optional log-sum-exp output, checked on the f32 path (-inf where a query sees no key).
  std::vector<float> lse_ref(static_cast<size_t>(c.n_q * c.n_head)), lse(lse_ref.size(), 7.0f);
  AttentionArgs ra = Args(c, d, KvDType::kF32, ref32.data()), ka = Args(c, d, KvDType::kF32, out32.data());
  ra.lse = lse_ref.data();
  ka.lse = lse.data();
  reference::Attention(ra);
  reference::Attention(Args(c, d, KvDType::kF16, ref16.data()));
  Attention(ka);
  for (size_t i = 0; i < lse.size(); ++i) {
    if (std::isinf(lse_ref[i])) {
      EXPECT_TRUE(std::isinf(lse[i]) && lse[i] < 0) << "row " << i;
    } else {
      EXPECT_NEAR(lse[i], lse_ref[i], 1e-5f * std::max(1.0f, std::fabs(lse_ref[i]))) << "row " << i;
    }
  }
  Attention(Args(c, d, KvDType::kF16, out16.data()));
  EXPECT_LE(MaxAbsDiff(out32, ref32), kTolSame);
  EXPECT_LE(MaxAbsDiff(out16, ref16), kTolSame);
  EXPECT_LE(MaxAbsDiff(out16, ref32), kTolF16VsF32);
  testing::Test::RecordProperty("f16_vs_f32_seed" + std::to_string(seed), std::to_string(MaxAbsDiff(out16, ref32)));
  if (!d.k8.empty()) {
    std::vector<float> ref8(n), out8(n, 7.0f);
    reference::Attention(Args(c, d, KvDType::kQ8_0, ref8.data()));
    Attention(Args(c, d, KvDType::kQ8_0, out8.data()));
    EXPECT_LE(MaxAbsDiff(out8, ref8), kTolSame);
    EXPECT_LE(MaxAbsDiff(out8, ref32), kTolQ8VsF32);
    EXPECT_GT(MaxAbsDiff(out8, ref32), MaxAbsDiff(out16, ref32));  // the q8_0 data really was used
    std::printf("q8_0 vs f32: %.3g (f16 %.3g)\n", MaxAbsDiff(out8, ref32), MaxAbsDiff(out16, ref32));
  }
  testing::Test::RecordProperty("same_kv_seed" + std::to_string(seed),
                                std::to_string(std::max(MaxAbsDiff(out16, ref16), MaxAbsDiff(out32, ref32))));
}

TEST(Attention, DecodeShapes) {
  RunCase({1, 1, 1, 1, 8}, 1);              // scalar path (head_dim without a SIMD kernel)
  RunCase({1, 300, 9, 3, 64}, 2);           // decode over several key blocks, GQA 3
  RunCase({1, 4097, 9, 3, 64}, 3);          // keys split across threads, n_kv not a multiple of the block
  RunCase({2, 1000, 8, 2, 128}, 4);         // two queries, GQA 4
  RunCase({1, 777, 4, 4, 32}, 5);           // GQA 1
  RunCase({3, 70, 6, 2, 32, false}, 6);     // no mask (memory attention)
  RunCase({1, 2000, 9, 3, 64, true, true, true}, 7);  // shuffled, repeated key positions
  RunCase({2, 301, 9, 3, 64, true, false, false, 100}, 8);  // the last 100 keys hidden: masked and skipped blocks
  RunCase({5, 130, 9, 3, 64}, 9);           // 15 rows (5 passes of a GQA group), causal inside the last block
}

// The decode kernel per SIMD target: head_dim 64 takes the wide path on AVX2 and the fallback but the
// register-blocked one on AVX-512, and 128 the wide path everywhere; the host runs only its best target otherwise.
TEST(Attention, DecodeOnEveryTarget) {
  test::ForEachHwyTarget([] {
    RunCase({1, 300, 9, 3, 64}, 21);
    RunCase({2, 301, 9, 3, 64, true, false, false, 100}, 22);
    RunCase({2, 1000, 8, 2, 128}, 23);
  });
}

TEST(Attention, PrefillShapes) {
  RunCase({7, 7, 9, 3, 64}, 11);              // short prompt: decode kernel rows (21 > 16: prefill tile)
  RunCase({100, 100, 9, 3, 64}, 12);          // several tiles, causal block skipping
  RunCase({64, 600, 9, 3, 64}, 13);           // prompt after a cache
  RunCase({50, 130, 4, 4, 16, true, true}, 14);  // scalar path, keys out of order
  RunCase({70, 333, 8, 2, 128, true, true, true}, 15);  // GQA 4, shuffled and repeated positions
  RunCase({45, 200, 4, 4, 32, false}, 16);    // GQA 1, no mask
  RunCase({33, 129, 9, 3, 64, true, false, false, 60}, 17);  // early queries see no key at all
}

TEST(Attention, QueryWithNoVisibleKeyOutputsZero) {
  for (int64_t D : {8, 64}) {
    for (int64_t n_q : {1, 40}) {
      const std::vector<float> q(static_cast<size_t>(n_q * D), 1.0f), k(static_cast<size_t>(D), 1.0f),
          v(static_cast<size_t>(D), 3.0f);
      const std::vector<int32_t> q_pos(static_cast<size_t>(n_q), 0);
      const int32_t k_pos = 5;
      std::vector<float> out(q.size(), 7.0f);
      Attention({.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = q_pos.data(), .k_pos = &k_pos,
                 .out = out.data(), .n_q = n_q, .n_kv = 1, .n_head = 1, .n_head_kv = 1, .head_dim = D, .scale = 1.0f});
      for (float x : out) EXPECT_EQ(x, 0.0f);
    }
  }
}

TEST(Attention, LargeScoresStayFinite) {
  for (int64_t D : {16, 64}) {
    for (KvDType t : {KvDType::kF32, KvDType::kF16}) {
      std::vector<float> q(static_cast<size_t>(D), 30.0f), k(static_cast<size_t>(3 * D), 30.0f), v(k.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % static_cast<size_t>(D));
      std::vector<uint16_t> k16(k.size()), v16(v.size());
      ConvertF32ToF16(k.data(), k16.data(), static_cast<int64_t>(k.size()));
      ConvertF32ToF16(v.data(), v16.data(), static_cast<int64_t>(v.size()));
      const bool f16 = t == KvDType::kF16;
      const int32_t q_pos = 2, k_pos[3] = {0, 1, 2};
      std::vector<float> out(static_cast<size_t>(D));
      // Scores of 900 * D: exp overflows unless the running max is subtracted first.
      Attention({.q = q.data(), .k = f16 ? static_cast<const void*>(k16.data()) : k.data(),
                 .v = f16 ? static_cast<const void*>(v16.data()) : v.data(), .kv_dtype = t, .q_pos = &q_pos,
                 .k_pos = k_pos, .out = out.data(), .n_q = 1, .n_kv = 3, .n_head = 1, .n_head_kv = 1,
                 .head_dim = D, .scale = 1.0f});
      for (int64_t d = 0; d < D; ++d) EXPECT_NEAR(out[static_cast<size_t>(d)], static_cast<float>(d), 1e-4);
    }
  }
}

// AttentionRuns: runs [k0, k0 + n) of a cache, each scored with its own copy of the queries. Checked two ways:
// (1) with identical copies, runs that partition the cache are plain attention over all of it (the merge of
// the runs' softmaxes is exact); (2) the kernels against the run-by-run reference with distinct copies, for
// every K/V type (which copy scores which run is what the decode kernel could get wrong).
void RunRunsCase(const Case& c, const std::vector<KeyRun>& runs, int64_t n_var, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "n_q " << c.n_q << " n_kv " << c.n_kv << " H " << c.n_head << " Hkv "
                                  << c.n_head_kv << " D " << c.head_dim << " runs " << runs.size() << " seed " << seed);
  Data d = MakeData(c, seed);
  const size_t rows = static_cast<size_t>(c.n_q * c.n_head * c.head_dim);
  // (1) identical copies over a partition of [0, n_kv).
  std::vector<float> same(rows * static_cast<size_t>(n_var));
  for (int64_t w = 0; w < n_var; ++w)
    std::copy(d.q.begin(), d.q.end(), same.begin() + static_cast<ptrdiff_t>(w * rows));
  std::vector<KeyRun> partition;
  for (int64_t j = 0, w = 0; j < c.n_kv; j += 37, ++w)
    partition.push_back({.k0 = j, .n = std::min<int64_t>(37, c.n_kv - j), .q_variant = w % n_var});
  std::vector<float> plain(rows), merged(rows, 7.0f), merged_ref(rows, 7.0f);
  reference::Attention(Args(c, d, KvDType::kF32, plain.data()));
  AttentionArgs a = Args(c, d, KvDType::kF32, merged.data());
  a.q = same.data();
  AttentionRuns(a, partition, n_var);
  EXPECT_LE(MaxAbsDiff(merged, plain), kTolSame);
  a.out = merged_ref.data();
  reference::AttentionRuns(a, partition, n_var);
  EXPECT_LE(MaxAbsDiff(merged_ref, plain), 1e-6f);
  // (2) distinct copies, the given runs, every K/V type, with the log-sum-exp.
  std::mt19937 rng(seed + 100);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> qv(rows * static_cast<size_t>(n_var));
  for (auto& x : qv) x = nd(rng);
  for (KvDType t : {KvDType::kF32, KvDType::kF16, KvDType::kQ8_0}) {
    if (t == KvDType::kQ8_0 && d.k8.empty()) continue;
    std::vector<float> ref(rows), out(rows, 7.0f), lse_ref(static_cast<size_t>(c.n_q * c.n_head)),
        lse(lse_ref.size(), 7.0f);
    AttentionArgs r = Args(c, d, t, ref.data()), k = Args(c, d, t, out.data());
    r.q = k.q = qv.data();
    r.lse = lse_ref.data();
    k.lse = lse.data();
    reference::AttentionRuns(r, runs, n_var);
    AttentionRuns(k, runs, n_var);
    EXPECT_LE(MaxAbsDiff(out, ref), kTolSame) << "kv type " << static_cast<int>(t);
    for (size_t i = 0; i < lse.size(); ++i)
      EXPECT_NEAR(lse[i], lse_ref[i], 1e-5f * std::max(1.0f, std::fabs(lse_ref[i])));
  }
}

TEST(AttentionRuns, MergedRunsMatchTheReference) {
  // Decode shapes: a global run, scattered spans (one of a single key), the local run with the query.
  const std::vector<KeyRun> spread = {{0, 32, 0}, {100, 32, 1}, {400, 1, 2}, {401 + 50, 64, 3}, {1500, 548, 4}};
  RunRunsCase({1, 2048, 9, 3, 64}, spread, 5, 21);
  RunRunsCase({2, 2048, 8, 2, 128}, spread, 5, 22);
  RunRunsCase({1, 2048, 4, 4, 32}, {{0, 2048, 0}}, 1, 23);             // one run: plain attention
  RunRunsCase({1, 300, 4, 2, 16}, {{0, 10, 1}, {200, 100, 0}}, 2, 24);  // head_dim without a SIMD kernel
  RunRunsCase({20, 600, 9, 3, 64}, {{0, 16, 0}, {64, 8, 1}, {500, 100, 2}}, 3, 25);  // prefill-sized: run by run
}

TEST(Attention, ConvertF32ToF16MatchesScalar) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 100.0f);
  std::vector<float> x(1003);
  for (auto& e : x) e = nd(rng);
  x[0] = 1e-6f;    // f16 subnormal
  x[1] = 70000.f;  // overflows to inf
  x[2] = -0.0f;
  std::vector<uint16_t> h(x.size());
  ConvertF32ToF16(x.data(), h.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(h[i], F32ToF16(x[i])) << "index " << i << " value " << x[i];
}

// Reading a cache back: every f16 bit pattern widens exactly as the scalar F16ToF32 (compared by bits; NaNs
// only as NaNs), and LoadKvRow inverts StoreKv for f32 and f16 (f16-representable values) and reads q8_0 blocks.
TEST(Attention, LoadKvRowInvertsStoreKv) {
  std::vector<uint16_t> all(65536 + 5);  // odd length: SIMD body and scalar tail
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> wide(all.size());
  ConvertF16ToF32(all.data(), wide.data(), static_cast<int64_t>(all.size()));
  for (size_t i = 0; i < all.size(); ++i) {
    const float ref = F16ToF32(all[i]);
    if (std::isnan(ref)) {  // the vector unit quiets signalling NaNs; a NaN stays a NaN
      ASSERT_TRUE(std::isnan(wide[i])) << "bits " << all[i];
      continue;
    }
    ASSERT_EQ(std::memcmp(&wide[i], &ref, sizeof(float)), 0) << "bits " << all[i];
  }
  std::mt19937 rng(4);
  std::normal_distribution<float> nd;
  std::vector<float> x(96), back(96);
  for (auto& e : x) e = F16ToF32(F32ToF16(nd(rng)));
  for (KvDType t : {KvDType::kF32, KvDType::kF16, KvDType::kQ8_0}) {
    std::vector<uint8_t> stored(static_cast<size_t>(KvBytes(t, 96)));
    StoreKv(t, x.data(), stored.data(), 96);
    LoadKvRow(t, stored.data(), back.data(), 96);
    for (int i = 0; i < 96; ++i) {
      if (t == KvDType::kQ8_0)
        EXPECT_EQ(back[static_cast<size_t>(i)], KvElement(stored.data(), t, i));
      else
        EXPECT_EQ(back[static_cast<size_t>(i)], x[static_cast<size_t>(i)]);
    }
  }
}

}  // namespace
}  // namespace lm::ops
