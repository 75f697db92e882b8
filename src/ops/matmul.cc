// Dense projections through OpenBLAS. Small-matrix kernels that beat BLAS on this model come later;
// the plain BLAS path stays as the reference they are tested against.
#include "ops/matmul.h"

#include <algorithm>

#include "backend/cpu/blas.h"
#include "core/thread_pool.h"
#include "ops/activations.h"

namespace lm::ops {

void MatMul(const float* x, const Tensor& w, float* y, int64_t n_tokens, const float* bias) {
  LM_CHECK(w.dtype() == DType::kF32, "MatMul expects f32 weights, got ", Name(w.dtype()));
  const int64_t N = w.dim(0), K = w.dim(1);
  // One thread pool for the process: OpenBLAS runs single-threaded inside each worker's column slice.
  constexpr int64_t kAlign = 16;  // slice boundaries on 64-byte rows of C
  const int64_t n_slices = std::min<int64_t>(GlobalPool().n_threads(), (N + kAlign - 1) / kAlign);
  GlobalPool().ParallelFor(n_slices, [&](int64_t b, int64_t e, int) {
    for (int64_t s = b; s < e; ++s) {
      const int64_t n0 = (N * s / n_slices) / kAlign * kAlign;
      const int64_t n1 = s + 1 == n_slices ? N : (N * (s + 1) / n_slices) / kAlign * kAlign;
      SgemmNTStrided(n_tokens, n1 - n0, K, x, w.data<float>() + n0 * K, y + n0, N);
    }
  });
  if (bias) AddBiasRows(y, bias, n_tokens, N);
}

}  // namespace lm::ops
