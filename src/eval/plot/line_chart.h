// A self-contained SVG line chart over categorical x positions (length buckets, memory sizes), with optional
// error bars per point, for evaluation reports. No plotting dependency; points may be missing (NaN).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lm::plot {

struct Series {
  std::string name;
  std::vector<double> y;       // one per x label; NaN: no point
  std::vector<double> lo, hi;  // error bar ends, same length as y, or empty for none
  bool reference = false;      // a dashed grey line without markers (chance, a baseline level)
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<std::string> x_labels;  // evenly spaced categories, left to right
  std::vector<Series> series;
  bool log_y = false;  // perplexities span orders of magnitude
};

std::string LineChartSvg(const LineChart& chart);
// Writes the chart atomically; the message names the path on failure.
Status WriteLineChartSvg(const std::string& path, const LineChart& chart);
// "&lt;" etc. for text placed inside SVG/XML.
std::string XmlEscape(const std::string& s);

}  // namespace lm::plot
