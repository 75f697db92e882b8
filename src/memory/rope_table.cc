// RopeTable implementation: the same double-precision angles as ops::ApplyRope, tabulated once.
#include "memory/rope_table.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace lm {

RopeTable::RopeTable(const ops::RopeParams& p, int64_t n_positions) : p_(p), inv_(ops::RopeInvFreq(p)) {
  Extend(n_positions);
}

void RopeTable::Fill(int64_t from, int64_t to) {
  const int half = p_.rot_dim / 2;
  cos_.resize(static_cast<size_t>(to * half));
  sin_.resize(cos_.size());
  for (int64_t t = from; t < to; ++t) {
    for (int i = 0; i < half; ++i) {
      const double a = static_cast<double>(t) * static_cast<double>(inv_[static_cast<size_t>(i)]);
      cos_[static_cast<size_t>(t * half + i)] = static_cast<float>(std::cos(a));
      sin_[static_cast<size_t>(t * half + i)] = static_cast<float>(std::sin(a));
    }
  }
}

void RopeTable::Extend(int64_t n) {
  if (n <= n_pos_) return;
  const int64_t to = n_pos_ == 0 ? n : std::max(n, 2 * n_pos_);
  Fill(n_pos_, to);
  n_pos_ = to;
}

// Rotation by the table's angle at `pos`, or by its inverse (R(-a) = R(a)^T: same cosines, negated sines).
void RopeTable::Apply(float* x, int64_t n_head, int64_t pos, bool inverse) const {
  const int half = p_.rot_dim / 2;
  const float* cs = cos_.data() + pos * half;
  const float* sn = sin_.data() + pos * half;
  const float sign = inverse ? -1.0f : 1.0f;  // x * 1.0f is exact: the forward rotation is unchanged
  const bool inter = p_.style == ops::RopeStyle::kInterleaved;
  for (int64_t h = 0; h < n_head; ++h) {
    float* v = x + h * p_.head_dim;
    for (int i = 0; i < half; ++i) {
      const int i0 = inter ? 2 * i : i;
      const int i1 = inter ? 2 * i + 1 : i + half;
      const float x0 = v[i0], x1 = v[i1], sv = sign * sn[i];
      v[i0] = x0 * cs[i] - x1 * sv;
      v[i1] = x0 * sv + x1 * cs[i];
    }
  }
}

void RopeTable::RotateRow(float* x, int64_t n_head, int32_t pos) const {
  LM_CHECK(pos >= 0 && pos < n_pos_, "rope table: position out of range");
  Apply(x, n_head, pos, false);
}

void RopeTable::RotateRowBy(float* x, int64_t n_head, int64_t delta) const {
  const int64_t pos = delta < 0 ? -delta : delta;
  LM_CHECK(pos < n_pos_, "rope table: offset out of range");
  Apply(x, n_head, pos, delta < 0);
}

void RopeTable::Rotate(float* x, const int32_t* pos, int64_t n_tokens, int64_t n_head) const {
  for (int64_t t = 0; t < n_tokens; ++t) RotateRow(x + t * n_head * p_.head_dim, n_head, pos[t]);
}

}  // namespace lm
