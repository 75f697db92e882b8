// Needle-in-a-haystack reporting: summary, table, JSON, SVG heatmap.
#include "eval/niah/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace lm::niah {

GridSummary Summarize(const GridOptions& o, const std::vector<CellResult>& cells) {
  GridSummary s{.strategy = o.strategy, .task = TaskName(o.task), .lengths = o.lengths, .depths = o.depths};
  const size_t nl = o.lengths.size(), nd = o.depths.size();
  std::vector<double> sum(nl * nd, 0), cnt(nl * nd, 0), lsum(nl, 0), lcnt(nl, 0), kv(nl, 0), scope(nl, 0),
      scnt(nl, 0);
  double total = 0;
  for (const auto& c : cells) {
    size_t li = 0, di = 0;
    while (li < nl && o.lengths[li] != c.length) ++li;
    while (di < nd && std::fabs(o.depths[di] - c.depth) > 1e-9) ++di;
    if (li == nl || di == nd) continue;
    sum[di * nl + li] += c.score;
    cnt[di * nl + li] += 1;
    lsum[li] += c.score;
    lcnt[li] += 1;
    kv[li] += static_cast<double>(c.kv_bytes);
    if (!c.needle_attended.empty()) {
      scope[li] += static_cast<double>(c.layers_with_whole_needle()) / static_cast<double>(c.needle_attended.size());
      scnt[li] += 1;
    }
    total += c.score;
    s.prefill_seconds += c.prefill_seconds;
    s.decode_seconds += c.decode_seconds;
  }
  for (size_t i = 0; i < nl * nd; ++i) s.cell_accuracy.push_back(cnt[i] > 0 ? sum[i] / cnt[i] : NAN);
  for (size_t i = 0; i < nl; ++i) {
    s.length_accuracy.push_back(lcnt[i] > 0 ? lsum[i] / lcnt[i] : NAN);
    s.length_kv_bytes.push_back(lcnt[i] > 0 ? static_cast<uint64_t>(kv[i] / lcnt[i]) : 0);
    s.length_needle_in_scope.push_back(scnt[i] > 0 ? scope[i] / scnt[i] : NAN);
  }
  s.accuracy = cells.empty() ? 0 : total / static_cast<double>(cells.size());
  return s;
}

std::string FormatTable(const GridSummary& s) {
  std::string out = "task " + s.task + ", memory " + s.strategy + "\n  depth \\ length";
  char buf[64];
  for (int64_t l : s.lengths) {
    std::snprintf(buf, sizeof(buf), "%10lld", static_cast<long long>(l));
    out += buf;
  }
  out += "\n";
  for (size_t d = 0; d < s.depths.size(); ++d) {
    std::snprintf(buf, sizeof(buf), "  %14.2f", s.depths[d]);
    out += buf;
    for (size_t l = 0; l < s.lengths.size(); ++l) {
      std::snprintf(buf, sizeof(buf), "%9.0f%%", 100 * s.cell_accuracy[d * s.lengths.size() + l]);
      out += buf;
    }
    out += "\n";
  }
  out += "  all depths    ";
  for (double a : s.length_accuracy) {
    std::snprintf(buf, sizeof(buf), "%9.0f%%", 100 * a);
    out += buf;
  }
  out += "\n  KV MiB        ";
  for (uint64_t b : s.length_kv_bytes) {
    std::snprintf(buf, sizeof(buf), "%10.1f", static_cast<double>(b) / (1 << 20));
    out += buf;
  }
  const bool any_scope = std::any_of(s.length_needle_in_scope.begin(), s.length_needle_in_scope.end(),
                                     [](double f) { return !std::isnan(f); });
  if (any_scope) {
    out += "\n  needle layers ";  // share of layers whose answer step attended the whole needle
    for (double f : s.length_needle_in_scope) {
      std::snprintf(buf, sizeof(buf), "%9.0f%%", 100 * f);
      out += buf;
    }
  }
  std::snprintf(buf, sizeof(buf), "\n  accuracy %.1f%%", 100 * s.accuracy);
  return out + buf + "\n";
}

std::string SummaryJson(const GridSummary& s, const std::vector<CellResult>& cells) {
  nlohmann::json j{{"strategy", s.strategy},
                   {"task", s.task},
                   {"accuracy", s.accuracy},
                   {"lengths", s.lengths},
                   {"depths", s.depths},
                   {"prefill_seconds", s.prefill_seconds},
                   {"decode_seconds", s.decode_seconds}};
  nlohmann::json per_len = nlohmann::json::array();
  for (size_t i = 0; i < s.lengths.size(); ++i)
    per_len.push_back(
        {{"length", s.lengths[i]},
         {"accuracy", s.length_accuracy[i]},
         {"kv_bytes", s.length_kv_bytes[i]},
         {"needle_in_scope", s.length_needle_in_scope[i]}});
  j["per_length"] = per_len;
  nlohmann::json grid = nlohmann::json::array();
  for (size_t d = 0; d < s.depths.size(); ++d)
    for (size_t l = 0; l < s.lengths.size(); ++l)
      grid.push_back(
          {{"length", s.lengths[l]}, {"depth", s.depths[d]}, {"accuracy", s.cell_accuracy[d * s.lengths.size() + l]}});
  j["cells"] = grid;
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& c : cells)
    trials.push_back({{"length", c.length},
                      {"depth", c.depth},
                      {"trial", c.trial},
                      {"score", c.score},
                      {"expected", c.expected},
                      {"response", c.response},
                      {"prefill_seconds", c.prefill_seconds},
                      {"decode_seconds", c.decode_seconds},
                      {"kv_bytes", c.kv_bytes},
                      {"needle_attended", c.needle_attended}});
  j["trials"] = trials;
  return j.dump(1) + "\n";
}

std::string HeatmapSvg(const GridSummary& s) {
  const int cw = 90, ch = 36, left = 70, top = 50;
  const int w = left + cw * static_cast<int>(s.lengths.size()) + 20;
  const int h = top + ch * static_cast<int>(s.depths.size()) + 40;
  std::string svg = StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", w, "\" height=\"", h,
                           "\" font-family=\"sans-serif\" font-size=\"12\">\n<text x=\"10\" y=\"20\" font-size=\"14\">",
                           s.task, " / ", s.strategy, ": accuracy ", std::llround(100 * s.accuracy), "%</text>\n");
  for (size_t l = 0; l < s.lengths.size(); ++l)
    svg += StrCat("<text x=\"", left + cw * static_cast<int>(l) + cw / 2, "\" y=\"", top - 6,
                  "\" text-anchor=\"middle\">", s.lengths[l], "</text>\n");
  for (size_t d = 0; d < s.depths.size(); ++d) {
    const int y = top + ch * static_cast<int>(d);
    char label[32];
    std::snprintf(label, sizeof(label), "%.2f", s.depths[d]);
    svg += StrCat("<text x=\"", left - 8, "\" y=\"", y + ch / 2 + 4, "\" text-anchor=\"end\">", label, "</text>\n");
    for (size_t l = 0; l < s.lengths.size(); ++l) {
      const double a = s.cell_accuracy[d * s.lengths.size() + l];
      const int x = left + cw * static_cast<int>(l);
      const int r = std::isnan(a) ? 200 : static_cast<int>(std::lround(220 * (1 - a)));
      const int g = std::isnan(a) ? 200 : static_cast<int>(std::lround(190 * a));
      svg += StrCat("<rect x=\"", x, "\" y=\"", y, "\" width=\"", cw - 2, "\" height=\"", ch - 2, "\" fill=\"rgb(", r,
                    ",", g, ",60)\"/><text x=\"", x + cw / 2, "\" y=\"", y + ch / 2 + 4,
                    "\" text-anchor=\"middle\" fill=\"white\">",
                    std::isnan(a) ? std::string("-") : StrCat(std::llround(100 * a), "%"), "</text>\n");
    }
  }
  svg +=
      StrCat("<text x=\"", left, "\" y=\"", h - 12, "\">context length (tokens) &#8594;   rows: needle depth</text>\n");
  return svg + "</svg>\n";
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  if (!f) return IoError(StrCat("cannot write '", path, "'"));
  f << text;
  return f ? OkStatus() : IoError(StrCat("write to '", path, "' failed"));
}

}  // namespace lm::niah
