// Finite-difference gradient checks for the training ops: central differences of a scalar loss
// L = Σ out ⊙ R (R a fixed random tensor, so dL/dout = R) computed in f32 with the loss summed in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace lm::test {

inline std::vector<float> RandomVec(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

inline double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Max over all coordinates of |fd - analytic| / (|analytic| + abs_floor), perturbing x in place by ±h.
// With h = 1e-2 in f32 the truncation and rounding errors are both ~1e-4 relative for these smooth ops,
// so the tests require <= 1e-2 (stated tolerance; a wrong backward is off by O(1)).
inline double FdMaxRelError(std::vector<float>& x, const std::vector<float>& analytic,
                            const std::function<double()>& loss, float h = 1e-2f, double abs_floor = 1e-2) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    x[i] = x0 + h;
    const double lp = loss();
    x[i] = x0 - h;
    const double lm = loss();
    x[i] = x0;
    const double fd = (lp - lm) / (2.0 * h);
    worst = std::max(worst, std::abs(fd - analytic[i]) / (std::abs(analytic[i]) + abs_floor));
  }
  return worst;
}

}  // namespace lm::test
