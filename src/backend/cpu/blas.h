// Thin row-major wrappers over OpenBLAS sgemm, in the two layouts the engine needs. No BLAS headers here.
#pragma once

#include <cstdint>
#include <string>

namespace lm {

// C[M, N] = alpha * A[M, K] * B[N, K]^T + beta * C. B is the weight layout ([out, in], as stored in
// GGUF/safetensors), so a linear layer is SgemmNT(T, out, in, x, w, y). Row-major, densely packed.
// a: [M, K] f32, b: [N, K] f32, c: [M, N] f32. beta = 0 overwrites C (its old contents may be NaN).
void SgemmNT(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float alpha = 1.0f,
             float beta = 0.0f);

// The same with an explicit row stride of C (ldc >= n), so callers can compute a column slice of a wider C.
void SgemmNTStrided(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, int64_t ldc);

// C[M, N] = alpha * A[M, K] * B[K, N] + beta * C (e.g. attention probabilities times values).
// a: [M, K] f32, b: [K, N] f32, c: [M, N] f32.
void SgemmNN(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float alpha = 1.0f,
             float beta = 0.0f);

// C[M, N] = alpha * A^T * B + beta * C with A stored [K, M] (row stride lda >= M, so A may be a column slice
// of a wider matrix) and B [K, N] packed: weight gradients dW = dYᵀ·X without transposing dY first.
void SgemmTN(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, float* c,
             float alpha = 1.0f, float beta = 0.0f);

// The general form: C[M, N] = alpha * op(A) * op(B) + beta * C, row-major with explicit row strides, so
// operands can be one head's columns of a [T, H, D] tensor. op(A) is [M, K]: A is stored [M, K] (lda >= K)
// or, with trans_a, [K, M] (lda >= M); likewise op(B) is [K, N]: B stored [K, N] or, with trans_b, [N, K].
void SgemmStrided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// OpenBLAS keeps its own thread pool. longmem parallelises around BLAS with its own pool, so BLAS runs
// single-threaded unless this is called first with more. n_threads <= 0 is ignored.
void SetBlasThreads(int n_threads);
int GetBlasThreads();

// The kernel family OpenBLAS uses ("SkylakeX", "Haswell", ...). On AVX-512 CPUs that Debian's OpenBLAS
// maps to its AVX2 kernels, the first BLAS call switches it to the AVX-512 ones (OPENBLAS_CORETYPE, when
// set, is obeyed instead); this reports the result, for benchmarks and logs.
std::string BlasCoreName();

}  // namespace lm
