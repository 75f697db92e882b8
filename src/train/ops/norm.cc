// Norm kernels: per-row sums in double for the statistics (rows reach C = 576+, and the backward's
// dot products feed every element of dx), plain loops elsewhere so the compiler vectorises them.
#include "train/ops/norm.h"

#include <cmath>

namespace lm::train {

void RmsNormForward(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t C, float eps) {
  for (int64_t r = 0; r < R; ++r) {
    const float* xr = x + r * C;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * xr[c];
    const float s = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(C) + eps));
    rstd[r] = s;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * s * w[c];
  }
}

// With n = x*rstd: dx = rstd * (dy*w - n * mean(dy*w*n)), dw += dy*n.
void RmsNormBackward(const RmsNormBackwardArgs& a) {
  const int64_t C = a.C;
  for (int64_t r = 0; r < a.R; ++r) {
    const float* xr = a.x + r * C;
    const float* dyr = a.dy + r * C;
    const float s = a.rstd[r];
    double dot = 0;
    for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(dyr[c]) * a.w[c] * xr[c] * s;
    const float m = static_cast<float>(dot / static_cast<double>(C));
    float* dxr = a.dx + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float n = xr[c] * s;
      dxr[c] += s * (dyr[c] * a.w[c] - n * m);
      if (a.dw) a.dw[c] += dyr[c] * n;
    }
  }
}

void LayerNormForward(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b,
                      int64_t R, int64_t C, float eps) {
  for (int64_t r = 0; r < R; ++r) {
    const float* xr = x + r * C;
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += xr[c];
    const double mu = sum / static_cast<double>(C);
    double var = 0;
    for (int64_t c = 0; c < C; ++c) var += (xr[c] - mu) * (xr[c] - mu);
    const float s = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(C) + eps));
    mean[r] = static_cast<float>(mu);
    rstd[r] = s;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean[r]) * s * w[c] + (b ? b[c] : 0.0f);
  }
}

// With n = (x-mean)*rstd and g = dy*w: dx = rstd * (g - mean(g) - n * mean(g*n)).
void LayerNormBackward(const LayerNormBackwardArgs& a) {
  const int64_t C = a.C;
  for (int64_t r = 0; r < a.R; ++r) {
    const float* xr = a.x + r * C;
    const float* dyr = a.dy + r * C;
    const float mu = a.mean[r], s = a.rstd[r];
    double g_sum = 0, gn_sum = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double g = static_cast<double>(dyr[c]) * a.w[c];
      g_sum += g;
      gn_sum += g * (xr[c] - mu) * s;
    }
    const float g_mean = static_cast<float>(g_sum / static_cast<double>(C));
    const float gn_mean = static_cast<float>(gn_sum / static_cast<double>(C));
    float* dxr = a.dx + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float n = (xr[c] - mu) * s;
      dxr[c] += s * (dyr[c] * a.w[c] - g_mean - n * gn_mean);
      if (a.dw) a.dw[c] += dyr[c] * n;
      if (a.db) a.db[c] += dyr[c];
    }
  }
}

}  // namespace lm::train
