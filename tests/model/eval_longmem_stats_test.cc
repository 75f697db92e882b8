// LongMem evaluation building blocks without a model: length buckets, the segment bootstrap on data with a
// known answer, segment aggregation, document cutting, ICL templates / label scoring, and the SVG chart.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "eval/longmem/bootstrap.h"
#include "eval/longmem/buckets.h"
#include "eval/longmem/icl_prompt.h"
#include "eval/longmem/icl_task.h"
#include "eval/longmem/ppl_eval.h"
#include "eval/longmem/token_nll.h"
#include "eval/plot/line_chart.h"
#include "icl_test_codec.h"

namespace lm::eval_longmem {
namespace {

TEST(LengthBuckets, EdgesAreInclusiveWithAnOpenLastBucket) {
  auto b = LengthBuckets::Parse("4096,16384,65536");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->size(), 4);
  EXPECT_EQ(b->Index(2), 0);
  EXPECT_EQ(b->Index(4096), 0);
  EXPECT_EQ(b->Index(4097), 1);
  EXPECT_EQ(b->Index(16384), 1);
  EXPECT_EQ(b->Index(65536), 2);
  EXPECT_EQ(b->Index(65537), 3);
  EXPECT_EQ(b->Label(0), "<=4096");
  EXPECT_EQ(b->Label(1), "4097-16384");
  EXPECT_EQ(b->Label(3), ">65536");
  for (const char* bad : {"", "4096,,8", "8,4", "4096,4096", "-1", "12x", "0"}) {
    auto r = LengthBuckets::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(LengthBuckets::Parse("8,4").status().message().find("increasing"), std::string::npos);
}

TEST(Bootstrap, ConstantNllGivesAPointInterval) {
  std::vector<SegmentNll> s(40, SegmentNll{.nll_sum = 2.0 * 100, .n_tokens = 100});
  const Interval i = BootstrapPpl(s, {.n_resamples = 200});
  EXPECT_NEAR(i.value, std::exp(2.0), 1e-9);
  EXPECT_NEAR(i.lo, std::exp(2.0), 1e-9);
  EXPECT_NEAR(i.hi, std::exp(2.0), 1e-9);
}

// Segments with iid mean NLLs N(mu, sigma²) and equal sizes: the log-PPL interval must match the normal
// theory mu ± 1.96 sigma / sqrt(n), and cover the true mean.
TEST(Bootstrap, IntervalMatchesNormalTheoryOnKnownData) {
  const int n = 400;
  const double mu = 3.0, sigma = 0.5;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd(mu, sigma);
  std::vector<SegmentNll> s;
  for (int i = 0; i < n; ++i) s.push_back({.nll_sum = nd(rng) * 64, .n_tokens = 64});
  const Interval i = BootstrapPpl(s, {.n_resamples = 2000, .seed = 3});
  const double half = 1.96 * sigma / std::sqrt(static_cast<double>(n));
  EXPECT_NEAR(std::log(i.hi) - std::log(i.lo), 2 * half, 0.25 * 2 * half);
  EXPECT_LT(std::log(i.lo), mu);
  EXPECT_GT(std::log(i.hi), mu);
  EXPECT_LT(i.lo, i.value);
  EXPECT_GT(i.hi, i.value);
  // Seeded: the same seed gives the same interval, another seed a (slightly) different one.
  const Interval again = BootstrapPpl(s, {.n_resamples = 2000, .seed = 3});
  EXPECT_EQ(again.lo, i.lo);
  EXPECT_EQ(again.hi, i.hi);
  EXPECT_NE(BootstrapPpl(s, {.n_resamples = 2000, .seed = 4}).lo, i.lo);
}

TEST(Bootstrap, PairedDeltaCancelsSharedNoise) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> nd(3.0, 1.0);
  std::vector<SegmentNll> a, b;
  for (int i = 0; i < 100; ++i) {
    const double x = nd(rng);
    a.push_back({.nll_sum = (x - 0.1) * 50, .n_tokens = 50});
    b.push_back({.nll_sum = x * 50, .n_tokens = 50});
  }
  const Interval d = BootstrapNllDelta(a, b, {.n_resamples = 500});
  EXPECT_NEAR(d.value, -0.1, 1e-9);  // a is better by exactly 0.1 nats on every segment
  EXPECT_NEAR(d.lo, -0.1, 1e-9);
  EXPECT_NEAR(d.hi, -0.1, 1e-9);
  EXPECT_TRUE(std::isnan(BootstrapPpl({}, {}).value));
}

TEST(Bootstrap, PercentileInterpolates) {
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 1), 4);
  EXPECT_DOUBLE_EQ(Percentile(v, 0.5), 2.5);
}

TEST(Segments, AggregationAndDocumentCutting) {
  const std::vector<double> nll = {1, 2, 3, 4, 5, 6, 7};
  const auto s = AggregateBySegment(nll, 3);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0].nll_sum, 6);
  EXPECT_EQ(s[2].n_tokens, 1);
  std::vector<int32_t> t(100);
  for (int i = 0; i < 100; ++i) t[static_cast<size_t>(i)] = i;
  const std::vector<int64_t> lengths = {10, 30};
  const auto docs = CutDocuments("x", t, lengths, 0);
  ASSERT_EQ(docs.size(), 5u);  // 10 + 30 + 10 + 30 + 10 = 90; a next 30 would not fit in the 10 left
  EXPECT_EQ(docs[1].tokens.front(), 10);
  EXPECT_EQ(docs[1].tokens.size(), 30u);
  EXPECT_EQ(docs[0].name, "x@0+10");
  const auto whole = CutDocuments("x", t, {}, 25);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].tokens.size(), 25u);
}

TEST(IclPrompt, TemplatesAndLabelScoring) {
  IclTask task{.name = "t", .labels = {"positive", "negative"}};
  EXPECT_EQ(DemoText(task.tmpl, "good", "positive"), "Review: good Sentiment: positive. ");
  EXPECT_EQ(QueryText(task.tmpl, "good"), "Review: good Sentiment:");
  std::vector<int64_t> starts;
  const std::vector<IclExample> demos = {{"a", 0}, {"bc", 1}};
  const auto ids = EncodeDemos(ByteCodec(), task, demos, &starts);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[1], static_cast<int64_t>(DemoText(task.tmpl, "a", "positive").size()));
  EXPECT_EQ(starts[2], static_cast<int64_t>(ids.size()));

  // Byte codec: " positive" and " negative" both start with ' ' and cannot be told apart.
  EXPECT_FALSE(LabelFirstTokens(ByteCodec(), task.labels).ok());
  IclCodec first_letter = ByteCodec();
  first_letter.encode = [](std::string_view s) {
    std::vector<int32_t> out;
    for (char c : s)
      if (c != ' ') out.push_back(c);
    return out;
  };
  auto lt = LabelFirstTokens(first_letter, task.labels);
  ASSERT_TRUE(lt.ok()) << lt.status().ToString();
  EXPECT_EQ((*lt)[0], 'p');
  EXPECT_EQ((*lt)[1], 'n');
  std::vector<float> logits(128, 0.0f);
  logits['n'] = 2.0f;
  logits['p'] = 1.0f;
  logits['z'] = 5.0f;  // the full-vocabulary argmax is no label at all
  IclPrediction p = Predict(logits, *lt, first_letter, "negative");
  EXPECT_EQ(p.label, 1);
  EXPECT_FALSE(p.full_vocab_correct);
  logits['z'] = 0.0f;
  p = Predict(logits, *lt, first_letter, "negative");
  EXPECT_TRUE(p.full_vocab_correct);  // "n" is a prefix of "negative", the official rule
  EXPECT_EQ(p.full_vocab_token, "n");
}

TEST(IclTask, MappingAndSplitsAreSeeded) {
  const std::vector<std::string> words = {"a", "b", "c", "d", "e", "f"};
  const IclTask m1 = MakeMappingTask(words, {"red", "blue"}, 3), m2 = MakeMappingTask(words, {"red", "blue"}, 3);
  ASSERT_EQ(m1.train.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(m1.train[i].label, m2.train[i].label);
  EXPECT_TRUE(m1.test_in_memory);
  const auto s = SampleIndices(10, 4, 1);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s, SampleIndices(10, 4, 1));
  EXPECT_FALSE(MakeNamedTask("nope", "/nonexistent").ok());
  EXPECT_FALSE(MakeNamedTask("sentiment", "/nonexistent").ok());
}

TEST(LineChart, DrawsSeriesWithIntervalsAndSkipsMissingPoints) {
  plot::LineChart ch{.title = "a < b", .x_label = "x", .y_label = "ppl", .x_labels = {"1", "2", "3"}, .log_y = true};
  ch.series.push_back({.name = "sys&1", .y = {10, NAN, 30}, .lo = {9, NAN, 25}, .hi = {11, NAN, 40}});
  const std::string svg = plot::LineChartSvg(ch);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("a &lt; b"), std::string::npos);
  EXPECT_NE(svg.find("sys&amp;1"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  size_t circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++circles;
  EXPECT_EQ(circles, 2u);  // the NaN point is skipped
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

}  // namespace
}  // namespace lm::eval_longmem
