// OpenBLAS sgemm wrappers: shape checks, then one cblas_sgemm call.
#include "backend/cpu/blas.h"

#include <cblas.h>

#include <limits>

#include "core/check.h"

namespace lm {
namespace {

// cblas takes int sizes (OpenBLAS built with 32-bit integers, as Debian ships it).
blasint ToBlasInt(int64_t v, const char* what) {
  LM_CHECK(v >= 0 && v <= std::numeric_limits<blasint>::max(), "sgemm: ", what, " = ", v, " out of range");
  return static_cast<blasint>(v);
}

}  // namespace

void SgemmNT(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float alpha,
             float beta) {
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  if (M == 0 || N == 0) return;
  // Leading dimensions must be >= 1 even for empty K (BLAS rejects 0).
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, alpha, a, K > 0 ? K : 1, b, K > 0 ? K : 1,
              beta, c, N);
}

void SgemmNN(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float alpha,
             float beta) {
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, a, K > 0 ? K : 1, b, N, beta, c, N);
}

void SetBlasThreads(int n_threads) {
  if (n_threads > 0) openblas_set_num_threads(n_threads);
}

int GetBlasThreads() { return openblas_get_num_threads(); }

}  // namespace lm
