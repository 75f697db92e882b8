// String helpers.
#include "core/str.h"

#include <cmath>
#include <cstdio>

namespace lm {

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string HumanSeconds(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  const int64_t t = static_cast<int64_t>(seconds);
  return t >= 3600 ? StrCat(t / 3600, "h", (t % 3600) / 60, "m") : StrCat(t / 60, "m", t % 60, "s");
}

}  // namespace lm
