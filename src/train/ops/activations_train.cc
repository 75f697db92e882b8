// Element-wise activation kernels (plain loops; the compiler vectorises them).
#include "train/ops/activations_train.h"

#include <cmath>

namespace lm::train {

void SwiGluForward(float* h, const float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void SwiGluBackward(float* dg, float* du, const float* dh, const float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float sig = 1.0f / (1.0f + std::exp(-g[i]));
    const float silu = g[i] * sig;
    const float d = dh[i];
    du[i] = d * silu;
    dg[i] = d * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
  }
}

namespace {
constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/pi)
}

void GeluForward(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::tanh(kGeluC * (v + 0.044715f * v * v * v)));
  }
}

void GeluBackward(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float th = std::tanh(kGeluC * (v + 0.044715f * v * v * v));
    const float sech2 = 1.0f - th * th;
    const float d = 0.5f * (1.0f + th) + 0.5f * v * sech2 * kGeluC * (1.0f + 3.0f * 0.044715f * v * v);
    dx[i] = dy[i] * d;
  }
}

void ResidualForward(float* y, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void ResidualBackward(float* da, float* db, const float* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    da[i] += dy[i];
    db[i] += dy[i];
  }
}

}  // namespace lm::train
