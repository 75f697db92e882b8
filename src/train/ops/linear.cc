// Training matmuls through OpenBLAS (single-threaded) with the global pool splitting rows between workers.
// dW = dyᵀ·x goes through an explicit transpose of dy because the BLAS wrapper offers only NT and NN;
// the transpose moves T·N floats against 2·T·N·K flops of the product.
#include "train/ops/linear.h"

#include <algorithm>
#include <vector>

#include "backend/cpu/blas.h"
#include "core/quant.h"
#include "core/thread_pool.h"

namespace lm::train {

namespace {
constexpr int64_t kTileRows = 256;  // rows of a frozen quantised weight dequantised at a time

// Splits [0, n) into one contiguous range per worker (ranges of at most a few rows run inline).
template <class Fn>
void ParallelRange(int64_t n, Fn&& fn) {
  if (n <= 0) return;
  const int64_t parts = std::min<int64_t>(GlobalPool().n_threads(), std::max<int64_t>(1, n / 4));
  GlobalPool().ParallelFor(parts, [&](int64_t b, int64_t e, int) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t r0 = n * p / parts, r1 = n * (p + 1) / parts;
      if (r1 > r0) fn(r0, r1);
    }
  });
}

void DequantTile(const Tensor& w, int64_t n0, int64_t n1, float* tile) {
  const int64_t K = w.dim(1);
  const uint64_t row_bytes = *BytesFor(w.dtype(), K);
  const auto* base = static_cast<const uint8_t*>(w.raw());
  ParallelRange(n1 - n0, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      DequantizeRow(w.dtype(), base + static_cast<uint64_t>(n0 + r) * row_bytes, tile + r * K, K);
  });
}
}  // namespace

void LinearForward(float* y, const float* x, const float* w, int64_t T, int64_t N, int64_t K) {
  if (T >= 2 * GlobalPool().n_threads()) {
    ParallelRange(T, [&](int64_t r0, int64_t r1) { SgemmNT(r1 - r0, N, K, x + r0 * K, w, y + r0 * N); });
  } else {  // a handful of rows: split the output columns instead
    ParallelRange(N, [&](int64_t n0, int64_t n1) { SgemmNTStrided(T, n1 - n0, K, x, w + n0 * K, y + n0, N); });
  }
}

void LinearBackward(const LinearBackwardArgs& a) {
  if (a.dx) {
    const float beta = a.accumulate_dx ? 1.0f : 0.0f;
    ParallelRange(a.T, [&](int64_t r0, int64_t r1) {
      SgemmNN(r1 - r0, a.K, a.N, a.dy + r0 * a.N, a.w, a.dx + r0 * a.K, 1.0f, beta);
    });
  }
  if (a.dw) {
    // dW[n0:n1] += dy[:, n0:n1]ᵀ · x, read in place (no transposed copy of dy).
    ParallelRange(a.N, [&](int64_t n0, int64_t n1) {
      SgemmTN(n1 - n0, a.K, a.T, a.dy + n0, a.N, a.x, a.dw + n0 * a.K, 1.0f, 1.0f);
    });
  }
}

void FrozenLinearForward(float* y, const float* x, const Tensor& w, int64_t T) {
  const int64_t N = w.dim(0), K = w.dim(1);
  if (w.dtype() == DType::kF32) return LinearForward(y, x, w.data<float>(), T, N, K);
  std::vector<float> tile(static_cast<size_t>(std::min(N, kTileRows) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kTileRows) {
    const int64_t n1 = std::min(N, n0 + kTileRows);
    DequantTile(w, n0, n1, tile.data());
    ParallelRange(T, [&](int64_t r0, int64_t r1) {
      SgemmNTStrided(r1 - r0, n1 - n0, K, x + r0 * K, tile.data(), y + r0 * N + n0, N);
    });
  }
}

void FrozenLinearBackwardDx(float* dx, const float* dy, const Tensor& w, int64_t T, bool accumulate) {
  const int64_t N = w.dim(0), K = w.dim(1);
  if (w.dtype() == DType::kF32) {
    return LinearBackward({.dx = dx, .dy = dy, .w = w.data<float>(), .T = T, .N = N, .K = K,
                           .accumulate_dx = accumulate});
  }
  std::vector<float> tile(static_cast<size_t>(std::min(N, kTileRows) * K));
  std::vector<float> dys(static_cast<size_t>(T * std::min(N, kTileRows)));  // dense copy of dy[:, n0:n1]
  for (int64_t n0 = 0; n0 < N; n0 += kTileRows) {
    const int64_t n1 = std::min(N, n0 + kTileRows), nt = n1 - n0;
    DequantTile(w, n0, n1, tile.data());
    const float beta = (accumulate || n0 > 0) ? 1.0f : 0.0f;
    ParallelRange(T, [&](int64_t r0, int64_t r1) {
      for (int64_t t = r0; t < r1; ++t) std::copy(dy + t * N + n0, dy + t * N + n1, dys.data() + t * nt);
      SgemmNN(r1 - r0, K, nt, dys.data() + r0 * nt, tile.data(), dx + r0 * K, 1.0f, beta);
    });
  }
}

}  // namespace lm::train
