// ICL task loading, splitting and the synthetic mapping task.
#include "eval/longmem/icl_task.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "core/str.h"

namespace lm::eval_longmem {

void SeededShuffle(std::vector<int64_t>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(rng() % i)]);
}

std::vector<int64_t> SampleIndices(int64_t size, int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) idx[static_cast<size_t>(i)] = i;
  SeededShuffle(idx, seed);
  idx.resize(static_cast<size_t>(std::clamp<int64_t>(n, 0, size)));
  return idx;
}

Result<IclTask> LoadTsvTask(const std::string& name, const std::string& path, const IclTemplate& t,
                            uint64_t split_seed, double test_fraction) {
  std::ifstream in(path);
  if (!in) return NotFound(StrCat("icl: cannot read '", path, "'; hint: scripts/setup.sh writes data/eval/icl-*.tsv"));
  std::vector<std::pair<std::string, std::string>> rows;
  std::string line;
  int64_t n_line = 0;
  while (std::getline(in, line)) {
    ++n_line;
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size())
      return InvalidArgument(StrCat("icl: ", path, ":", n_line, ": expected 'input<TAB>label', got '", line, "'"));
    rows.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  std::map<std::string, int32_t> label_id;
  for (const auto& r : rows) label_id.emplace(r.second, 0);
  if (label_id.size() < 2) return InvalidArgument(StrCat("icl: ", path, " has ", label_id.size(), " label(s); need >= 2"));
  IclTask task{.name = name, .tmpl = t};
  for (auto& [label, id] : label_id) {
    id = static_cast<int32_t>(task.labels.size());
    task.labels.push_back(label);
  }
  std::vector<int64_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  SeededShuffle(order, split_seed);
  const auto n_test = static_cast<size_t>(test_fraction * static_cast<double>(rows.size()));
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& r = rows[static_cast<size_t>(order[i])];
    (i < n_test ? task.test : task.train).push_back({r.first, label_id[r.second]});
  }
  return task;
}

IclTask MakeMappingTask(std::span<const std::string> words, std::vector<std::string> labels, uint64_t seed) {
  IclTask task{.name = "mapping", .tmpl = {.input_prefix = "Input: ", .label_prefix = " Type:"},
               .labels = std::move(labels), .test_in_memory = true};
  std::mt19937_64 rng(seed);
  for (const std::string& w : words)
    task.train.push_back({w, static_cast<int32_t>(rng() % task.labels.size())});
  return task;
}

Result<IclTask> MakeNamedTask(const std::string& name, const std::string& data_dir) {
  const auto file = [&](const char* f) { return (std::filesystem::path(data_dir) / f).string(); };
  if (name == "sentiment") return LoadTsvTask(name, file("icl-sentiment.tsv"), {});
  const IclTemplate typed{.input_prefix = "Input: ", .label_prefix = " Type:"};
  if (name == "pos") return LoadTsvTask(name, file("icl-pos.tsv"), typed);
  if (name == "mapping") {
    auto pos = LoadTsvTask(name, file("icl-pos.tsv"), typed);
    if (!pos.ok()) return pos.status();
    std::vector<std::string> words;
    for (const auto* split : {&pos->train, &pos->test})
      for (const IclExample& e : *split) words.push_back(e.x);
    std::sort(words.begin(), words.end());
    return MakeMappingTask(words, {"red", "blue", "green", "yellow"});
  }
  return InvalidArgument(StrCat("icl: unknown task '", name, "'; hint: sentiment | pos | mapping"));
}

}  // namespace lm::eval_longmem
