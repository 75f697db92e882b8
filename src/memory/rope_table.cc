// RopeTable implementation: the same double-precision angles as ops::ApplyRope, tabulated once.
#include "memory/rope_table.h"

#include <cmath>

#include "core/check.h"

namespace lm {

RopeTable::RopeTable(const ops::RopeParams& p, int64_t n_positions) : p_(p), n_pos_(n_positions) {
  const int half = p.rot_dim / 2;
  const std::vector<float> inv = ops::RopeInvFreq(p);
  cos_.resize(static_cast<size_t>(n_positions * half));
  sin_.resize(cos_.size());
  for (int64_t t = 0; t < n_positions; ++t) {
    for (int i = 0; i < half; ++i) {
      const double a = static_cast<double>(t) * static_cast<double>(inv[static_cast<size_t>(i)]);
      cos_[static_cast<size_t>(t * half + i)] = static_cast<float>(std::cos(a));
      sin_[static_cast<size_t>(t * half + i)] = static_cast<float>(std::sin(a));
    }
  }
}

void RopeTable::RotateRow(float* x, int64_t n_head, int32_t pos) const {
  LM_CHECK(pos >= 0 && pos < n_pos_, "rope table: position out of range");
  const int half = p_.rot_dim / 2;
  const float* cs = cos_.data() + static_cast<int64_t>(pos) * half;
  const float* sn = sin_.data() + static_cast<int64_t>(pos) * half;
  const bool inter = p_.style == ops::RopeStyle::kInterleaved;
  for (int64_t h = 0; h < n_head; ++h) {
    float* v = x + h * p_.head_dim;
    for (int i = 0; i < half; ++i) {
      const int i0 = inter ? 2 * i : i;
      const int i1 = inter ? 2 * i + 1 : i + half;
      const float x0 = v[i0], x1 = v[i1];
      v[i0] = x0 * cs[i] - x1 * sn[i];
      v[i1] = x0 * sn[i] + x1 * cs[i];
    }
  }
}

void RopeTable::Rotate(float* x, const int32_t* pos, int64_t n_tokens, int64_t n_head) const {
  for (int64_t t = 0; t < n_tokens; ++t) RotateRow(x + t * n_head * p_.head_dim, n_head, pos[t]);
}

}  // namespace lm
