// Check failure reporting.
#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace lm::internal {

void CheckFailed(const char* file, int line, const char* expr, const std::string& message) {
  std::fprintf(stderr, "longmem: internal check failed at %s:%d: %s %s\n", file, line, expr, message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace lm::internal
