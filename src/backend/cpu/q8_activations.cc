// Per-32 int8 quantisation of f32 activations. Plain loops: the compiler vectorises them, and this is
// O(T·K) work against the O(T·K·N) product it feeds (it runs before the parallel region, so it must be cheap).
#include "backend/cpu/q8_activations.h"

#include <cmath>

#include "core/check.h"

namespace lm {

void QuantizeRowQ8A(const float* x, int64_t K, int8_t* qs, float* d, float* s) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) {
      const float a = std::fabs(xb[i]);
      amax = a > amax ? a : amax;  // not std::fmax: that is a libm call without -ffast-math
    }
    const float scale = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      // Round half to even (as lrintf, which keeps |q| <= 127) by adding and subtracting 1.5·2^23: exact
      // for |v| < 2^22 in the default rounding mode, and unlike lrintf (a libm call without -ffast-math,
      // 9% of a 1-thread prefill) it vectorises. Without -ffast-math the compiler may not fold it away.
      constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23
      const int q = static_cast<int>((xb[i] * inv + kMagic) - kMagic);
      qs[32 * b + i] = static_cast<int8_t>(q);
      sum += q;
    }
    d[b] = scale;
    s[b] = scale * static_cast<float>(sum);
  }
}

Q8Rows Q8Buffer::Quantize(const float* x, int64_t T, int64_t K) {
  LM_CHECK(K % 32 == 0, "Q8 activations need K a multiple of 32, got ", K);
  const int64_t nb = K / 32;
  if (static_cast<int64_t>(qs_.size()) < T * K) qs_.resize(static_cast<size_t>(T * K));
  if (static_cast<int64_t>(d_.size()) < T * nb) {
    d_.resize(static_cast<size_t>(T * nb));
    s_.resize(static_cast<size_t>(T * nb));
  }
  for (int64_t t = 0; t < T; ++t) QuantizeRowQ8A(x + t * K, K, qs_.data() + t * K, d_.data() + t * nb, s_.data() + t * nb);
  return Q8Rows{.qs = qs_.data(), .d = d_.data(), .s = s_.data(), .K = K};
}

}  // namespace lm
