// Needle-in-a-haystack reporting: accuracy per (length, depth) cell and overall, a terminal table, a JSON
// summary, and an SVG heatmap (depth rows x length columns, red 0% to green 100%).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "eval/niah/runner.h"

namespace lm::niah {

struct GridSummary {
  std::string strategy, task;
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  std::vector<double> cell_accuracy;  // [depths x lengths], mean score of the cell's trials
  std::vector<double> length_accuracy;
  double accuracy = 0;  // mean over every trial
  double prefill_seconds = 0, decode_seconds = 0;
  std::vector<uint64_t> length_kv_bytes;  // mean kv_bytes after each length's cells
  // Per length: the mean share of layers whose answer step attended the whole asked needle, over the cells
  // that report it (CellResult::needle_attended); NaN where none does.
  std::vector<double> length_needle_in_scope;
};

GridSummary Summarize(const GridOptions& options, const std::vector<CellResult>& cells);
std::string FormatTable(const GridSummary& s);
std::string SummaryJson(const GridSummary& s, const std::vector<CellResult>& cells);
std::string HeatmapSvg(const GridSummary& s);
Status WriteTextFile(const std::string& path, const std::string& text);

}  // namespace lm::niah
