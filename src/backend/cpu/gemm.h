// CPU products y = x · Wᵀ with W used in place in its stored format (GGML blocks, f16, bf16).
// Two families: int8 dot products of quantised W with Q8 activations (the fast path, like llama.cpp),
// and f16/bf16 W widened to f32 against f32 activations. Each has a SIMD kernel (Highway, dynamic
// dispatch over AVX2 / AVX-512 VNNI) and a plain reference that the tests hold it to.
#pragma once

#include <cstdint>

#include "backend/cpu/q8_activations.h"
#include "core/dtype.h"

namespace lm {

// Weight formats QuantGemm accepts: q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K.
bool QuantGemmSupports(DType w_type);

// Rows [0, n_rows) of W against all T tokens of x:  y[t*ldy + r] = Σ_k W[r,k] · x̃[t,k], where x̃ is
// the dequantised Q8 activation. w points at row 0; rows are row_bytes apart (K/block_elems blocks).
struct QuantGemmArgs {
  DType w_type;
  const void* w;        // [n_rows, K] in w_type blocks
  int64_t row_bytes;
  int64_t n_rows;
  Q8Rows x;             // T rows of K
  int64_t T;
  float* y;             // y[t*ldy + r], overwritten
  int64_t ldy;
};
void QuantGemm(const QuantGemmArgs& a);
// Reference: dequantises each W row (core/quant.h) and x̃, sums in double. Allocates; tests only.
void QuantGemmReference(const QuantGemmArgs& a);

// f16 / bf16 weights against f32 activations: y[t*ldy + r] = Σ_k W[r,k] · x[t*K + k].
struct FloatGemmArgs {
  DType w_type;         // kF16 or kBF16
  const void* w;        // [n_rows, K]
  int64_t n_rows;
  const float* x;       // [T, K]
  int64_t K;
  int64_t T;
  float* y;
  int64_t ldy;
};
void FloatGemm(const FloatGemmArgs& a);
void FloatGemmReference(const FloatGemmArgs& a);

// Name of the SIMD target the dispatcher picked ("AVX3_DL", "AVX2", ...), for benchmarks and logs.
const char* GemmTargetName();

}  // namespace lm
