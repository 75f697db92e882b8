// ValidateSamplingParams: user-facing checks on sampling options, with messages that name the fix.
#include <cmath>

#include "core/str.h"
#include "sampling/sampler.h"

namespace lm {

Status ValidateSamplingParams(const SamplingParams& p) {
  // Negative temperature / top_k and min_p = 0 are documented "off" values, so they pass.
  if (!std::isfinite(p.temperature)) {
    return InvalidArgument(StrCat("sampling: temperature must be finite, got ", p.temperature,
                                  "; hint: use 0 for greedy decoding"));
  }
  if (std::isnan(p.top_p) || p.top_p < 0.0f || p.top_p > 1.0f) {
    return InvalidArgument(
        StrCat("sampling: top_p must lie in [0, 1], got ", p.top_p, "; hint: 1 disables it"));
  }
  if (std::isnan(p.min_p) || p.min_p < 0.0f || p.min_p > 1.0f) {
    return InvalidArgument(
        StrCat("sampling: min_p must lie in [0, 1], got ", p.min_p, "; hint: 0 disables it"));
  }
  if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0.0f) {
    return InvalidArgument(StrCat("sampling: repeat_penalty must be a positive finite number, got ",
                                  p.repeat_penalty, "; hint: 1 disables it"));
  }
  if (p.repeat_last_n < -1) {
    return InvalidArgument(StrCat("sampling: repeat_last_n must be >= -1, got ", p.repeat_last_n,
                                  "; hint: 0 disables the penalty, -1 uses the whole history"));
  }
  return OkStatus();
}

}  // namespace lm
