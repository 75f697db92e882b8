// Model tests on tiny synthetic GGUF models: batching invariance, GQA/bias variants, and bad input.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "model/forward.h"
#include "model/tiny_model.h"
#include "runtime/session.h"

namespace lm {
namespace {

using test::BuildTinyModel;
using test::TinySpec;

std::shared_ptr<const Model> Load(const TinySpec& s) {
  auto f = BuildTinyModel(s);
  auto m = LoadModelFromGguf(*f);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::vector<int32_t> Tokens(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 37 + 11) % vocab;
  return t;
}

// Logits after the last token must not depend on how the prompt was split into batches.
void ExpectBatchInvariant(const TinySpec& spec) {
  auto model = Load(spec);
  const auto toks = Tokens(40, static_cast<int>(spec.n_vocab));
  auto whole = NewDenseSession(model, 64);
  ASSERT_TRUE(whole->Prefill(toks).ok());
  auto split = NewDenseSession(model, 64);
  ASSERT_TRUE(split->Prefill(toks, 7).ok());
  auto one_by_one = NewDenseSession(model, 64);
  for (int32_t t : toks) ASSERT_TRUE(one_by_one->Decode(t).ok());
  ASSERT_EQ(whole->logits().size(), static_cast<size_t>(spec.n_vocab));
  for (size_t i = 0; i < whole->logits().size(); ++i) {
    EXPECT_NEAR(whole->logits()[i], split->logits()[i], 1e-4);
    EXPECT_NEAR(whole->logits()[i], one_by_one->logits()[i], 1e-4);
  }
  EXPECT_EQ(whole->n_past(), 40);
}

TEST(TinyModel, BatchInvariantLlama) { ExpectBatchInvariant({}); }
TEST(TinyModel, BatchInvariantUntiedQuantised) { ExpectBatchInvariant({.tied = false, .proj_dtype = DType::kQ8_0}); }
TEST(TinyModel, BatchInvariantQwen2WithBias) { ExpectBatchInvariant({.arch = "qwen2", .n_head_kv = 1}); }

TEST(TinyModel, ConfigIsRead) {
  auto model = Load({.arch = "qwen2"});
  const auto& c = model->config();
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.rope.style, ops::RopeStyle::kHalfSplit);
}

TEST(TinyModel, ScoreMatchesPrefillLogits) {
  auto model = Load({});
  const auto toks = Tokens(20, 128);
  auto a = NewDenseSession(model, 32);
  ASSERT_TRUE(a->Prefill(toks).ok());
  auto b = NewDenseSession(model, 32);
  std::vector<float> last;
  ASSERT_TRUE(b->Score(toks, 10, 8, [&](int64_t row, std::span<const float> l) {
                 if (row == 19) last.assign(l.begin(), l.end());
               }).ok());
  ASSERT_EQ(last.size(), a->logits().size());
  for (size_t i = 0; i < last.size(); ++i) EXPECT_NEAR(last[i], a->logits()[i], 1e-5);
}

TEST(TinyModelBadInput, PromptLongerThanContextFailsCleanlyAndKeepsState) {
  auto model = Load({});
  auto s = NewDenseSession(model, 16);
  ASSERT_TRUE(s->Prefill(Tokens(10, 128)).ok());
  Status st = s->Prefill(Tokens(10, 128));
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_NE(st.message().find("holds 16 tokens"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("hint"), std::string::npos);
  EXPECT_EQ(s->n_past(), 10);  // nothing was half-written
  EXPECT_TRUE(s->Decode(3).ok());
}

TEST(TinyModelBadInput, TokenOutsideVocabulary) {
  auto model = Load({});
  auto s = NewDenseSession(model, 16);
  const std::vector<int32_t> bad = {1, 500};
  Status st = s->Prefill(bad);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("token id 500"), std::string::npos) << st.message();
}

TEST(TinyModelBadInput, UnknownArchitecture) {
  auto f = BuildTinyModel({.arch = "mamba"});
  auto m = LoadModelFromGguf(*f);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find("'mamba'"), std::string::npos) << m.status().message();
}

TEST(TinyModelBadInput, MissingTensorIsNamed) {
  auto f = BuildTinyModel({.skip_tensor = "blk.1.ffn_up.weight"});
  auto m = LoadModelFromGguf(*f);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("blk.1.ffn_up.weight"), std::string::npos) << m.status().message();
}

TEST(TinyModelBadInput, WrongShapeIsNamedWithBothShapes) {
  auto f = BuildTinyModel({.bad_shape_tensor = "blk.0.attn_k.weight"});
  auto m = LoadModelFromGguf(*f);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("'blk.0.attn_k.weight' expects [32, 64], file has [32, 96]"),
            std::string::npos)
      << m.status().message();
}

TEST(TinyModelBadInput, AbsurdDimensionsAreRejectedBeforeAllocation) {
  auto f = BuildTinyModel({.n_head = 3});  // 64 is not divisible into 3 heads of equal size
  auto m = LoadModelFromGguf(*f);
  ASSERT_FALSE(m.ok());
  auto g = BuildTinyModel({.n_head_kv = 3});  // 4 heads are not a multiple of 3 kv heads
  auto n = LoadModelFromGguf(*g);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("n_head_kv"), std::string::npos) << n.status().message();
}

}  // namespace
}  // namespace lm
