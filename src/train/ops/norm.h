// RMSNorm and LayerNorm forward/backward for training. Forward saves the per-row reciprocal std (and the
// mean for LayerNorm) so backward needs only the input, never the normalised output.
#pragma once

#include <cstdint>

namespace lm::train {

// y = x * rstd * w, rstd = 1/sqrt(mean(x²) + eps). y: [R, C]; rstd: [R] (saved); x: [R, C]; w: [C].
void RmsNormForward(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t C, float eps);

struct RmsNormBackwardArgs {
  float* dx = nullptr;        // [R, C] f32; accumulated (the residual stream's gradient flows through it)
  float* dw = nullptr;        // [C] f32, accumulated; null if frozen
  const float* dy = nullptr;  // [R, C]
  const float* x = nullptr;   // [R, C]
  const float* w = nullptr;   // [C]
  const float* rstd = nullptr;  // [R]
  int64_t R = 0, C = 0;
};
void RmsNormBackward(const RmsNormBackwardArgs& a);

// y = (x - mean) * rstd * w + b. mean, rstd: [R] (saved); b may be null.
void LayerNormForward(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b,
                      int64_t R, int64_t C, float eps);

struct LayerNormBackwardArgs {
  float* dx = nullptr;  // [R, C], accumulated
  float* dw = nullptr;  // [C], accumulated; null if frozen
  float* db = nullptr;  // [C], accumulated; null if frozen or absent
  const float* dy = nullptr;
  const float* x = nullptr;
  const float* w = nullptr;
  const float* mean = nullptr;
  const float* rstd = nullptr;
  int64_t R = 0, C = 0;
};
void LayerNormBackward(const LayerNormBackwardArgs& a);

}  // namespace lm::train
