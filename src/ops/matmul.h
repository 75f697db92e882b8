// Dense projections y = x · Wᵀ (+ b) with weights in the [out, in] layout every format stores.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lm::ops {

// x: [n_tokens, K] f32; w: [N, K] f32; y: [n_tokens, N] f32 (overwritten); bias: [N] f32 or null.
void MatMul(const float* x, const Tensor& w, float* y, int64_t n_tokens, const float* bias = nullptr);

}  // namespace lm::ops
