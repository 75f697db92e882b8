// Monotonic wall-clock seconds, for progress lines, ETAs and throughput figures.
#pragma once

#include <chrono>

namespace lm {

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace lm
