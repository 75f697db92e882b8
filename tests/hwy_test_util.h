// Runs a test body once per Highway SIMD target compiled into the project's kernels and supported here.
#pragma once

// The project's target set first, so SupportedAndGeneratedTargets() lists what the kernels were built for.
#include "backend/cpu/hwy_targets.h"

#include <gtest/gtest.h>

#include "hwy/targets.h"

namespace lm::test {

// fn runs with only `target` enabled (AVX3_DL, AVX2, the fallback, as present). kernel_target, when given,
// names the target a kernel dispatches to; it must be the one enabled, or the kernel silently fell back.
template <class Fn>
void ForEachHwyTarget(const Fn& fn, const char* (*kernel_target)() = nullptr) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    if (kernel_target != nullptr) {
      ASSERT_STREQ(kernel_target(), hwy::TargetName(target));
    }
    fn();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace lm::test
