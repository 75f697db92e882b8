// Element-wise activations and vector helpers used by the transformer blocks.
#pragma once

#include <cstdint>

namespace lm::ops {

// out = silu(gate) * up; all [n] f32 (out may alias gate).
void SwiGlu(const float* gate, const float* up, float* out, int64_t n);
// y += x, [n] f32.
void AddInPlace(float* y, const float* x, int64_t n);
// y[r, :] += bias for each of rows rows of [cols].
void AddBiasRows(float* y, const float* bias, int64_t rows, int64_t cols);

}  // namespace lm::ops
