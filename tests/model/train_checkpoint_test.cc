// Checkpoints and the training loop on a tiny synthetic model: N steps straight equal N/2 + resume + N/2
// bit for bit (weights and AdamW moments), the loss falls, and truncated or foreign checkpoints are refused
// with clear errors without touching the model.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/tiny_model.h"
#include "train/trainer.h"

namespace lm::train {
namespace {

namespace fs = std::filesystem;

struct TinyRun {
  std::unique_ptr<TrainModel> model;
  TokenDataset data;
};

TinyRun Make(const std::string& spec = "full") {
  test::TinySpec ts;
  auto model = TrainModel::Load(test::BuildTinyModel(ts), *ParseTrainableSpec(spec), 3);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  std::vector<int32_t> tokens(2000);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * i + 7 * i) % 97);  // learnable
  auto data = TokenDataset::Create(tokens, 24, 0.1);
  EXPECT_TRUE(data.ok());
  return {std::move(*model), std::move(*data)};
}

TrainerOptions Options(const std::string& dir, int64_t stop_after, bool resume) {
  return {.out_dir = dir, .steps = 8, .stop_after = stop_after, .batch = 2, .accum = 2,
          .schedule = {.lr = 3e-3f, .min_lr = 1e-4f, .warmup = 2, .total = 8, .kind = Schedule::kCosine},
          .compute = {.mlp_chunks = 3, .head_chunks = 2}, .save_every = 3, .eval_every = 4, .seed = 99,
          .resume = resume, .run_config = "{\"test\": 1}"};
}

class TrainCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lm-train-ckpt-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TrainCheckpoint, ResumeIsBitIdenticalAndLossFalls) {
  TinyRun straight = Make();
  Trainer a(*straight.model, straight.data, Options((dir_ / "a").string(), -1, false));
  ASSERT_TRUE(a.Run().ok());
  const auto& h = a.state().history;
  ASSERT_EQ(h.size(), 8u);
  EXPECT_LT(h.back().loss, h.front().loss);

  {
    TinyRun first = Make();
    Trainer b(*first.model, first.data, Options((dir_ / "b").string(), 4, false));
    ASSERT_TRUE(b.Run().ok());
    EXPECT_EQ(b.state().step, 4);
  }
  TinyRun second = Make();  // fresh process state: everything comes from the checkpoint
  Trainer c(*second.model, second.data, Options((dir_ / "b").string(), -1, true));
  ASSERT_TRUE(c.Run().ok());
  EXPECT_EQ(c.state().step, 8);
  for (const auto& p : straight.model->params().all()) {
    const Param* q = second.model->params().Find(p->name);
    ASSERT_NE(q, nullptr);
    ASSERT_EQ(p->value, q->value) << p->name;
    ASSERT_EQ(p->m, q->m) << p->name;
    ASSERT_EQ(p->v, q->v) << p->name;
  }
  ASSERT_EQ(c.state().history.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(c.state().history[i].loss, h[i].loss) << i;
}

TEST_F(TrainCheckpoint, BadCheckpointsAreRefused) {
  TinyRun r = Make();
  Trainer t(*r.model, r.data, Options(dir_.string(), 3, false));
  ASSERT_TRUE(t.Run().ok());
  const std::string path = (dir_ / kCheckpointFile).string();

  // Starting over an existing checkpoint without --resume would lose it.
  TinyRun again = Make();
  Status s = Trainer(*again.model, again.data, Options(dir_.string(), 3, false)).Run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--resume"), std::string::npos) << s.message();

  // Another trainable set (or model): fingerprint mismatch, model untouched.
  TinyRun lora = Make("lora:q,v:r=2");
  const std::vector<float> before = lora.model->params().all()[0]->value;
  auto other = LoadCheckpoint(path, *lora.model);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("was made for"), std::string::npos) << other.status().message();
  EXPECT_EQ(lora.model->params().all()[0]->value, before);

  // Different options on --resume.
  TinyRun diff = Make();
  TrainerOptions o = Options(dir_.string(), -1, true);
  o.run_config = "{\"test\": 2}";
  s = Trainer(*diff.model, diff.data, o).Run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("different options"), std::string::npos) << s.message();

  // Truncated file.
  const auto size = fs::file_size(path);
  fs::copy_file(path, path + ".bak");
  fs::resize_file(path, size - 1000);
  TinyRun trunc = Make();
  auto bad = LoadCheckpoint(path, *trunc.model);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt) << bad.status().ToString();
  fs::resize_file(path, 100);
  bad = LoadCheckpoint(path, *trunc.model);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt) << bad.status().ToString();
}

TEST(TrainData, TooShortDataIsAClearError) {
  auto d = TokenDataset::Create(std::vector<int32_t>(40, 1), 32, 0.1);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("too few"), std::string::npos);
  EXPECT_FALSE(TokenDataset::Create({}, 32, 0.1).ok());
}

TEST(TrainSchedule, WarmupThenCosineAndLinear) {
  LrSchedule s{.lr = 1.0f, .min_lr = 0.1f, .warmup = 4, .total = 14, .kind = Schedule::kCosine};
  EXPECT_FLOAT_EQ(s.At(0), 0.25f);
  EXPECT_FLOAT_EQ(s.At(3), 1.0f);
  EXPECT_FLOAT_EQ(s.At(4), 1.0f);
  EXPECT_NEAR(s.At(9), 0.55f, 1e-6);
  EXPECT_NEAR(s.At(14), 0.1f, 1e-6);
  s.kind = Schedule::kLinear;
  EXPECT_NEAR(s.At(9), 0.55f, 1e-6);
}

TEST(TrainOptimizer, AdamWDecoupledDecayAndClipping) {
  ParamSet ps;
  Param* w = ps.Add("w", {2}, true);
  Param* n = ps.Add("n", {1}, false);
  w->value = {1.0f, -2.0f};
  w->grad = {30.0f, 40.0f};  // norm 50 → clipped to 1: (0.6, 0.8)
  n->value = {1.0f};
  n->grad = {0.0f};
  const double norm = AdamWStep(ps, {.weight_decay = 0.5f, .clip = 1.0f}, 0.1f, 0);
  EXPECT_NEAR(norm, 50.0, 1e-9);
  // Step 1: m̂ = g, v̂ = g², update = lr·sign(g) (up to eps); decay multiplies by (1 - lr·wd) first.
  EXPECT_NEAR(w->value[0], 1.0f * 0.95f - 0.1f, 1e-6);
  EXPECT_NEAR(w->value[1], -2.0f * 0.95f - 0.1f, 1e-6);
  EXPECT_FLOAT_EQ(n->value[0], 1.0f);  // no decay, zero gradient
  EXPECT_EQ(w->grad[0], 0.0f);         // gradients are consumed
}

// A param's lr_scale multiplies both its update and its decoupled decay; the others keep the schedule's rate.
TEST(TrainOptimizer, PerParamLearningRateScale) {
  ParamSet ps;
  Param* a = ps.Add("a", {1}, true);
  Param* b = ps.Add("b", {1}, true);
  a->value = b->value = {1.0f};
  a->grad = b->grad = {0.5f};
  b->lr_scale = 4.0f;
  AdamWStep(ps, {.weight_decay = 0.5f, .clip = 0.0f}, 0.01f, 0);
  EXPECT_NEAR(a->value[0], 1.0f * (1 - 0.01f * 0.5f) - 0.01f, 1e-6);
  EXPECT_NEAR(b->value[0], 1.0f * (1 - 0.04f * 0.5f) - 0.04f, 1e-6);
}

}  // namespace
}  // namespace lm::train
