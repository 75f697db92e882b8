// SideNet training loop on a tiny backbone: loss falls, and a run stopped and resumed from its checkpoint (with
// its memory bank) ends bit-identical to an uninterrupted run; a missing bank file is a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <utility>

#include "model/model.h"
#include "ops/matmul.h"
#include "sidenet/sidenet_trainer.h"
#include "tiny_model.h"

namespace lm::sidenet {
namespace {

struct Rig {
  std::shared_ptr<const gguf::GgufFile> file;
  std::shared_ptr<const Model> model;
  std::unique_ptr<SideNet> net;
  std::unique_ptr<LongMem> lm, eval_lm;
};

MemoryConfig Mem() {
  MemoryConfig m;
  m.chunk_size = 2;
  m.retrieve_tokens = 4;
  m.capacity_tokens = 96;
  return m;
}

Rig MakeRig() {
  test::TinySpec ts;
  ts.n_layer = 4;
  Rig r;
  r.file = test::BuildTinyModel(ts, 11);
  r.model = *LoadModelFromGguf(*r.file);
  auto net = SideNet::Init(r.file, DefaultSideNetConfig(r.model->config()), Mem());
  if (!net.ok()) throw std::runtime_error(net.status().ToString());
  r.net = std::move(*net);
  auto lm = LongMem::Create(r.model, r.net.get(), Mem());
  auto eval_lm = LongMem::Create(r.model, r.net.get(), Mem());
  if (!lm.ok() || !eval_lm.ok()) throw std::runtime_error("LongMem::Create failed");
  r.lm = std::move(*lm);
  r.eval_lm = std::move(*eval_lm);
  return r;
}

// Two documents with repeated phrases, so memory has something to find.
std::vector<Document> Docs() {
  std::vector<Document> d(2);
  for (int i = 0; i < 2; ++i) {
    d[static_cast<size_t>(i)].name = "doc" + std::to_string(i);
    for (int j = 0; j < 140; ++j) d[static_cast<size_t>(i)].tokens.push_back(static_cast<int32_t>((j * (3 + i)) % 23 + 5));
  }
  return d;
}

// Docs() split 80/20 into training and held-out segments of 24 tokens.
std::pair<Result<SegmentStream>, Result<SegmentStream>> Streams() {
  std::vector<Document> train_docs, eval_docs;
  SplitHoldout(Docs(), 0.2, &train_docs, &eval_docs);
  return {SegmentStream::Create(train_docs, 24), SegmentStream::Create(eval_docs, 24)};
}

SideNetTrainerOptions Options(const std::string& out, int64_t stop_after, bool resume) {
  return {.out_dir = out, .steps = 8, .stop_after = stop_after, .accum = 1,
          .schedule = {.lr = 3e-3f, .min_lr = 0.0f, .warmup = 0, .total = 8, .kind = train::Schedule::kLinear},
          .adam = {.weight_decay = 0.01f, .clip = 0.0f}, .save_every = 2, .eval_every = 4, .eval_segments = 2,
          .reset_per_document = true, .resume = resume, .run_config = "{}"};
}

class SideNetTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prev_ = ops::GetMatMulMode();
    ops::SetMatMulMode(ops::MatMulMode::kExact);
    dir_ = std::filesystem::temp_directory_path() / ("lm_sidenet_trainer_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    ops::SetMatMulMode(prev_);
    std::filesystem::remove_all(dir_);
  }
  ops::MatMulMode prev_;
  std::filesystem::path dir_;
};

TEST_F(SideNetTrainerTest, LossFallsAndResumeIsBitIdentical) {
  auto [train, eval] = Streams();
  ASSERT_TRUE(train.ok() && eval.ok());

  Rig a = MakeRig();
  SideNetTrainer full(*a.lm, *a.eval_lm, *train, *eval, Options((dir_ / "a").string(), -1, false));
  ASSERT_TRUE(full.Run().ok());
  const auto& h = full.state().history;
  ASSERT_EQ(h.size(), 8u);
  EXPECT_LT(h.back().loss, h.front().loss);

  Rig b = MakeRig();
  SideNetTrainer first(*b.lm, *b.eval_lm, *train, *eval, Options((dir_ / "b").string(), 5, false));
  ASSERT_TRUE(first.Run().ok());
  // Only the bank of the last checkpoint is kept.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "b" / "bank-5.lmbank"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "b" / "bank-4.lmbank"));
  Rig c = MakeRig();  // a fresh process: new weights from the backbone, empty bank
  SideNetTrainer second(*c.lm, *c.eval_lm, *train, *eval, Options((dir_ / "b").string(), -1, true));
  ASSERT_TRUE(second.Run().ok());
  ASSERT_EQ(second.state().step, 8);
  for (size_t i = 0; i < a.net->params().all().size(); ++i)
    EXPECT_EQ(a.net->params().all()[i]->value, c.net->params().all()[i]->value) << a.net->params().all()[i]->name;
  EXPECT_EQ(a.lm->bank().n_tokens(), c.lm->bank().n_tokens());

  // The checkpoint without its bank cannot resume silently with an empty memory.
  std::filesystem::remove(dir_ / "b" / "bank-8.lmbank");
  Rig d = MakeRig();
  SideNetTrainer third(*d.lm, *d.eval_lm, *train, *eval, Options((dir_ / "b").string(), -1, true));
  const Status s = third.Run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bank"), std::string::npos) << s.ToString();
}

// --memory-query-lr-scale reaches exactly the memory layer's query projection: after one step (same data,
// same initial weights) its update is the scale times the unscaled run's, and every other parameter moves
// the same.
TEST_F(SideNetTrainerTest, MemoryQueryLearningRateScaleMovesOnlyThatProjection) {
  auto [train, eval] = Streams();
  ASSERT_TRUE(train.ok() && eval.ok());
  Rig base = MakeRig(), plain = MakeRig(), scaled = MakeRig();
  SideNetTrainerOptions o1 = Options((dir_ / "plain").string(), 1, false);
  SideNetTrainerOptions o4 = Options((dir_ / "scaled").string(), 1, false);
  o4.memory_query_lr_scale = 4.0f;
  SideNetTrainer t1(*plain.lm, *plain.eval_lm, *train, *eval, o1);
  SideNetTrainer t4(*scaled.lm, *scaled.eval_lm, *train, *eval, o4);
  ASSERT_TRUE(t1.Run().ok());
  ASSERT_TRUE(t4.Run().ok());
  const std::string query = SideNet::LayerParamName(base.net->config().side_memory_layer(), "attn_q.weight");
  bool saw_query = false;
  for (size_t i = 0; i < base.net->params().all().size(); ++i) {
    const auto& p0 = base.net->params().all()[i]->value;
    const auto& p1 = plain.net->params().all()[i]->value;
    const auto& p4 = scaled.net->params().all()[i]->value;
    const std::string& name = base.net->params().all()[i]->name;
    if (name != query) {
      EXPECT_EQ(p1, p4) << name;
      continue;
    }
    saw_query = true;
    double d1 = 0, d4 = 0;
    for (size_t j = 0; j < p0.size(); ++j) {
      d1 += std::fabs(double(p1[j]) - p0[j]);
      d4 += std::fabs(double(p4[j]) - p0[j]);
    }
    ASSERT_GT(d1, 0.0);
    EXPECT_NEAR(d4 / d1, 4.0, 0.05) << "update ratio of " << name;
  }
  EXPECT_TRUE(saw_query) << query;
}

}  // namespace
}  // namespace lm::sidenet
