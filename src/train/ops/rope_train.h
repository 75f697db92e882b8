// RoPE forward/backward for training. The rotation is orthogonal, so its backward is the rotation by the
// negated angle: ApplyRope with positions -pos (cos is even, sin odd; angles are formed in double).
#pragma once

#include <cstdint>

#include "ops/rope.h"

namespace lm::train {

// x: [T, n_head, head_dim] f32 rotated in place (forward); pos: [T].
void RopeForward(float* x, const int32_t* pos, int64_t T, int64_t n_head, const ops::RopeParams& p);
// dx: [T, n_head, head_dim] f32, in place: the gradient w.r.t. the pre-rotation input (overwrites dy).
void RopeBackward(float* dx, const int32_t* pos, int64_t T, int64_t n_head, const ops::RopeParams& p);

}  // namespace lm::train
