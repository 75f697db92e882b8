// The exact top-k sweep's kernels for few rows (SIMD): dot products of a few query rows with a block of
// pre-RoPE keys (f16, or q8_0 blocks), used instead of sgemm when a task has few rows (a decode step: the G
// query heads of one KV head), where a BLAS call's packing costs more than the products and the sweep
// should run at the speed of reading the keys; and the top-k's skip over scores below its floor.
#pragma once

#include <cstdint>

namespace lm::reattention {

// out[r * out_stride + j] = q_r . keys_j for r < n_rows, j < n; keys_j: D IEEE f16 values at keys + j * stride;
// out_stride 0 means n.
void RowDotsF16(const float* q, int64_t n_rows, const uint16_t* keys, int64_t stride, int64_t n, int64_t D,
                float* out, int64_t out_stride = 0);

// The same for q8_0 keys: n dense rows of D / 32 GGML q8_0 blocks (D % 32 == 0) at keys. Each key's values are
// widened and their block scales multiplied in, then dotted with the rows: the products are those of the
// dequantised keys (ops::LoadKvRow) with the queries. next, n_next: the keys the caller scores after these
// (anywhere), prefetched as these run out; nullptr / 0 prefetches nothing past key n.
void RowDotsQ8(const float* q, int64_t n_rows, const void* keys, int64_t n, int64_t D, float* out,
               const void* next = nullptr, int64_t n_next = 0);

// The first j < n with s[j] > floor, or n: the running top-k's skip over scores that cannot enter it (a
// vector compare per step; the scores of a decode sweep mostly fall below the floor).
int64_t FirstAbove(const float* s, int64_t n, float floor);

}  // namespace lm::reattention
