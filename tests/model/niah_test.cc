// Needle-in-a-haystack harness: task scoring, prompt building with the SmolLM2 tokenizer (exact length,
// needles at line starts, chat template), and a resumable grid on a tiny random model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>

#include "eval/niah/report.h"
#include "eval/niah/runner.h"
#include "io/gguf_reader.h"
#include "memory/memory_factory.h"
#include "model/model.h"
#include "model/tiny_model.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace lm::niah {
namespace {

std::unique_ptr<Tokenizer> SmolTokenizer() {
  auto file = gguf::GgufFile::Open(test::DefaultModelPath());
  if (!file.ok()) return nullptr;
  auto vocab = VocabFromGguf(**file);
  if (!vocab.ok()) return nullptr;
  auto tok = Tokenizer::Create(std::move(vocab).value());
  return tok.ok() ? std::move(tok).value() : nullptr;
}

std::string Text() {
  std::string t;
  for (int i = 0; i < 400; ++i)
    t += "Ge1:" + std::to_string(i) + " And the evening and the morning were day number " + std::to_string(i) + ".\n";
  return t;
}

TEST(NiahTask, ScoringIsExact) {
  std::mt19937 rng(1);
  auto pk = MakeTask(TaskKind::kPasskey, 0.5, rng);
  EXPECT_EQ(ScoreResponse(TaskKind::kPasskey, pk, " " + pk.answers[0] + ". Remember"), 1.0);
  EXPECT_EQ(ScoreResponse(TaskKind::kPasskey, pk, " 1" + pk.answers[0]), 0.0);  // first integer must match
  EXPECT_EQ(ScoreResponse(TaskKind::kPasskey, pk, " none"), 0.0);
  auto mv = MakeTask(TaskKind::kMultiValue, 0.5, rng);
  ASSERT_EQ(mv.answers.size(), 4u);
  EXPECT_EQ(ScoreResponse(TaskKind::kMultiValue, mv, mv.answers[0] + ", " + mv.answers[2]), 0.5);
  auto mk = MakeTask(TaskKind::kMultiKey, 0.5, rng);
  EXPECT_EQ(mk.needles.size(), 4u);
  EXPECT_NE(mk.needles[0].text.find(mk.answers[0]), std::string::npos);
}

TEST(NiahPrompt, ExactLengthNeedlesAtLineStartsChatTemplate) {
  auto tok = SmolTokenizer();
  if (!tok) GTEST_SKIP() << "default model missing; run scripts/setup.sh";
  auto hay = MakeHaystack(*tok, Text(), 1 << 20);
  ASSERT_TRUE(hay.ok());
  std::mt19937 rng(5);
  for (auto kind : {TaskKind::kPasskey, TaskKind::kMultiKey}) {
    const auto task = MakeTask(kind, 0.5, rng);
    auto p = BuildPrompt(*tok, *hay, task, 1500, 777);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_EQ(p->tokens.size(), 1500u);
    const std::string text = tok->Decode(p->tokens);
    EXPECT_NE(text.find("<|im_start|>user"), std::string::npos);
    EXPECT_NE(text.find("\n" + task.needles[0].text + "\n"), std::string::npos) << "needle on its own line";
    EXPECT_EQ(text.substr(text.size() - task.answer_prefix.size()), task.answer_prefix);
    const double at = static_cast<double>(p->needle_at[0]) / 1500.0;
    EXPECT_NEAR(at, 0.5, 0.1);
    const auto needle = std::span(p->tokens).subspan(static_cast<size_t>(p->needle_at[0]),
                                                     static_cast<size_t>(p->needle_len[0]));
    EXPECT_EQ(tok->Decode({needle.begin(), needle.end()}), task.needles[0].text + "\n");
  }
  EXPECT_FALSE(BuildPrompt(*tok, *hay, MakeTask(TaskKind::kPasskey, 0.5, rng), 80, 0).ok());  // too short
}

TEST(NiahReport, SummaryTableJsonSvg) {
  GridOptions o{.lengths = {1000, 2000}, .depths = {0.25, 0.75}, .trials = 2, .strategy = "s"};
  std::vector<CellResult> cells;
  for (int64_t l : o.lengths)
    for (double d : o.depths)
      for (int64_t t = 0; t < 2; ++t)
        cells.push_back({.length = l, .depth = d, .trial = t, .score = l == 1000 ? 1.0 : 0.5});
  const auto s = Summarize(o, cells);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(s.length_accuracy[0], 1.0);
  EXPECT_NE(FormatTable(s).find("accuracy 75.0%"), std::string::npos);
  EXPECT_NE(HeatmapSvg(s).find("<svg"), std::string::npos);
  EXPECT_NE(SummaryJson(s, cells).find("\"accuracy\": 0.75"), std::string::npos);
  EXPECT_EQ(FormatTable(s).find("needle layers"), std::string::npos);  // no cell reports it
  // Cells that report the needle's scope: the share of layers holding the whole needle, averaged per length.
  cells[0].needle_attended = {1.0, 1.0, 0.5, 0.0};  // 2 of 4 layers
  cells[1].needle_attended = {1.0, 1.0, 1.0, 1.0};  // 4 of 4
  const auto t = Summarize(o, cells);
  EXPECT_DOUBLE_EQ(t.length_needle_in_scope[0], 0.75);
  EXPECT_TRUE(std::isnan(t.length_needle_in_scope[1]));
  EXPECT_NE(FormatTable(t).find("needle layers        75%"), std::string::npos) << FormatTable(t);
}

// The real tokenizer, a tiny random model with SmolLM2's vocabulary size (so its ids are valid) and a
// haystack; skipped when the default model is missing.
class NiahGrid : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = SmolTokenizer();
    if (!tok_) GTEST_SKIP() << "default model missing; run scripts/setup.sh";
    test::TinySpec spec;
    spec.n_vocab = tok_->n_vocab();
    spec.n_ctx = 1024;
    auto file = test::BuildTinyModel(spec);
    auto m = LoadModelFromGguf(*file);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = *m;
    auto h = MakeHaystack(*tok_, Text(), 1 << 20);
    ASSERT_TRUE(h.ok());
    hay_ = std::move(h).value();
  }

  std::unique_ptr<Tokenizer> tok_;
  std::shared_ptr<const Model> model_;
  Haystack hay_;
};

std::string TempLog(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".jsonl")).string();
}

TEST_F(NiahGrid, RunsAndResumesFromTheLog) {
  const std::string log = TempLog("lm-niah-resume-test");
  std::filesystem::remove(log);
  GridOptions o{.lengths = {300},
                .depths = {0.2, 0.8},
                .trials = 2,
                .strategy = "streaming-test",
                .jsonl_path = log,
                .batch = 64};
  const ModelConfig cfg = model_->config();
  MemoryMaker make = [&] { return MakeMemory({.kind = "streaming", .window = 128}, cfg); };
  auto first = RunGrid(*tok_, hay_, SessionAnswerer(model_, *tok_, make, o.batch), o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 4u);
  for (const auto& c : *first) {
    EXPECT_FALSE(c.resumed);
    EXPECT_EQ(c.n_prompt, 300);
    EXPECT_GT(c.kv_bytes, 0u);
  }
  // A line cut by an interruption is ignored; the four finished cells are not run again.
  { std::ofstream(log, std::ios::app) << "{\"strategy\": \"streaming-te"; }
  auto second = RunGrid(*tok_, hay_, SessionAnswerer(model_, *tok_, make, o.batch), o);
  ASSERT_TRUE(second.ok());
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE((*second)[i].resumed);
    EXPECT_EQ((*second)[i].response, (*first)[i].response);
  }
  std::filesystem::remove(log);
}

// A selecting strategy reports, per layer, how much of the asked needle the step that read the prompt's last
// token attended; it survives the resume log. Dense attends everything; streaming does not report.
TEST_F(NiahGrid, ReportsWhetherTheNeedleWasAttended) {
  const ModelConfig cfg = model_->config();
  const std::string log = TempLog("lm-niah-probe-test");
  std::filesystem::remove(log);
  struct Case {
    MemoryOptions memory;
    bool reported, whole;
  };
  const Case cases[] = {{{.kind = "dense"}, true, true},
                        {{.kind = "streaming", .window = 128}, false, false},
                        // Middle keys beyond global + local: the needle is attended only if selected.
                        {{.kind = "reattention", .sinks = 4, .window = 64, .top_k = 2, .span = 8, .clip = 4, .chunk = 32}, true, false}};
  for (const auto& k : cases) {
    SCOPED_TRACE(k.memory.kind);
    GridOptions o{.lengths = {400}, .depths = {0.3}, .strategy = k.memory.kind, .jsonl_path = log, .batch = 64};
    MemoryMaker make = [&] { return MakeMemory(k.memory, cfg); };
    auto run = RunGrid(*tok_, hay_, SessionAnswerer(model_, *tok_, make, o.batch), o);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    const auto& got = (*run)[0].needle_attended;
    if (!k.reported) {
      EXPECT_TRUE(got.empty());
      continue;
    }
    ASSERT_EQ(got.size(), static_cast<size_t>(cfg.n_layer));
    for (double f : got) {
      EXPECT_GE(f, 0.0);
      EXPECT_LE(f, 1.0);
      if (k.whole) {
        EXPECT_EQ(f, 1.0);
      }
    }
    auto again = RunGrid(*tok_, hay_, SessionAnswerer(model_, *tok_, make, o.batch), o);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE((*again)[0].resumed);
    EXPECT_EQ((*again)[0].needle_attended, got);
  }
  std::filesystem::remove(log);
}

}  // namespace
}  // namespace lm::niah
