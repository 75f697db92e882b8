// RMSNorm on the CPU; accumulates in double-free f32 pairs, as GGML does, for matching numerics.
#include "ops/rms_norm.h"

#include <cmath>

namespace lm::ops {

void RmsNorm(const float* x, const float* w, float* y, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    // Sum in double: the rows are short (C = 576) and this keeps the reference independent of order.
    double ss = 0;
    for (int64_t i = 0; i < cols; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(cols) + eps));
    for (int64_t i = 0; i < cols; ++i) yr[i] = xr[i] * scale * w[i];
  }
}

}  // namespace lm::ops
