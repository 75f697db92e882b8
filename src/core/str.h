// StrCat and small string helpers (g++ 12 has no std::format).
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace lm {

template <class... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// "[576, 1536]"
template <class Container>
std::string ShapeString(const Container& dims) {
  std::ostringstream os;
  os << '[';
  bool first = true;
  for (auto d : dims) {
    if (!first) os << ", ";
    os << d;
    first = false;
  }
  os << ']';
  return os.str();
}

// 1536 -> "1.5 KiB"
std::string HumanBytes(uint64_t bytes);
// 185 -> "3m5s", 3725 -> "1h2m" (whole seconds; "?" when not finite): ETAs in progress lines.
std::string HumanSeconds(double seconds);

}  // namespace lm
