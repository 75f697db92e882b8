// Perplexity against the Hugging Face reference computed llama.cpp-style on the same tokens (KJV Genesis):
// per-window NLL sums of the first windows at ctx 512 (the full 16-window ctx-2048 comparison is a
// benchmark recorded in docs/RESULTS.md).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "eval/perplexity.h"
#include "ops/matmul.h"
#include "runtime/loader.h"
#include "test_util.h"

namespace lm {
namespace {

// Exact mode (f32 activations, f32 KV): the reference is transformers in f32. The fast path's effect on
// perplexity is a benchmark in docs/RESULTS.md.
TEST(PerplexityGolden, FirstWindowsAtCtx512MatchHf) {
  ops::SetMatMulMode(ops::MatMulMode::kExact);
  const auto golden = test::LoadJson(test::DataPath("goldens/ppl_kjv_ctx512.json"));
  std::ifstream in(test::DataPath("goldens/ppl_kjv_genesis.txt"), std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  auto loaded = LoadModelAndTokenizer(test::DefaultModelPath());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString() << "\nhint: run scripts/setup.sh";
  const auto ids = loaded->tokenizer->Encode(ss.str(), {.add_bos = true, .parse_special = false});
  ASSERT_EQ(static_cast<int64_t>(ids.size()), golden["tokenization"]["n_tokens"].get<int64_t>());
  constexpr int kWindows = 4;
  auto r = Perplexity(loaded->model, ids, {.n_ctx = golden["n_ctx"].get<int64_t>(), .max_windows = kWindows,
                                                  .kv_type = KvCacheType::kF32});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (int w = 0; w < kWindows; ++w) {
    const auto& gw = golden["windows"][static_cast<size_t>(w)];
    ASSERT_EQ(gw["first_token_id"].get<int32_t>(), ids[static_cast<size_t>(w * 512)]);
    const double want = gw["nll_sum"].get<double>();
    // Summed NLL over 255 tokens; 1e-4 relative is ~0.03 nats in total, far below any real error.
    EXPECT_NEAR(r->window_nll[static_cast<size_t>(w)], want, 1e-4 * want) << "window " << w;
  }
  EXPECT_EQ(r->n_scored, kWindows * golden["tokens_scored_per_window"].get<int64_t>());
}

// The KV cache type's effect on perplexity (issue 3): the same 4 windows with f16 and q8_0 caches, against
// the HF golden (f32). Measured shifts of the summed NLL: f16 +0.0011%, q8_0 +0.064% (printed below); the
// bounds are 0.01% and 0.2%. A cache bug shifts it by whole percents.
TEST(PerplexityGolden, KvCacheTypeEffect) {
  ops::SetMatMulMode(ops::MatMulMode::kExact);
  const auto golden = test::LoadJson(test::DataPath("goldens/ppl_kjv_ctx512.json"));
  std::ifstream in(test::DataPath("goldens/ppl_kjv_genesis.txt"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto loaded = LoadModelAndTokenizer(test::DefaultModelPath());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString() << "\nhint: run scripts/setup.sh";
  const auto ids = loaded->tokenizer->Encode(ss.str(), {.add_bos = true, .parse_special = false});
  constexpr int kWindows = 4;
  double want = 0;
  for (int w = 0; w < kWindows; ++w) want += golden["windows"][static_cast<size_t>(w)]["nll_sum"].get<double>();
  for (auto [type, bound] : {std::pair{KvCacheType::kF16, 1e-4}, std::pair{KvCacheType::kQ8_0, 2e-3}}) {
    auto r = Perplexity(loaded->model, ids, {.n_ctx = 512, .max_windows = kWindows, .kv_type = type});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    double got = 0;
    for (int w = 0; w < kWindows; ++w) got += r->window_nll[static_cast<size_t>(w)];
    const double rel = (got - want) / want;
    std::printf("[%s KV] summed NLL %.4f vs HF %.4f: %+.4f%%, PPL %.4f\n", std::string(KvCacheTypeName(type)).c_str(),
                got, want, 100 * rel, r->ppl);
    EXPECT_LE(std::fabs(rel), bound) << KvCacheTypeName(type);
  }
}

}  // namespace
}  // namespace lm
