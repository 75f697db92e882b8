// Whole-model training tests on tiny synthetic Llama GGUFs: model gradients vs finite differences, MST and
// layer checkpointing give the same loss and gradients as the plain path (T not divisible by the chunk
// count, ignored labels) whatever the checkpointing span, declared trainable sets (layers, LoRA, side module)
// on a frozen q8_0 backbone, and sequences past the trained context only on request (memory benchmarks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "model/tiny_model.h"
#include "test_util.h"
#include "train/llama_train.h"

namespace lm::train {
namespace {

std::unique_ptr<TrainModel> Tiny(const std::string& spec, DType proj = DType::kF32, int64_t V = 128,
                                 int64_t n_layer = 2) {
  test::TinySpec ts;
  ts.proj_dtype = proj;
  ts.n_vocab = V;
  ts.n_layer = n_layer;
  auto file = test::BuildTinyModel(ts);
  auto s = ParseTrainableSpec(spec);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  auto m = TrainModel::Load(file, *s, 7);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(*m);
}

void Sequence(int64_t T, std::vector<int32_t>* tokens, std::vector<int32_t>* labels, int64_t V = 128) {
  tokens->resize(T);
  labels->resize(T);
  for (int64_t t = 0; t < T; ++t) (*tokens)[t] = static_cast<int32_t>((t * 37 + 11) % V);
  for (int64_t t = 0; t < T; ++t) (*labels)[t] = t + 1 < T ? (*tokens)[t + 1] : -100;
  (*labels)[2] = -100;  // ignored labels inside the sequence too
  (*labels)[5] = -100;
}

std::map<std::string, std::vector<float>> Grads(TrainModel& m) {
  std::map<std::string, std::vector<float>> g;
  for (const auto& p : m.params().all()) g[p->name] = p->grad;
  return g;
}

using test::MaxRelDiff;

TEST(TrainModel, GradientsMatchFiniteDifferences) {
  auto m = Tiny("full");
  std::vector<int32_t> tok, lab;
  Sequence(12, &tok, &lab);
  ASSERT_TRUE(m->Run(tok, lab, {}, true).ok());
  // Central differences on a few coordinates of every kind of tensor (h = 1e-2, loss in double).
  for (const char* name : {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.attn_v.weight",
                           "blk.1.attn_output.weight", "blk.0.ffn_gate.weight", "blk.1.ffn_down.weight",
                           "blk.0.attn_norm.weight", "output_norm.weight"}) {
    Param* p = m->params().Find(name);
    ASSERT_NE(p, nullptr) << name;
    for (size_t i : {size_t{0}, size_t{17}, p->value.size() / 2, p->value.size() - 1}) {
      const float x0 = p->value[i], h = 1e-2f;
      p->value[i] = x0 + h;
      const double lp = *m->Run(tok, lab, {}, false);
      p->value[i] = x0 - h;
      const double lm = *m->Run(tok, lab, {}, false);
      p->value[i] = x0;
      const double fd = (lp - lm) / (2 * h);
      EXPECT_NEAR(fd, p->grad[i], 2e-3 + 2e-2 * std::abs(fd)) << name << "[" << i << "]";
    }
  }
}

TEST(TrainModel, MstAndCheckpointingMatchPlainPath) {
  std::vector<int32_t> tok, lab;
  Sequence(37, &tok, &lab);  // 37: not divisible by 3, 4, 5 or the auto head chunk count (ceil(128/64) = 2)
  auto plain = Tiny("full");
  const double l0 = *plain->Run(tok, lab, {}, true);
  const auto g0 = Grads(*plain);
  for (ComputeOptions o : {ComputeOptions{.mlp_chunks = 3, .head_chunks = 5},
                           ComputeOptions{.mlp_chunks = -1, .head_chunks = -1},
                           ComputeOptions{.mlp_chunks = 4, .head_chunks = 37, .checkpoint_layers = true},
                           ComputeOptions{.checkpoint_layers = true}}) {
    auto m = Tiny("full");
    const double l = *m->Run(tok, lab, o, true);
    EXPECT_NEAR(l, l0, 1e-6 * std::abs(l0)) << o.mlp_chunks << "/" << o.head_chunks;
    // Chunking changes only the order of f32 sums (weight gradients accumulate per mini-sequence): a few
    // ulps of the largest entry, where a wrong chunk boundary or mask would be off by orders of magnitude.
    for (const auto& [name, g] : Grads(*m))
      EXPECT_LE(MaxRelDiff(g, g0.at(name)), 4e-6) << name << " mlp " << o.mlp_chunks << " head " << o.head_chunks;
  }
}

// Checkpointing spans: s blocks recomputed from every s-th saved input (5 blocks: spans that divide it and
// spans that leave a shorter top span) give the same loss and gradients as span 1, bit for bit (the same
// operations on the same inputs), with and without MST; the automatic span holds the fewest saved bytes.
TEST(TrainModel, CheckpointSpansMatchEveryBlockCheckpointing) {
  std::vector<int32_t> tok, lab;
  Sequence(37, &tok, &lab);
  for (int64_t mlp : {0, 3}) {
    ComputeOptions base{.mlp_chunks = mlp, .head_chunks = mlp, .checkpoint_layers = true, .checkpoint_span = 1};
    auto ref = Tiny("full", DType::kF32, 128, 5);
    const double l1 = *ref->Run(tok, lab, base, true);
    const uint64_t saved1 = ref->last_saved_bytes();
    std::map<int64_t, uint64_t> saved;  // by span
    const auto g1 = Grads(*ref);
    auto plain = Tiny("full", DType::kF32, 128, 5);
    EXPECT_NEAR(*plain->Run(tok, lab, {.mlp_chunks = mlp, .head_chunks = mlp}, true), l1, 1e-6 * std::abs(l1));
    for (int64_t span : {2, 3, 5, 0}) {
      SCOPED_TRACE(testing::Message() << "mlp chunks " << mlp << ", span " << span);
      ComputeOptions o = base;
      o.checkpoint_span = span;
      auto m = Tiny("full", DType::kF32, 128, 5);
      EXPECT_EQ(*m->Run(tok, lab, o, true), l1);
      for (const auto& [name, g] : Grads(*m)) EXPECT_EQ(MaxRelDiff(g, g1.at(name)), 0.0) << name;
      saved[span] = m->last_saved_bytes();
    }
    // Auto picks the span that holds least: ceil(5 / s) inputs of C floats vs s blocks' activations.
    EXPECT_EQ(saved[0], std::min({saved1, saved[2], saved[3], saved[5]}));
    EXPECT_NE(saved[2], saved1);  // the span is really applied
  }
}

TEST(TrainModel, AllIgnoredLabelsGiveZeroLossAndGradient) {
  auto m = Tiny("full");
  std::vector<int32_t> tok(9, 3), lab(9, -100);
  EXPECT_EQ(*m->Run(tok, lab, {.head_chunks = 4}, true), 0.0);
  for (const auto& [name, g] : Grads(*m))
    for (float v : g) ASSERT_EQ(v, 0.0f) << name;
}

TEST(TrainModel, LayerSubsetTrainsOnlyThoseLayers) {
  auto m = Tiny("layers:1", DType::kQ8_0);
  for (const auto& p : m->params().all()) EXPECT_EQ(p->name.rfind("blk.1.", 0), 0u) << p->name;
  std::vector<int32_t> tok, lab;
  Sequence(10, &tok, &lab);
  ASSERT_TRUE(m->Run(tok, lab, {.mlp_chunks = 2, .head_chunks = 3}, true).ok());
  EXPECT_GT(m->params().Find("blk.1.attn_q.weight")->grad[0] != 0.0f, 0);
}

TEST(TrainModel, LoraOnFrozenQuantisedBackbone) {
  auto m = Tiny("lora:q,v,down:r=4:alpha=8", DType::kQ8_0);
  // 2 layers × 3 targets × (A, B); the q8_0 base weights stay stored views (no f32 copies).
  EXPECT_EQ(m->params().all().size(), 12u);
  std::vector<int32_t> tok, lab;
  Sequence(10, &tok, &lab);
  auto base = Tiny("full", DType::kQ8_0);
  const double l_base = *base->Run(tok, lab, {}, false);
  const double l = *m->Run(tok, lab, {}, true);
  EXPECT_NEAR(l, l_base, 1e-5);  // B = 0: adapters start as the identity change
  // B receives gradient first (A's gradient is zero while B = 0); finite differences on B.
  Param* b = m->params().Find("blk.0.attn_q.weight.lora_b");
  ASSERT_NE(b, nullptr);
  for (size_t i : {size_t{0}, size_t{5}, size_t{100}}) {
    const float h = 1e-2f;
    b->value[i] = h;
    const double lp = *m->Run(tok, lab, {}, false);
    b->value[i] = -h;
    const double lm = *m->Run(tok, lab, {}, false);
    b->value[i] = 0;
    EXPECT_NEAR((lp - lm) / (2 * h), b->grad[i], 2e-3 + 2e-2 * std::abs(b->grad[i]));
  }
}

TEST(TrainModel, SideModuleOnFrozenBackbone) {
  auto m = Tiny("side:32", DType::kQ8_0);
  for (const auto& p : m->params().all()) EXPECT_EQ(p->name.rfind("side.", 0), 0u) << p->name;
  std::vector<int32_t> tok, lab;
  Sequence(10, &tok, &lab);
  ASSERT_TRUE(m->Run(tok, lab, {.head_chunks = 2}, true).ok());
  Param* down = m->params().Find("side.down.weight");
  Param* gate = m->params().Find("side.gate.weight");
  for (size_t i : {size_t{0}, size_t{33}}) {
    for (Param* p : {down, gate}) {
      const float x0 = p->value[i], h = 1e-2f;
      p->value[i] = x0 + h;
      const double lp = *m->Run(tok, lab, {}, false);
      p->value[i] = x0 - h;
      const double lm = *m->Run(tok, lab, {}, false);
      p->value[i] = x0;
      EXPECT_NEAR((lp - lm) / (2 * h), p->grad[i], 2e-3 + 2e-2 * std::abs(p->grad[i])) << p->name;
    }
  }
}

TEST(TrainModel, BadInput) {
  auto m = Tiny("full");
  std::vector<int32_t> tok(300, 1), lab(300, 1);
  auto r = m->Run(tok, lab, {}, false);  // tiny model context is 256
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds the model's 256-token context"), std::string::npos);
  EXPECT_FALSE(ParseTrainableSpec("layers:3-1").ok());
  EXPECT_FALSE(ParseTrainableSpec("lora:qq").ok());
  test::TinySpec ts;
  auto bad = TrainModel::Load(test::BuildTinyModel(ts), *ParseTrainableSpec("layers:0-5"), 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("the model has 2 layers"), std::string::npos);
}

// Memory benchmarks run T past the trained context: allowed only on request (RoPE extrapolates), and the
// default still refuses with the usual error. MST + checkpointing still equals the plain path out there.
TEST(TrainModel, BeyondContextOnlyWhenAllowed) {
  std::vector<int32_t> tok, lab;
  Sequence(300, &tok, &lab);  // tiny model context is 256
  auto m = Tiny("full");
  auto refused = m->Run(tok, lab, {}, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("exceeds the model's 256-token context"), std::string::npos);
  auto plain = m->Run(tok, lab, {}, true, 1.0f, /*allow_beyond_context=*/true);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(std::isfinite(*plain));
  EXPECT_GT(*plain, 0.0);
  const auto g0 = Grads(*m);
  auto mst = Tiny("full");
  auto l = mst->Run(tok, lab, {.mlp_chunks = -1, .head_chunks = -1, .checkpoint_layers = true}, true, 1.0f, true);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_NEAR(*l, *plain, 1e-6 * *plain);
  for (const auto& [name, g] : Grads(*mst)) EXPECT_LE(MaxRelDiff(g, g0.at(name)), 1e-6) << name;
}

}  // namespace
}  // namespace lm::train
