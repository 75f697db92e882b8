// Table, JSON and chart of an ICL evaluation.
#include "eval/longmem/icl_report.h"

#include <cmath>
#include <cstdio>

#include "core/str.h"

namespace lm::eval_longmem {

std::string FormatIclTable(const IclReport& r) {
  std::string out = StrCat("ICL task '", r.task, "': k=", r.k, " local demos, ", r.n_test, " test items x ", r.seeds,
                           " seeds; chance ", 100.0 / static_cast<double>(r.labels.size()), "%, majority ",
                           100 * r.majority_rate, "%; mean local prompt ", r.mean_local_prompt_tokens, " tokens\n");
  char line[400];
  std::snprintf(line, sizeof line, "%-36s %6s %16s %16s %9s %9s %9s\n", "system", "N", "acc (labels)", "acc (full vocab)",
                "retrieved", "hit rate", "chance");
  out += line;
  for (const IclCell& c : r.cells) {
    auto pct = [](double m, double s) { return StrCat(std::round(m * 1000) / 10, " +- ", std::round(s * 1000) / 10); };
    auto opt = [](double v) { return v < 0 ? std::string("-") : StrCat(std::round(v * 1000) / 10, "%"); };
    const bool memory = c.system.rfind("longmem", 0) == 0;
    std::snprintf(line, sizeof line, "%-36s %6lld %16s %16s %9s %9s %9s\n", c.system.c_str(),
                  static_cast<long long>(c.n_memory), pct(c.mean, c.std).c_str(),
                  pct(c.mean_full_vocab, c.std_full_vocab).c_str(),
                  memory ? StrCat(std::round(c.mean_retrieved * 10) / 10).c_str() : "-", opt(c.hit_rate).c_str(),
                  opt(c.chance_hit_rate).c_str());
    out += line;
  }
  return out;
}

nlohmann::json IclReportJson(const IclReport& r) {
  nlohmann::json cells = nlohmann::json::array();
  for (const IclCell& c : r.cells) {
    nlohmann::json j = {{"system", c.system}, {"n_memory", c.n_memory}, {"accuracy", c.accuracy},
                        {"accuracy_full_vocab", c.accuracy_full_vocab}, {"mean", c.mean}, {"std", c.std},
                        {"mean_full_vocab", c.mean_full_vocab}, {"std_full_vocab", c.std_full_vocab},
                        {"seconds", c.seconds}};
    if (c.system.rfind("longmem", 0) == 0) {
      j["mean_retrieved_tokens_per_query_head"] = c.mean_retrieved;
      if (c.hit_rate >= 0)
        j["retrieval_probe"] = {{"hit_rate_per_head", c.hit_rate}, {"hit_rate_any_head", c.any_head_hit_rate},
                                {"chance_per_head", c.chance_hit_rate}};
    }
    cells.push_back(std::move(j));
  }
  return {{"task", r.task}, {"labels", r.labels}, {"k", r.k}, {"n_test", r.n_test}, {"seeds", r.seeds},
          {"majority_rate", r.majority_rate}, {"chance", 1.0 / static_cast<double>(r.labels.size())},
          {"mean_local_prompt_tokens", r.mean_local_prompt_tokens}, {"n_memory", r.n_memory},
          {"memory_demo_tokens", r.memory_tokens}, {"std", "population (np.std) over seeds"},
          {"prediction", "argmax over the labels' first tokens; accuracy_full_vocab: the official full-vocabulary rule"},
          {"cells", cells}};
}

plot::LineChart IclChart(const IclReport& r, const std::string& title) {
  plot::LineChart ch{.title = title, .x_label = "demonstrations in memory / context (N)", .y_label = "accuracy"};
  for (int64_t n : r.n_memory) ch.x_labels.push_back(StrCat(n));
  std::vector<std::string> names;
  for (const IclCell& c : r.cells)
    if (std::find(names.begin(), names.end(), c.system) == names.end()) names.push_back(c.system);
  for (const std::string& name : names) {
    plot::Series s{.name = name};
    for (int64_t n : r.n_memory) {
      const IclCell* hit = nullptr;
      for (const IclCell& c : r.cells)
        if (c.system == name && (c.n_memory == n || c.n_memory == 0)) hit = &c;
      s.y.push_back(hit ? hit->mean : NAN);
      s.lo.push_back(hit ? hit->mean - hit->std : NAN);
      s.hi.push_back(hit ? hit->mean + hit->std : NAN);
    }
    ch.series.push_back(std::move(s));
  }
  plot::Series chance{.name = "chance", .reference = true};
  chance.y.assign(r.n_memory.size(), 1.0 / static_cast<double>(r.labels.size()));
  ch.series.push_back(std::move(chance));
  return ch;
}

}  // namespace lm::eval_longmem
