// Dense projections y = x · Wᵀ (+ b) with weights in the [out, in] layout every format stores.
// f32 weights go through OpenBLAS; quantised, f16 and bf16 weights are used in place: by the CPU kernels in
// backend/cpu (gemm.h) for decode, a panel of rows at a time dequantised into sgemm for prefill (never a
// whole dequantised copy).
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"

namespace lm::ops {

// How non-f32 weights are multiplied.
enum class MatMulMode {
  kFast,   // decode and short batches: quantised W × Q8-quantised activations (int8 dots, like llama.cpp),
           // f16/bf16 W × f32 x; prefill-sized batches: W dequantised in panels × f32 x (OpenBLAS)
  kExact,  // W dequantised on the fly to f32 × f32 activations (OpenBLAS) at every size, for golden comparisons
};
// Process-wide; default kFast. Set it before running a model, not while one runs.
void SetMatMulMode(MatMulMode mode);
MatMulMode GetMatMulMode();

// x: [n_tokens, K] f32; w: [N, K] f32, f16, bf16 or a GGML block type; y: [n_tokens, N] f32 (overwritten);
// bias: [N] f32 or null.
void MatMul(const float* x, const Tensor& w, float* y, int64_t n_tokens, const float* bias = nullptr);

// One output of MatMulMulti: y = x · wᵀ (+ bias), shapes as for MatMul.
struct MatMulOut {
  const Tensor* w;
  float* y;
  const float* bias = nullptr;
};
// Several products of the same x (Q/K/V, gate/up): the same results as one MatMul per output, but with
// quantised weights the activations are quantised once and all outputs share one parallel region, which
// is most of the cost of a decode step's small products. Other weight types run one MatMul each.
void MatMulMulti(const float* x, std::span<const MatMulOut> outs, int64_t n_tokens);

}  // namespace lm::ops
