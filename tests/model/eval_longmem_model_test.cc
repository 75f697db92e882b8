// LongMem evaluation on tiny random models (a 4-layer backbone, 2-layer SideNet, byte "tokenizer"): the
// eval-ppl systems agree where they must (the window-limited backbone is per-segment backbone NLL; a window
// covering the document is one dense pass; LongMem with its gate shut is the SideNet without memory; the
// per-token NLLs sum to the SideNet's own loss), the retrieval probe reads segments exactly as LongMem does,
// prefix scoring matches a full prefill, and the ICL and PPL loops run end to end, reproducibly.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/longmem/icl_eval.h"
#include "eval/longmem/ppl_eval.h"
#include "eval/longmem/prefix_scorer.h"
#include "eval/longmem/retrieval_probe.h"
#include "eval/longmem/token_nll.h"
#include "eval/perplexity.h"
#include "memory/dense_kv.h"
#include "model/model.h"
#include "ops/matmul.h"
#include "runtime/session.h"
#include "sidenet/longmem.h"
#include "icl_test_codec.h"
#include "tiny_model.h"

namespace lm::eval_longmem {
namespace {

std::vector<int32_t> Tokens(int64_t n, int seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>((i * 37 + seed * 11 + (i * i) % 13) % 128);
  return t;
}

double MaxDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

class EvalLongMemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prev_ = ops::GetMatMulMode();
    ops::SetMatMulMode(ops::MatMulMode::kExact);
    test::TinySpec ts;
    ts.n_layer = 4;
    file_ = test::BuildTinyModel(ts, 7);
    auto m = LoadModelFromGguf(*file_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = *m;
    mem_.chunk_size = 2;
    mem_.retrieve_tokens = 4;
    mem_.capacity_tokens = 512;
    auto net = sidenet::SideNet::Init(file_, sidenet::DefaultSideNetConfig(model_->config()), mem_);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    side_ = std::move(*net);
    auto lm = sidenet::LongMem::Create(model_, side_.get(), mem_);
    ASSERT_TRUE(lm.ok()) << lm.status().ToString();
    lm_ = std::move(*lm);
  }
  void TearDown() override { ops::SetMatMulMode(prev_); }
  void ProbeMatchesSegment(sidenet::LongMem& lm, sidenet::SideNet* side);
  ops::MatMulMode prev_;
  std::shared_ptr<const gguf::GgufFile> file_;
  std::shared_ptr<const Model> model_;
  sidenet::MemoryConfig mem_;
  std::unique_ptr<sidenet::SideNet> side_;
  std::unique_ptr<sidenet::LongMem> lm_;
};

// The window-limited backbone is the backbone run on each segment on its own (a hand-written loop here).
TEST_F(EvalLongMemTest, WindowLimitedBackboneIsPerSegmentNll) {
  const auto doc = Tokens(70, 1);
  const int64_t seg = 16;
  StateStats st;
  auto got = WindowedNll(model_, doc, {.ctx = seg, .stride = seg, .batch = 7}, &st);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), doc.size() - 1);
  std::vector<double> want;
  for (size_t b = 0; b + 1 < doc.size(); b += seg) {
    const size_t e = std::min(b + seg, doc.size() - 1);
    auto s = NewDenseSession(model_, seg, KvCacheType::kF32);
    const std::vector<int32_t> in(doc.begin() + static_cast<std::ptrdiff_t>(b), doc.begin() + static_cast<std::ptrdiff_t>(e));
    ASSERT_TRUE(s->Score(in, 0, 512, [&](int64_t j, std::span<const float> l) {
                   want.push_back(TokenNll(l, doc[b + static_cast<size_t>(j) + 1]));
                 }).ok());
  }
  EXPECT_LT(MaxDiff(*got, want), 1e-5);
  EXPECT_EQ(st.tokens_read, 69);
}

// A window that covers the document is one dense pass, with any stride and through the strategy path;
// a sliding window agrees with the single pass on its first window and scores every target once.
TEST_F(EvalLongMemTest, CoveringWindowEqualsOnePassAndSlidingScoresEveryTarget) {
  const auto doc = Tokens(60, 2);
  auto one = WindowedNll(model_, doc, {.ctx = 64, .stride = 64});
  auto half = WindowedNll(model_, doc, {.ctx = 64, .stride = 32});
  auto strat = StrategyNll(model_, doc, std::make_unique<DenseKv>(GeometryOf(model_->config()), 64, KvCacheType::kF32));
  ASSERT_TRUE(one.ok() && half.ok() && strat.ok());
  EXPECT_LT(MaxDiff(*one, *half), 1e-9);
  EXPECT_LT(MaxDiff(*one, *strat), 1e-5);
  StateStats st;
  auto slide = WindowedNll(model_, doc, {.ctx = 24, .stride = 12}, &st);
  ASSERT_TRUE(slide.ok());
  for (size_t j = 0; j < 24; ++j) EXPECT_NEAR((*slide)[j], (*one)[j], 1e-5) << j;
  for (double v : *slide) EXPECT_GT(v, 0.0);
  EXPECT_EQ(st.tokens_read, 24 + 24 + 24 + 23);  // windows at 0, 12, 24, 36 (the last reaches input 58)
  EXPECT_FALSE(WindowedNll(model_, doc, {.ctx = 8, .stride = 9}).ok());
  EXPECT_FALSE(WindowedNll(model_, doc, {.ctx = 4096, .stride = 4096}).ok());  // past the 256-token context
  EXPECT_FALSE(WindowedNll(model_, std::vector<int32_t>{5}, {}).ok());
}

// LongMem with its gate shut is the SideNet without memory; with the gate open the memory changes later
// segments but never the first (the bank is empty then); the NLLs add up to the SideNet's own loss.
TEST_F(EvalLongMemTest, LongMemSystemsAgreeWhereTheyMust) {
  const auto doc = Tokens(97, 3);
  const int64_t seg = 24;
  StateStats with_st, without_st;
  auto without = LongMemNll(*lm_, doc, seg, false, &without_st);
  auto with = LongMemNll(*lm_, doc, seg, true, &with_st);
  ASSERT_TRUE(without.ok() && with.ok()) << with.status().ToString();
  EXPECT_EQ(without_st.segments_with_memory, 0);
  EXPECT_EQ(with_st.segments_with_memory, 3);  // all but the first of 4 segments
  EXPECT_EQ(with_st.bank_tokens, 96);
  for (size_t j = 0; j < static_cast<size_t>(seg); ++j) EXPECT_NEAR((*with)[j], (*without)[j], 1e-6);
  EXPECT_GT(MaxDiff(*with, *without), 1e-4);
  for (float& g : side_->gate_logits()) g = -1e4f;
  auto shut = LongMemNll(*lm_, doc, seg, true);
  ASSERT_TRUE(shut.ok());
  EXPECT_LT(MaxDiff(*shut, *without), 1e-6);

  // The SideNet's own mean cross-entropy over the second segment equals the mean of these NLLs.
  const std::vector<int32_t> in(doc.begin() + seg, doc.begin() + 2 * seg);
  const std::vector<int32_t> labels(doc.begin() + seg + 1, doc.begin() + 2 * seg + 1);
  auto st = lm_->Segment(in, {.labels = labels, .use_memory = false, .write_memory = false});
  ASSERT_TRUE(st.ok());
  double mean = 0;
  for (int64_t j = seg; j < 2 * seg; ++j) mean += (*without)[static_cast<size_t>(j)] / static_cast<double>(seg);
  EXPECT_NEAR(st->loss, mean, 1e-4);
}

// A SideNet initialised as the identity on the backbone (SideNetInit::kBackbone: zeroed output projections,
// last residual before the final norm) reproduces the backbone: with or without memory, the SideNet systems
// must equal the window-limited backbone on the same segments.
TEST_F(EvalLongMemTest, IdentityInitSideNetEqualsTheWindowLimitedBackbone) {
  sidenet::SideNetConfig sc = sidenet::DefaultSideNetConfig(model_->config());
  sc.init = sidenet::SideNetInit::kBackbone;
  auto net = sidenet::SideNet::Init(file_, sc, mem_);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  auto lm = sidenet::LongMem::Create(model_, net->get(), mem_);
  ASSERT_TRUE(lm.ok());
  const auto doc = Tokens(90, 4);
  auto window = WindowedNll(model_, doc, {.ctx = 32, .stride = 32});
  auto plain = LongMemNll(**lm, doc, 32, false);
  auto with = LongMemNll(**lm, doc, 32, true);
  ASSERT_TRUE(window.ok() && plain.ok() && with.ok()) << with.status().ToString();
  EXPECT_LT(MaxDiff(*plain, *window), 1e-4);
  EXPECT_LT(MaxDiff(*with, *window), 1e-4);
}

// The probe (LongMem::Segment with an on_retrieve observer and no write) must give Segment's hidden state and
// the slots it retrieved, for both SideNet inits (the identity init reads one more tap).
TEST_F(EvalLongMemTest, RetrievalProbeReadsSegmentsExactlyAsLongMem) {
  sidenet::SideNetConfig sc = sidenet::DefaultSideNetConfig(model_->config());
  sc.init = sidenet::SideNetInit::kBackbone;
  auto identity = sidenet::SideNet::Init(file_, sc, mem_);
  ASSERT_TRUE(identity.ok());
  for (const auto& p : (*identity)->params().all())  // move it off the identity so memory matters
    for (size_t i = 0; i < p->value.size(); ++i) p->value[i] += 0.01f * static_cast<float>((i * 7919) % 13) - 0.06f;
  for (sidenet::SideNet* side : {side_.get(), identity->get()}) {
    auto made = sidenet::LongMem::Create(model_, side, mem_);
    ASSERT_TRUE(made.ok());
    ProbeMatchesSegment(**made, side);
  }
}

void EvalLongMemTest::ProbeMatchesSegment(sidenet::LongMem& lm, sidenet::SideNet* side) {
  for (float& g : side->gate_logits()) g = 0.4f;
  ASSERT_TRUE(lm.Memorize(Tokens(40, 4)).ok());
  ASSERT_TRUE(lm.Memorize(Tokens(33, 5)).ok());  // 33 % csz: the last token is dropped
  EXPECT_EQ(lm.bank().n_tokens(), 72);
  const auto slots = StreamSlots(73, 40, 2);
  EXPECT_EQ(slots[39], 39);
  EXPECT_EQ(slots[40], 40);
  EXPECT_EQ(slots[72], -1);
  const auto q = Tokens(19, 6);
  const int64_t C = model_->config().n_embd;
  std::vector<float> want(static_cast<size_t>(19 * C));
  auto st = lm.Segment(q, {.write_memory = false, .final_hidden = want.data()});
  ASSERT_TRUE(st.ok());
  RetrievalProbe probe(lm);
  ProbedSegment got;
  ASSERT_TRUE(probe.Run(q, true, &got).ok());
  EXPECT_EQ(got.retrieved, st->retrieved);
  ASSERT_EQ(got.last_slots.size(), static_cast<size_t>(model_->config().n_head * got.retrieved));
  for (int32_t s : got.last_slots) EXPECT_TRUE(s >= 0 && s < 72);
  double d = 0;
  for (int64_t i = 0; i < C; ++i) d = std::max(d, static_cast<double>(std::abs(got.last_hidden[static_cast<size_t>(i)] - want[static_cast<size_t>(18 * C + i)])));
  EXPECT_LT(d, 1e-6);
  EXPECT_EQ(lm.bank().n_tokens(), 72);  // nothing written
}

TEST_F(EvalLongMemTest, PrefixScorerMatchesAFullPrefill) {
  const auto prefix = Tokens(30, 7), query = Tokens(5, 8);
  auto scorer = PrefixScorer::Create(model_, std::make_unique<DenseKv>(GeometryOf(model_->config()), 40, KvCacheType::kF32), prefix, 8);
  ASSERT_TRUE(scorer.ok());
  std::vector<float> got, again;
  ASSERT_TRUE((*scorer)->NextLogits(query, &got).ok());
  ASSERT_TRUE((*scorer)->NextLogits(query, &again).ok());  // the prefix state is unchanged by a query
  auto s = NewDenseSession(model_, 40, KvCacheType::kF32);
  std::vector<int32_t> all = prefix;
  all.insert(all.end(), query.begin(), query.end());
  ASSERT_TRUE(s->Prefill(all).ok());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], s->logits()[i], 1e-4);
    EXPECT_EQ(got[i], again[i]);
  }
  EXPECT_FALSE((*scorer)->NextLogits(Tokens(20, 9), &got).ok());  // past the memory's capacity
}

TEST_F(EvalLongMemTest, IclRunsEndToEndReproducibly) {
  std::vector<std::string> words;
  for (char a = 'a'; a <= 'z'; ++a) words.push_back(std::string(1, a) + "x");
  const IclTask task = MakeMappingTask(words, {"R", "B"}, 1);  // byte codec: " R" / " B" start with ' '...
  IclEvalOptions o{.k = 2, .n_memory = {6, 12}, .seeds = 2, .n_test = 4, .segment = 64, .memories = {mem_},
                   .strategy = "streaming"};
  IclTask short_labels = task;
  short_labels.tmpl = {.input_prefix = "I:", .label_prefix = " T:"};
  IclCodec codec = ByteCodec();
  codec.encode = [](std::string_view s) {  // drop spaces so " R" and " B" differ in their first token
    std::vector<int32_t> ids;
    for (char c : s)
      if (c != ' ') ids.push_back(static_cast<unsigned char>(c) & 127);
    return ids;
  };
  auto r1 = RunIclEval(model_, side_.get(), short_labels, codec, o);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  auto r2 = RunIclEval(model_, side_.get(), short_labels, codec, o);
  ASSERT_TRUE(r2.ok());
  // backbone, sidenet, then per N: longmem and streaming.
  ASSERT_EQ(r1->cells.size(), 6u);
  for (size_t i = 0; i < r1->cells.size(); ++i) {
    const IclCell& c = r1->cells[i];
    ASSERT_EQ(c.accuracy.size(), 2u) << c.system;
    for (double a : c.accuracy) EXPECT_TRUE(a >= 0 && a <= 1);
    EXPECT_EQ(c.accuracy, r2->cells[i].accuracy) << c.system;
    if (c.system.rfind("longmem", 0) == 0) {
      EXPECT_EQ(c.mean_retrieved, 4);
      EXPECT_GE(c.hit_rate, 0);  // the mapping probe measured retrieval
      EXPECT_GE(c.chance_hit_rate, 0);
    }
  }
  EXPECT_EQ(r1->memory_tokens.size(), 2u);
  // Errors: the byte codec's labels share their first token; N larger than the task.
  EXPECT_FALSE(RunIclEval(model_, side_.get(), short_labels, ByteCodec(), o).ok());
  o.n_memory = {1000};
  EXPECT_FALSE(RunIclEval(model_, side_.get(), short_labels, codec, o).ok());
}

TEST_F(EvalLongMemTest, PplEvalBucketsAndComparesSystems) {
  std::vector<PplDocument> docs = {{"a", Tokens(40, 1)}, {"b", Tokens(100, 2)}, {"c", Tokens(90, 3)}};
  auto buckets = LengthBuckets::Parse("50");
  ASSERT_TRUE(buckets.ok());
  PplEvalOptions o{.segment = 32, .buckets = *buckets, .bootstrap = {.n_resamples = 50}};
  o.systems = {{.name = "window", .kind = PplSystemKind::kBackboneWindow, .window = {.ctx = 32, .stride = 32}},
               {.name = "dense", .kind = PplSystemKind::kBackboneDense, .window = {.ctx = 128, .stride = 64}},
               {.name = "sidenet", .kind = PplSystemKind::kSideNet},
               {.name = "longmem", .kind = PplSystemKind::kLongMem, .memory = mem_}};
  auto r = RunPplEval(model_, side_.get(), docs, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->systems.size(), 4u);
  EXPECT_EQ(r->docs[0].bucket, 0);
  EXPECT_EQ(r->docs[1].bucket, 1);
  const SystemResult& w = r->systems[0];
  EXPECT_EQ(w.buckets[0].n_docs, 1);
  EXPECT_EQ(w.buckets[1].n_docs, 2);
  EXPECT_EQ(w.buckets[0].n_segments, 2);        // 39 targets in segments of 32
  EXPECT_EQ(w.buckets[1].n_tokens, 99 + 89);
  EXPECT_EQ(w.all.delta_nll.value, 0.0);        // the reference against itself
  EXPECT_GT(w.all.ppl.hi, w.all.ppl.lo);
  // The 40-token document fits one dense window but not one 32-token segment: the dense system sees more.
  EXPECT_NE(r->systems[1].buckets[0].ppl.value, w.buckets[0].ppl.value);
  EXPECT_GT(r->systems[3].state.segments_with_memory, 0);
  EXPECT_TRUE(std::isnan(r->systems[2].all.delta_nll_memory.value));  // only LongMem systems have a memory effect
  EXPECT_TRUE(std::isfinite(r->systems[3].all.delta_nll_memory.value));
  EXPECT_NE(r->systems[3].buckets[1].delta_nll_memory.value, 0.0);
  EXPECT_GT(r->systems[3].tokens_per_second, 0);
  // A SideNet system without a SideNet is refused before any work.
  EXPECT_FALSE(RunPplEval(model_, nullptr, docs, o).ok());
}

}  // namespace
}  // namespace lm::eval_longmem
