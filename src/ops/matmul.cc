// Dense projections through OpenBLAS. Small-matrix kernels that beat BLAS on this model come later;
// the plain BLAS path stays as the reference they are tested against.
#include "ops/matmul.h"

#include "backend/cpu/blas.h"
#include "ops/activations.h"

namespace lm::ops {

void MatMul(const float* x, const Tensor& w, float* y, int64_t n_tokens, const float* bias) {
  LM_CHECK(w.dtype() == DType::kF32, "MatMul expects f32 weights, got ", Name(w.dtype()));
  const int64_t N = w.dim(0), K = w.dim(1);
  SgemmNT(n_tokens, N, K, x, w.data<float>(), y);
  if (bias) AddBiasRows(y, bias, n_tokens, N);
}

}  // namespace lm::ops
