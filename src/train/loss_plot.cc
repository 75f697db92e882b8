// SVG plotting by hand: two polylines over shared axes with a few tick labels; no plotting dependency.
#include "train/loss_plot.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "io/atomic_file.h"

namespace lm::train {

namespace {
std::string Fmt(double v, const char* f = "%.3g") {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return o;
}
}  // namespace

std::string LossCurveSvg(const std::vector<HistoryPoint>& h, const std::string& title) {
  const double W = 720, H = 420, L = 60, R = 20, T = 40, B = 50;
  double x_max = 1, y_min = 1e30, y_max = -1e30;
  for (const HistoryPoint& p : h) {
    x_max = std::max(x_max, static_cast<double>(p.step));
    for (double v : {p.loss, p.eval_loss})
      if (v >= 0) y_min = std::min(y_min, v), y_max = std::max(y_max, v);
  }
  if (y_min > y_max) y_min = 0, y_max = 1;
  if (y_max - y_min < 1e-6) y_max = y_min + 1;
  auto px = [&](double s) { return L + (W - L - R) * s / x_max; };
  auto py = [&](double v) { return T + (H - T - B) * (1 - (v - y_min) / (y_max - y_min)); };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << Escape(title) << "</text>\n"
     << "<line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B << "\" stroke=\"black\"/>\n"
     << "<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << H - B << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = y_min + (y_max - y_min) * i / 4, s = x_max * i / 4;
    os << "<text x=\"" << L - 6 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">" << Fmt(v) << "</text>\n"
       << "<text x=\"" << px(s) << "\" y=\"" << H - B + 18 << "\" text-anchor=\"middle\">" << Fmt(s, "%.0f") << "</text>\n";
  }
  os << "<text x=\"" << W / 2 << "\" y=\"" << H - 10 << "\" text-anchor=\"middle\">optimiser step</text>\n";
  auto line = [&](bool eval, const char* colour) {
    os << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" points=\"";
    for (const HistoryPoint& p : h) {
      const double v = eval ? p.eval_loss : p.loss;
      if (v >= 0) os << Fmt(px(static_cast<double>(p.step)), "%.1f") << "," << Fmt(py(v), "%.1f") << " ";
    }
    os << "\"/>\n";
  };
  line(false, "steelblue");
  line(true, "darkorange");
  os << "<text x=\"" << W - R - 150 << "\" y=\"" << T + 10 << "\" fill=\"steelblue\">training loss</text>\n"
     << "<text x=\"" << W - R - 150 << "\" y=\"" << T + 26 << "\" fill=\"darkorange\">held-out loss</text>\n</svg>\n";
  return os.str();
}

Status WriteLossCurveSvg(const std::string& path, const std::vector<HistoryPoint>& h, const std::string& title) {
  const std::string svg = LossCurveSvg(h, title);
  return io::WriteFileAtomic(path, {std::string_view(svg)});
}

}  // namespace lm::train
