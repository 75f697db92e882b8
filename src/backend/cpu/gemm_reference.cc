// Plain references for the CPU product kernels: dequantise with core/quant.h, accumulate in double.
// They define what the SIMD kernels must compute (same quantised activations, so only rounding differs).
#include <vector>

#include "backend/cpu/gemm.h"
#include "core/quant.h"

namespace lm {

void QuantGemmReference(const QuantGemmArgs& a) {
  const int64_t K = a.x.K, nb = K / 32;
  std::vector<float> w(static_cast<size_t>(K)), x(static_cast<size_t>(K));
  for (int64_t r = 0; r < a.n_rows; ++r) {
    DequantizeRow(a.w_type, static_cast<const uint8_t*>(a.w) + r * a.row_bytes, w.data(), K);
    for (int64_t t = 0; t < a.T; ++t) {
      for (int64_t k = 0; k < K; ++k) x[k] = a.x.d[t * nb + k / 32] * a.x.qs[t * K + k];
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(w[k]) * x[k];
      a.y[t * a.ldy + r] = static_cast<float>(acc);
    }
  }
}

void FloatGemmReference(const FloatGemmArgs& a) {
  std::vector<float> w(static_cast<size_t>(a.K));
  const uint64_t row_bytes = static_cast<uint64_t>(a.K) * 2;
  for (int64_t r = 0; r < a.n_rows; ++r) {
    DequantizeRow(a.w_type, static_cast<const uint8_t*>(a.w) + r * row_bytes, w.data(), a.K);
    for (int64_t t = 0; t < a.T; ++t) {
      double acc = 0.0;
      for (int64_t k = 0; k < a.K; ++k) acc += static_cast<double>(w[k]) * a.x[t * a.K + k];
      a.y[t * a.ldy + r] = static_cast<float>(acc);
    }
  }
}

}  // namespace lm
