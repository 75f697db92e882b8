// Logging implementation.
#include "core/log.h"

#include <atomic>
#include <cstdio>

namespace lm {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kWarn)};
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

void LogMessage(LogLevel level, const std::string& message) {
  const char* tag = level == LogLevel::kDebug ? "debug" : level == LogLevel::kInfo ? "info"
                  : level == LogLevel::kWarn  ? "warning" : "error";
  std::fprintf(stderr, "longmem %s: %s\n", tag, message.c_str());
}

}  // namespace lm
