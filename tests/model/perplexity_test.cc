// Perplexity's decode tail on a tiny random model: the last N tokens of each window are read one step each
// and scored, and they score what the batched path scores for the same tokens (dense attention does not
// depend on the step).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "eval/perplexity.h"
#include "model/forward.h"
#include "model/step_recorder.h"
#include "model/tiny_model.h"

namespace lm {
namespace {

std::shared_ptr<const Model> Load() {
  auto f = test::BuildTinyModel({});
  auto m = LoadModelFromGguf(*f);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::vector<int32_t> Tokens(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 37 + 11 + (i * i) % 13) % vocab;
  return t;
}

TEST(Perplexity, DecodeTailReadsTheLastTokensOneStepEachAndScoresThemAlike) {
  auto model = Load();
  const auto tokens = Tokens(2 * 64 + 5, 128);
  auto steps = std::make_shared<std::vector<int64_t>>();
  PerplexityOptions o{.n_ctx = 64, .max_windows = 2, .batch = 16};
  o.make_memory = [&]() -> Result<std::unique_ptr<Memory>> {
    return std::unique_ptr<Memory>(std::make_unique<test::StepRecorder>(GeometryOf(model->config()), steps));
  };
  auto batched = Perplexity(model, tokens, o);
  ASSERT_TRUE(batched.ok()) << batched.status().ToString();
  ASSERT_EQ(batched->n_scored, 2 * 31);  // rows 32..62 of each window
  EXPECT_EQ(*steps, (std::vector<int64_t>{16, 16, 16, 16, 16, 16, 16, 16}));

  steps->clear();
  o.decode_tail = 10;
  auto tail = Perplexity(model, tokens, o);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  ASSERT_EQ(tail->n_scored, 2 * 10);
  // Per window: the 53 tokens before the tail in batches, then tokens 53..62 (rows predicting 54..63) alone;
  // the window's last token predicts nothing and is not run.
  std::vector<int64_t> want;
  for (int w = 0; w < 2; ++w) {
    want.insert(want.end(), {16, 16, 16, 5});
    want.insert(want.end(), 10, 1);
  }
  EXPECT_EQ(*steps, want);
  for (int w = 0; w < 2; ++w) {
    double sum = 0;
    for (int i = 0; i < 10; ++i) {
      const float got = tail->token_nll[static_cast<size_t>(w * 10 + i)];
      const float ref = batched->token_nll[static_cast<size_t>(w * 31 + 21 + i)];
      EXPECT_NEAR(got, ref, 1e-4f) << "window " << w << " token " << i;
      sum += got;
    }
    EXPECT_NEAR(tail->window_nll[static_cast<size_t>(w)], sum, 1e-3);
  }
}

TEST(Perplexity, DecodeTailMustLeaveATokenToPrefill) {
  auto model = Load();
  const auto tokens = Tokens(64, 128);
  for (int64_t bad : {-1, 63, 64}) {
    auto r = Perplexity(model, tokens, {.n_ctx = 64, .decode_tail = bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("decode tail"), std::string::npos) << r.status().ToString();
  }
  auto r = Perplexity(model, tokens, {.n_ctx = 64, .decode_tail = 62});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->n_scored, 62);
}

}  // namespace
}  // namespace lm
