// The default model with the default f16 KV cache against the Hugging Face goldens (computed with f32 K/V):
// final-position logits within kF16LogitTolerance and the same greedy continuation. model_golden_test holds
// the f32 cache to 1e-3; this states how far rounding K/V to f16 moves the real model.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "ops/matmul.h"
#include "runtime/loader.h"
#include "runtime/session.h"
#include "test_util.h"

namespace lm {
namespace {

// f16 keeps 11 significant bits (relative rounding <= 4.9e-4) per cached element; through 30 layers the
// final logits (|logit| up to ~30) moved by 1.0e-2 / 7.1e-3 / 4.5e-3 (chat / plain / kjv_long, measured;
// f32 KV: < 1e-3), and the greedy continuations did not change.
// 3e-2 is the bound: real attention bugs move logits by > 1.
constexpr double kF16LogitTolerance = 3e-2;

std::vector<float> ReadF32(const nlohmann::json& ref, size_t n) {
  std::ifstream in(test::DataPath("goldens/" + ref["file"].get<std::string>()), std::ios::binary);
  EXPECT_TRUE(in.good());
  in.seekg(ref.value("offset_bytes", 0));
  std::vector<float> v(n);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  return v;
}

TEST(KvF16Golden, LogitsAndGreedyContinuations) {
  ops::SetMatMulMode(ops::MatMulMode::kExact);  // isolate the KV type's effect from the matmul mode
  const auto golden = test::LoadJson(test::DataPath("goldens/model_smollm2.json"));
  auto loaded = LoadModelAndTokenizer(test::DefaultModelPath());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString() << "\nhint: run scripts/setup.sh";
  const int64_t V = loaded->model->config().n_vocab;
  for (const auto& p : golden["prompts"]) {
    const auto ids = p["token_ids"].get<std::vector<int32_t>>();
    const auto want = ReadF32(p["final_logits"], static_cast<size_t>(V));
    auto session = NewDenseSession(loaded->model, static_cast<int64_t>(ids.size()) + 80, KvCacheType::kF16);
    ASSERT_TRUE(session->Prefill(ids).ok());
    double err = 0;
    for (int64_t i = 0; i < V; ++i)
      err = std::max(err, std::fabs(static_cast<double>(session->logits()[static_cast<size_t>(i)]) -
                                    want[static_cast<size_t>(i)]));
    std::printf("[%s, f16 KV] %zu tokens: max |logit error| = %.3g\n", p["name"].get<std::string>().c_str(),
                ids.size(), err);
    EXPECT_LE(err, kF16LogitTolerance) << p["name"];
    const auto greedy = p["greedy"]["ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> got;
    for (size_t i = 0; i < greedy.size(); ++i) {
      const auto logits = session->logits();
      got.push_back(static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      if (i + 1 < greedy.size()) {
        ASSERT_TRUE(session->Decode(got.back()).ok());
      }
    }
    EXPECT_EQ(got, greedy) << "greedy continuation of '" << p["name"] << "' with f16 KV differs";
  }
}

}  // namespace
}  // namespace lm
