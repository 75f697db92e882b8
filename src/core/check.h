// LM_CHECK: invariants that only a bug can break. Failing one prints where and why, then aborts.
#pragma once

#include "core/str.h"

namespace lm::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& message);
}  // namespace lm::internal

#define LM_CHECK(cond, ...)                                                              \
  do {                                                                                   \
    if (!(cond)) [[unlikely]]                                                            \
      ::lm::internal::CheckFailed(__FILE__, __LINE__, #cond, ::lm::StrCat("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
