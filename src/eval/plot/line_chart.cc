// SVG line chart: axes, y ticks (linear or log), categorical x ticks, one polyline per series with markers
// and error bars, and a legend. Colours cycle through a fixed palette so the same series order always
// looks the same.
#include "eval/plot/line_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/atomic_file.h"

namespace lm::plot {

namespace {
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
std::string Fmt(double v, const char* f = "%.4g") {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string LineChartSvg(const LineChart& ch) {
  const double W = 860, H = 440, L = 70, R = 290, T = 44, B = 60;
  const auto tf = [&](double v) { return ch.log_y ? std::log10(v) : v; };
  double lo = 1e300, hi = -1e300;
  for (const Series& s : ch.series)
    for (size_t i = 0; i < s.y.size(); ++i)
      for (double v : {s.y[i], s.lo.empty() ? NAN : s.lo[i], s.hi.empty() ? NAN : s.hi[i]})
        if (std::isfinite(v) && (!ch.log_y || v > 0)) lo = std::min(lo, tf(v)), hi = std::max(hi, tf(v));
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const size_t nx = std::max<size_t>(ch.x_labels.size(), 1);
  auto px = [&](size_t i) { return L + (W - L - R) * (static_cast<double>(i) + 0.5) / static_cast<double>(nx); };
  auto py = [&](double v) { return T + (H - T - B) * (1 - (tf(v) - lo) / (hi - lo)); };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"" << (W - R + L) / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" << XmlEscape(ch.title)
     << "</text>\n<line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B
     << "\" stroke=\"black\"/>\n<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << H - B
     << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 5; ++i) {
    const double t = lo + (hi - lo) * i / 5, v = ch.log_y ? std::pow(10.0, t) : t;
    const double y = T + (H - T - B) * (1 - static_cast<double>(i) / 5);
    os << "<line x1=\"" << L - 4 << "\" y1=\"" << y << "\" x2=\"" << W - R << "\" y2=\"" << y
       << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << L - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << Fmt(v, "%.3g")
       << "</text>\n";
  }
  for (size_t i = 0; i < ch.x_labels.size(); ++i)
    os << "<text x=\"" << px(i) << "\" y=\"" << H - B + 18 << "\" text-anchor=\"middle\">" << XmlEscape(ch.x_labels[i])
       << "</text>\n";
  os << "<text x=\"" << (W - R + L) / 2 << "\" y=\"" << H - 14 << "\" text-anchor=\"middle\">" << XmlEscape(ch.x_label)
     << "</text>\n<text transform=\"translate(16," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
     << XmlEscape(ch.y_label) << (ch.log_y ? " (log scale)" : "") << "</text>\n";
  for (size_t si = 0; si < ch.series.size(); ++si) {
    const Series& s = ch.series[si];
    const char* colour = s.reference ? "#999999" : kPalette[si % (sizeof kPalette / sizeof kPalette[0])];
    auto ok = [&](double v) { return std::isfinite(v) && (!ch.log_y || v > 0); };
    os << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\""
       << (s.reference ? " stroke-dasharray=\"6,4\"" : "") << " points=\"";
    // Series side by side by a few pixels, so overlapping error bars stay readable.
    const double jitter = (static_cast<double>(si) - 0.5 * static_cast<double>(ch.series.size() - 1)) * 3;
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.y.size() && i < nx; ++i)
      if (ok(s.y[i])) pts.emplace_back(px(i) + (s.reference ? 0 : jitter), py(s.y[i]));
    if (s.reference && !pts.empty()) {  // a level across the whole plot
      pts.insert(pts.begin(), {L, pts.front().second});
      pts.emplace_back(W - R, pts.back().second);
    }
    for (const auto& [x, y] : pts) os << Fmt(x, "%.1f") << "," << Fmt(y, "%.1f") << " ";
    os << "\"/>\n";
    for (size_t i = 0; i < s.y.size() && i < nx && !s.reference; ++i) {
      if (!ok(s.y[i])) continue;
      const double x = px(i) + jitter;
      if (!s.lo.empty() && ok(s.lo[i]) && ok(s.hi[i]))
        os << "<line x1=\"" << Fmt(x, "%.1f") << "\" y1=\"" << Fmt(py(s.lo[i]), "%.1f") << "\" x2=\"" << Fmt(x, "%.1f")
           << "\" y2=\"" << Fmt(py(s.hi[i]), "%.1f") << "\" stroke=\"" << colour << "\" stroke-width=\"1.5\"/>\n";
      os << "<circle cx=\"" << Fmt(x, "%.1f") << "\" cy=\"" << Fmt(py(s.y[i]), "%.1f") << "\" r=\"3.5\" fill=\"" << colour
         << "\"/>\n";
    }
    os << "<rect x=\"" << W - R + 14 << "\" y=\"" << T + 4 + 18 * static_cast<double>(si) << "\" width=\"12\" height=\"12\" fill=\""
       << colour << "\"/>\n<text x=\"" << W - R + 32 << "\" y=\"" << T + 14 + 18 * static_cast<double>(si) << "\">"
       << XmlEscape(s.name) << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

Status WriteLineChartSvg(const std::string& path, const LineChart& chart) {
  const std::string svg = LineChartSvg(chart);
  return io::WriteFileAtomic(path, {std::string_view(svg)});
}

}  // namespace lm::plot
