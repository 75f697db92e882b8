// The exact top-k sweep's kernel for few rows (SIMD): dot products of a few query rows with a block of f16
// pre-RoPE keys, used instead of sgemm when a task has few rows (a decode step: the G query heads of one KV
// head), where a BLAS call's packing costs more than the products and the sweep should run at the speed of
// reading the keys.
#pragma once

#include <cstdint>

namespace lm::reattention {

// out[r * n + j] = q_r . keys_j for r < n_rows, j < n; keys_j: D IEEE f16 values at keys + j * stride.
void RowDotsF16(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                float* out);

}  // namespace lm::reattention
