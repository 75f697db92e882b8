// RMSNorm: y = x / sqrt(mean(x^2) + eps) * w, row by row.
#pragma once

#include <cstdint>

namespace lm::ops {

// x, y: [rows, cols] f32 (may alias); w: [cols] f32.
void RmsNorm(const float* x, const float* w, float* y, int64_t rows, int64_t cols, float eps);

}  // namespace lm::ops
