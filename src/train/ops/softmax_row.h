// Vectorised row kernels of the training softmaxes (attention probabilities, cross-entropy).
#pragma once

#include <cstdint>

namespace lm::train {

// x[i] = exp(x[i] - shift) in place, and returns the sum of the results. Arguments below -87 (including
// -inf, the masked entries) give exactly 0: exp there is under 2e-38, far below f32 resolution of any
// softmax sum >= 1. NaN stays NaN. Lanes sum up to 64 exponentials each in f32; those partial sums add up in double.
// Accuracy: Highway's Exp, within 3 ulp of the correctly rounded result.
double ExpShiftSum(float* x, int64_t n, float shift);

// row[j] = k_pos[j] <= q_pos ? row[j] * scale : -inf (the causal / explicit-position mask), and returns the
// row's maximum (-inf when every key is masked).
float MaskScaleMax(float* row, const int32_t* k_pos, int64_t n, int32_t q_pos, float scale);

}  // namespace lm::train
