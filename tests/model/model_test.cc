// Model tests on tiny synthetic GGUF models: batching invariance, GQA/bias variants, and bad input.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "model/forward.h"
#include "model/tiny_model.h"
#include "ops/matmul.h"
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

// Logits after the last token of one prompt, read three ways: one prefill, prefill in batches of 7, and
// token by token.
struct ThreeWays {
  std::vector<float> whole, split, one_by_one;
};
ThreeWays RunThreeWays(const TinySpec& spec) {
  auto model = Load(spec);
  const auto toks = Tokens(40, static_cast<int>(spec.n_vocab));
  auto whole = NewDenseSession(model, 64);
  EXPECT_TRUE(whole->Prefill(toks).ok());
  auto split = NewDenseSession(model, 64);
  EXPECT_TRUE(split->Prefill(toks, 7).ok());
  auto one_by_one = NewDenseSession(model, 64);
  for (int32_t t : toks) EXPECT_TRUE(one_by_one->Decode(t).ok());
  EXPECT_EQ(whole->n_past(), 40);
  EXPECT_EQ(whole->logits().size(), static_cast<size_t>(spec.n_vocab));
  const auto copy = [](const auto& l) { return std::vector<float>(l.begin(), l.end()); };
  return {copy(whole->logits()), copy(split->logits()), copy(one_by_one->logits())};
}

void ExpectNear(const std::vector<float>& a, const std::vector<float>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << what << " logit " << i;
}

// Logits after the last token must not depend on how the prompt was split into batches.
void ExpectBatchInvariant(const TinySpec& spec) {
  const ThreeWays r = RunThreeWays(spec);
  ExpectNear(r.whole, r.split, 1e-4, "whole vs batches of 7");
  ExpectNear(r.whole, r.one_by_one, 1e-4, "whole vs token by token");
}

TEST(TinyModel, BatchInvariantLlama) { ExpectBatchInvariant({}); }

// Quantised weights. Exact mode takes one path at every batch size. Fast mode multiplies the projections of
// a 40-token prefill with f32 activations on dequantised panels, and those of batches of 7 and of decode
// steps with 8-bit activations (int8 kernels): each path is invariant, and the two differ by the
// activations' rounding.
TEST(TinyModel, BatchInvariantUntiedQuantised) {
  const TinySpec spec{.tied = false, .proj_dtype = DType::kQ8_0};
  ops::SetMatMulMode(ops::MatMulMode::kExact);
  const ThreeWays exact = RunThreeWays(spec);
  ops::SetMatMulMode(ops::MatMulMode::kFast);
  const ThreeWays fast = RunThreeWays(spec);
  ExpectNear(exact.whole, exact.split, 1e-4, "exact: whole vs batches of 7");
  ExpectNear(exact.whole, exact.one_by_one, 1e-4, "exact: whole vs token by token");
  ExpectNear(fast.split, fast.one_by_one, 1e-4, "fast: batches of 7 vs token by token");
  // The tiny random model amplifies 8-bit activation rounding (3.1e-2 measured on logits up to ~1.5).
  ExpectNear(fast.whole, fast.split, 0.1, "fast: panel path vs int8 path");
}

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
