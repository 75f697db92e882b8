// Table, JSON and chart of a perplexity evaluation.
#include "eval/longmem/ppl_report.h"

#include <cmath>
#include <cstdio>

#include "core/str.h"

namespace lm::eval_longmem {

namespace {
std::string F(double v, const char* f = "%.2f") {
  if (!std::isfinite(v)) return "-";
  char b[48];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
nlohmann::json IntervalJson(const Interval& i) { return {{"value", i.value}, {"lo", i.lo}, {"hi", i.hi}}; }
nlohmann::json BucketJson(const BucketResult& b) {
  nlohmann::json j = {{"n_docs", b.n_docs}, {"n_tokens", b.n_tokens}, {"n_segments", b.n_segments},
                      {"ppl", IntervalJson(b.ppl)}, {"delta_nll_vs_reference", IntervalJson(b.delta_nll)}};
  if (std::isfinite(b.delta_nll_memory.value)) j["delta_nll_vs_sidenet_without_memory"] = IntervalJson(b.delta_nll_memory);
  return j;
}
}  // namespace

std::string FormatPplTable(const PplEvalReport& r) {
  std::string out = StrCat("perplexity by length bucket (segment ", r.segment, "; ", r.bootstrap.level * 100,
                           "% bootstrap CI over segments, ", r.bootstrap.n_resamples, " resamples)\n");
  char line[512];
  std::snprintf(line, sizeof line, "%-34s", "system");
  out += line;
  for (size_t b = 0; b < r.bucket_labels.size(); ++b) {
    if (r.systems.empty() || r.systems[0].buckets[b].n_docs == 0) continue;
    std::snprintf(line, sizeof line, " %26s", StrCat(r.bucket_labels[b], " (", r.systems[0].buckets[b].n_docs, " docs)").c_str());
    out += line;
  }
  out += StrCat("  ", "      all  dNLL vs ref        tok/s  peak RSS\n");
  for (const SystemResult& s : r.systems) {
    std::snprintf(line, sizeof line, "%-34s", s.name.substr(0, 34).c_str());
    out += line;
    for (const BucketResult& b : s.buckets) {
      if (b.n_docs == 0) continue;
      std::snprintf(line, sizeof line, " %26s", StrCat(F(b.ppl.value), " [", F(b.ppl.lo), ", ", F(b.ppl.hi), "]").c_str());
      out += line;
    }
    std::snprintf(line, sizeof line, "  %9s  %+.3f [%+.3f,%+.3f] %7.1f  %s\n", F(s.all.ppl.value).c_str(),
                  s.all.delta_nll.value, s.all.delta_nll.lo, s.all.delta_nll.hi, s.tokens_per_second,
                  HumanBytes(s.peak_rss_bytes).c_str());
    out += line;
  }
  for (const SystemResult& s : r.systems)
    if (std::isfinite(s.all.delta_nll_memory.value))
      out += StrCat("memory effect of ", s.name, ": ", F(s.all.delta_nll_memory.value, "%+.4f"), " nats/token [",
                    F(s.all.delta_nll_memory.lo, "%+.4f"), ", ", F(s.all.delta_nll_memory.hi, "%+.4f"),
                    "] vs the SideNet without memory (negative: memory helps)\n");
  return out;
}

nlohmann::json PplReportJson(const PplEvalReport& r) {
  nlohmann::json docs = nlohmann::json::array(), systems = nlohmann::json::array();
  for (const auto& d : r.docs) docs.push_back({{"name", d.name}, {"n_tokens", d.n_tokens}, {"bucket", r.bucket_labels[static_cast<size_t>(d.bucket)]}});
  for (const SystemResult& s : r.systems) {
    nlohmann::json buckets = nlohmann::json::object();
    for (size_t b = 0; b < s.buckets.size(); ++b)
      if (s.buckets[b].n_docs > 0) buckets[r.bucket_labels[b]] = BucketJson(s.buckets[b]);
    nlohmann::json j = {{"name", s.name}, {"kind", s.kind}, {"description", s.description},
                        {"buckets", buckets}, {"all", BucketJson(s.all)}, {"seconds", s.seconds},
                        {"tokens_per_second", s.tokens_per_second}, {"peak_rss_bytes", s.peak_rss_bytes},
                        {"peak_rss_isolated", s.peak_rss_isolated}, {"state_bytes", s.state.state_bytes},
                        {"tokens_read", s.state.tokens_read}};
    if (s.state.segments > 0)
      j["memory"] = {{"segments", s.state.segments}, {"segments_with_memory", s.state.segments_with_memory},
                     {"mean_retrieved_tokens_per_query_head", s.state.retrieved_sum / static_cast<double>(s.state.segments)},
                     {"bank_tokens_after_last_document", s.state.bank_tokens}};
    systems.push_back(std::move(j));
  }
  return {{"segment", r.segment},
          {"reference", r.systems.empty() ? "" : r.systems[0].name},
          {"bootstrap", {{"resamples", r.bootstrap.n_resamples}, {"seed", r.bootstrap.seed}, {"level", r.bootstrap.level},
                         {"unit", "segment"}}},
          {"buckets", r.bucket_labels},
          {"documents", docs},
          {"systems", systems}};
}

plot::LineChart PplChart(const PplEvalReport& r, const std::string& title) {
  plot::LineChart ch{.title = title, .x_label = "document length (tokens)", .y_label = "perplexity", .log_y = true};
  std::vector<size_t> used;
  for (size_t b = 0; b < r.bucket_labels.size(); ++b)
    if (!r.systems.empty() && r.systems[0].buckets[b].n_docs > 0) {
      used.push_back(b);
      ch.x_labels.push_back(StrCat(r.bucket_labels[b], " (", r.systems[0].buckets[b].n_docs, ")"));
    }
  for (const SystemResult& s : r.systems) {
    plot::Series ser{.name = s.name};
    for (size_t b : used) {
      ser.y.push_back(s.buckets[b].ppl.value);
      ser.lo.push_back(s.buckets[b].ppl.lo);
      ser.hi.push_back(s.buckets[b].ppl.hi);
    }
    ch.series.push_back(std::move(ser));
  }
  return ch;
}

}  // namespace lm::eval_longmem
