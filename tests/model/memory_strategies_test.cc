// Memory strategies on tiny random models: each reproduces dense attention when its budget covers the
// whole input, stays bounded (or selects) past it, reports KV bytes; the factory refuses bad options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "memory/dense_kv.h"
#include "memory/memory_factory.h"
#include "memory/razor/head_calibration.h"
#include "memory/razor/head_profile.h"
#include "memory/razor/razor.h"
#include "memory/reattention/reattention.h"
#include "memory/streaming.h"
#include "model/forward.h"
#include "model/tiny_model.h"
#include "runtime/session.h"

namespace lm {
namespace {

using test::BuildTinyModel;
using test::TinySpec;

std::shared_ptr<const Model> Load(const TinySpec& s = {}) {
  auto f = BuildTinyModel(s);
  auto m = LoadModelFromGguf(*f);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::vector<int32_t> Tokens(int n, int vocab, int seed = 11) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 37 + seed + (i * i) % 13) % vocab;
  return t;
}

int32_t Argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Prefills `prompt` in batches of 16, then decodes greedily; returns every step's logits.
std::vector<std::vector<float>> Run(std::shared_ptr<const Model> model, std::unique_ptr<Memory> memory,
                                    const std::vector<int32_t>& prompt, int n_decode) {
  Session s(std::move(model), std::move(memory));
  std::vector<std::vector<float>> out;
  EXPECT_TRUE(s.Prefill(prompt, 16).ok());
  for (int i = 0; i < n_decode; ++i) {
    out.emplace_back(s.logits().begin(), s.logits().end());
    EXPECT_TRUE(s.Decode(Argmax(s.logits())).ok());
  }
  out.emplace_back(s.logits().begin(), s.logits().end());
  return out;
}

void ExpectSameAsDense(std::unique_ptr<Memory> memory, const char* what) {
  auto model = Load();
  const auto prompt = Tokens(90, 128);
  const auto dense =
      Run(model, std::make_unique<DenseKv>(GeometryOf(model->config()), 256, KvCacheType::kF32), prompt, 12);
  const auto got = Run(model, std::move(memory), prompt, 12);
  ASSERT_EQ(dense.size(), got.size());
  for (size_t i = 0; i < dense.size(); ++i) {
    EXPECT_EQ(Argmax(dense[i]), Argmax(got[i])) << what << " step " << i;
    for (size_t j = 0; j < dense[i].size(); ++j) ASSERT_NEAR(dense[i][j], got[i][j], 1e-5f) << what << " step " << i;
  }
}

MemoryGeometry Geo() { return GeometryOf(Load()->config()); }

TEST(Strategies, StreamingWithFullWindowIsDense) {
  ExpectSameAsDense(std::make_unique<StreamingKv>(Geo(), StreamingParams{.n_sink = 4, .n_window = 200, .chunk = 7}),
                    "streaming");
}

TEST(Strategies, ReAttentionWithFullLocalIsDense) {
  ReAttentionParams p{.n_global = 8, .n_local = 240, .chunk = 16};
  p.selection.recall_clip = 0;
  ExpectSameAsDense(std::make_unique<ReAttentionKv>(Geo(), p), "reattention");
}

TEST(Strategies, RazorWithLargeWindowIsDense) {
  const auto g = Geo();
  RazorParams p{.n_sink = 4, .min_window = 200};
  p.retrieval.assign(static_cast<size_t>(g.n_layer * g.n_head_kv), 0);
  p.retrieval[1] = 1;
  ExpectSameAsDense(std::make_unique<RazorKv>(g, p), "razor");
}

TEST(Strategies, StreamingStaysBoundedPastTheWindow) {
  auto model = Load();
  auto mem = std::make_unique<StreamingKv>(Geo(), StreamingParams{.n_sink = 4, .n_window = 60, .chunk = 16});
  Memory* raw = mem.get();
  Session s(model, std::move(mem));
  ASSERT_TRUE(s.Prefill(Tokens(600, 128), 32).ok());  // > the tiny model's 256-token window
  for (float x : s.logits()) ASSERT_TRUE(std::isfinite(x));
  const auto& c = model->config();
  EXPECT_EQ(raw->kv_bytes(), static_cast<uint64_t>(c.n_layer * 64 * c.n_head_kv * c.head_dim * 2 * 4));
  EXPECT_EQ(raw->n_tokens(), 600);
}

TEST(Strategies, ReAttentionSelectsAndKeepsScopeBelowTheWindow) {
  auto model = Load();
  ReAttentionParams p{.n_global = 4, .n_local = 64, .chunk = 32};
  p.selection = {.top_k = 2, .span = 8, .recall_clip = 10};
  auto mem = std::make_unique<ReAttentionKv>(Geo(), p);
  ReAttentionKv* raw = mem.get();
  Session s(model, std::move(mem));
  ASSERT_TRUE(s.Prefill(Tokens(700, 128), 64).ok());
  ASSERT_TRUE(s.Decode(5).ok());
  for (float x : s.logits()) ASSERT_TRUE(std::isfinite(x));
  EXPECT_GT(raw->last_scope(0), 4 + 64);     // something was recalled from the middle
  EXPECT_LE(raw->last_scope(0), p.scope());  // and the scope stays within 4 + 10*8 + 64
  EXPECT_EQ(raw->kv_bytes(), static_cast<uint64_t>(model->config().n_layer * 701 * model->config().kv_dim() * 8));
}

TEST(Strategies, RazorCompressesNonRetrievalHeadsOnly) {
  auto model = Load();
  const auto g = Geo();
  RazorParams p{.n_sink = 4, .min_window = 32, .compress = 5.0, .slack = 8};
  p.retrieval.assign(static_cast<size_t>(g.n_layer * g.n_head_kv), 0);
  p.retrieval[0] = 1;  // layer 0, KV head 0 keeps everything
  auto mem = std::make_unique<RazorKv>(g, p);
  RazorKv* raw = mem.get();
  Session s(model, std::move(mem));
  ASSERT_TRUE(s.Prefill(Tokens(200, 128), 16).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.Decode(Argmax(s.logits())).ok());
  for (float x : s.logits()) ASSERT_TRUE(std::isfinite(x));
  EXPECT_EQ(raw->head_length(0, 0), 205);
  EXPECT_LE(raw->head_length(0, 1), 4 + 41 + 8);  // sinks + max(32, 205/5) + slack
  EXPECT_GE(raw->head_length(0, 1), 4 + 41);
  const uint64_t dense = static_cast<uint64_t>(g.n_layer * g.n_head_kv * 205 * g.head_dim * 2 * 4);
  EXPECT_LT(raw->kv_bytes(), dense / 2);
}

TEST(Calibration, ProbeScoresEchoAndInduction) {
  auto model = Load();
  CalibrationParams cp{.segment = 40, .repeats = 3, .token_lo = 10, .token_hi = 120, .seed = 2, .rows = 30};
  const auto toks = CalibrationTokens(cp, 1);
  ASSERT_EQ(toks.size(), 121u);
  auto probe = std::make_unique<HeadScoreProbe>(Geo(), cp, 1);
  HeadScoreProbe* raw = probe.get();
  Session s(model, std::move(probe));
  ASSERT_TRUE(s.Prefill(toks, 32).ok());
  EXPECT_GT(raw->rows_sampled(), 20);
  for (float e : raw->echo()) EXPECT_TRUE(e > 0 && e < 1);
  for (float i : raw->induction()) EXPECT_TRUE(i > 0 && i < 1);
}

class FactoryTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Model> model_ = Load();
  const ModelConfig& c() { return model_->config(); }
  std::string Error(const MemoryOptions& o) {
    auto m = MakeMemory(o, c());
    return m.ok() ? "" : m.status().ToString();
  }
};

TEST_F(FactoryTest, DefaultsFollowTheWindow) {
  for (const char* kind : {"dense", "streaming", "reattention"}) {
    auto m = MakeMemory({.kind = kind}, c());
    ASSERT_TRUE(m.ok()) << kind << ": " << m.status().ToString();
    EXPECT_EQ((*m)->name(), kind);
  }
  auto d = DescribeMemory({.kind = "reattention"}, c());  // W = 256: global 32, local 128, clip (256-160)/32 = 3
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "reattention(global=32 local=128 top_k=4 span=32 clip=3 chunk=128 scope=256)");
}

TEST_F(FactoryTest, RefusesNonsense) {
  EXPECT_NE(Error({.kind = "sparse"}).find("unknown strategy 'sparse'"), std::string::npos);
  EXPECT_NE(Error({.kind = "streaming", .window = 1000}).find("more than the model's window of 256"),
            std::string::npos);
  EXPECT_NE(Error({.kind = "streaming", .window = -5}).find("--window is -5"), std::string::npos);
  EXPECT_NE(Error({.kind = "reattention", .window = 200, .clip = 10}).find("scope"), std::string::npos);
  EXPECT_NE(Error({.kind = "reattention", .window = 64, .chunk = 100}).find("chunk 100"), std::string::npos);
  EXPECT_NE(Error({.kind = "razor"}).find("--head-profile"), std::string::npos);
  EXPECT_NE(Error({.kind = "razor", .head_profile = "/nonexistent/p.json"}).find("not found"), std::string::npos);
}

TEST_F(FactoryTest, HeadProfileRoundTripAndModelCheck) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("lm-head-profile-test-" + std::to_string(::getpid()) + ".json"))
          .string();
  HeadProfile p{.model = IdentityOf(c()), .segment = 40, .repeats = 3, .rows_sampled = 30, .seed = 2};
  const auto n = static_cast<size_t>(c().n_layer * c().n_head_kv);
  for (size_t i = 0; i < n; ++i) {
    p.echo.push_back(0.01f * static_cast<float>(i));
    p.induction.push_back(0.5f - 0.01f * static_cast<float>(i));
  }
  ASSERT_TRUE(WriteHeadProfile(path, p).ok());
  auto back = ReadHeadProfile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->echo, p.echo);
  const auto mask = SelectRetrievalHeads(*back, 0.25, 0.25);  // 4 heads: top echo is 3, top induction 0
  EXPECT_EQ(mask, (std::vector<uint8_t>{1, 0, 0, 1}));
  auto m = MakeMemory({.kind = "razor", .head_profile = path}, c());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // The same profile for a model with another layer count is refused with the field named.
  TinySpec other;
  other.n_layer = 3;
  auto model3 = Load(other);
  auto bad = MakeMemory({.kind = "razor", .head_profile = path}, model3->config());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("n_layer 2"), std::string::npos) << bad.status().ToString();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace lm
