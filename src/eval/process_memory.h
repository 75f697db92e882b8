// Process memory for per-system reports: current and peak resident set size, and a peak reset (Linux
// /proc/self/clear_refs, "5") so that one process can measure the peak of each system it runs in turn.
#pragma once

#include <cstdint>

namespace lm::eval {

uint64_t CurrentRssBytes();  // VmRSS; 0 where /proc is unavailable
uint64_t PeakRssBytes();     // VmHWM, the peak since start or since the last successful ResetPeakRss
// Returns freed heap to the system (malloc_trim), then sets the peak to the current RSS. False where the
// kernel refuses: later peaks then include everything run before.
bool ResetPeakRss();

}  // namespace lm::eval
