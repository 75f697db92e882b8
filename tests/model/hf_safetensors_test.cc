// Tiny Hugging Face checkpoints (made by transformers, saved as safetensors) against transformers' logits:
// proves HF names, the half-split RoPE pairing, Qwen2 biases, tied heads and sharded sets load correctly.
#include <cmath>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "io/safetensors_reader.h"
#include "runtime/session.h"
#include "test_util.h"

namespace lm {
namespace {

void CheckTinyModel(const std::string& kind) {
  const auto golden = test::LoadJson(test::DataPath("goldens/hf_tiny.json"));
  const auto& g = golden["models"][kind];
  auto dir = OpenHfModelDir(test::DataPath("goldens/" + g["folder"].get<std::string>()));
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  auto model = LoadModelFromHf(*dir);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto tokens = golden["tokens"].get<std::vector<int32_t>>();
  const int64_t V = (*model)->config().n_vocab;
  std::vector<float> want(tokens.size() * static_cast<size_t>(V));
  std::ifstream in(test::DataPath("goldens/" + g["logits"]["file"].get<std::string>()), std::ios::binary);
  in.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * sizeof(float)));
  ASSERT_EQ(static_cast<size_t>(in.gcount()), want.size() * sizeof(float));

  auto session = NewDenseSession(*model, 32, KvCacheType::kF32);  // HF reference is f32
  double err = 0;
  ASSERT_TRUE(session->Score(tokens, 0, 5, [&](int64_t row, std::span<const float> logits) {
                 for (int64_t v = 0; v < V; ++v)
                   err = std::max(err, std::fabs(static_cast<double>(logits[static_cast<size_t>(v)]) -
                                                 want[static_cast<size_t>(row * V + v)]));
               }).ok());
  std::printf("[%s] max |logit error| over %zu positions = %.3g\n", kind.c_str(), tokens.size(), err);
  EXPECT_LE(err, 1e-4);
}

TEST(HfSafetensors, TinyLlamaUntied) { CheckTinyModel("llama"); }
TEST(HfSafetensors, TinyQwen2WithBiasesAndRopeParameters) { CheckTinyModel("qwen2"); }
TEST(HfSafetensors, TinyLlamaTiedAndSharded) { CheckTinyModel("llama_tied_sharded"); }

}  // namespace
}  // namespace lm
