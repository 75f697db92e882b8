// Minimal leveled logging to stderr; the CLI sets the level.
#pragma once

#include <string>

#include "core/str.h"

namespace lm {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kQuiet = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogMessage(LogLevel level, const std::string& message);

template <class... Args>
void LogInfo(const Args&... args) {
  if (GetLogLevel() <= LogLevel::kInfo) LogMessage(LogLevel::kInfo, StrCat(args...));
}
template <class... Args>
void LogWarn(const Args&... args) {
  if (GetLogLevel() <= LogLevel::kWarn) LogMessage(LogLevel::kWarn, StrCat(args...));
}
template <class... Args>
void LogDebug(const Args&... args) {
  if (GetLogLevel() <= LogLevel::kDebug) LogMessage(LogLevel::kDebug, StrCat(args...));
}

}  // namespace lm
