// RoPE on the CPU: cos/sin per (position, frequency) computed once per token and shared by all heads.
#include "ops/rope.h"

#include <cmath>

namespace lm::ops {

std::vector<float> RopeInvFreq(const RopeParams& p) {
  std::vector<float> inv(static_cast<size_t>(p.rot_dim / 2));
  for (int i = 0; i < p.rot_dim / 2; ++i)
    inv[static_cast<size_t>(i)] = static_cast<float>(std::pow(static_cast<double>(p.theta), -2.0 * i / p.rot_dim));
  return inv;
}

void ApplyRope(float* x, const int32_t* pos, int64_t n_tokens, int64_t n_head, const RopeParams& p) {
  const int half = p.rot_dim / 2;
  const std::vector<float> inv = RopeInvFreq(p);
  std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int i = 0; i < half; ++i) {
      // Angle in double: positions reach 10^5+ and f32 products lose the low bits of the phase.
      const double a = static_cast<double>(pos[t]) * static_cast<double>(inv[static_cast<size_t>(i)]);
      cs[static_cast<size_t>(i)] = static_cast<float>(std::cos(a));
      sn[static_cast<size_t>(i)] = static_cast<float>(std::sin(a));
    }
    for (int64_t h = 0; h < n_head; ++h) {
      float* v = x + (t * n_head + h) * p.head_dim;
      for (int i = 0; i < half; ++i) {
        const int i0 = p.style == RopeStyle::kInterleaved ? 2 * i : i;
        const int i1 = p.style == RopeStyle::kInterleaved ? 2 * i + 1 : i + half;
        const float x0 = v[i0], x1 = v[i1];
        const float c = cs[static_cast<size_t>(i)], s = sn[static_cast<size_t>(i)];
        v[i0] = x0 * c - x1 * s;
        v[i1] = x0 * s + x1 * c;
      }
    }
  }
}

}  // namespace lm::ops
