// Linear layer y = x · Wᵀ forward/backward for training, with W in the stored [out, in] layout.
// Trainable weights are f32; frozen weights may be any stored dtype (quantised blocks are dequantised a
// tile of rows at a time, never into a full f32 copy). Argument order (llm.c): outputs, inputs, sizes.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lm::train {

// y: [T, N] f32 (overwritten); x: [T, K] f32; w: [N, K] f32.
void LinearForward(float* y, const float* x, const float* w, int64_t T, int64_t N, int64_t K);

struct LinearBackwardArgs {
  float* dx = nullptr;        // [T, K] f32; null: not needed (first layer of a frozen stack)
  float* dw = nullptr;        // [N, K] f32, accumulated; null: frozen weight
  const float* dy = nullptr;  // [T, N] f32
  const float* x = nullptr;   // [T, K] f32 (needed only when dw is set)
  const float* w = nullptr;   // [N, K] f32
  int64_t T = 0, N = 0, K = 0;
  bool accumulate_dx = false;  // dx += instead of dx = (a tensor feeding several projections)
};
void LinearBackward(const LinearBackwardArgs& a);

// Frozen weight of any dtype: y = x · Wᵀ; w: [N, K] stored tensor.
void FrozenLinearForward(float* y, const float* x, const Tensor& w, int64_t T);
// dx (+)= dy · W for a frozen weight of any dtype; dy: [T, N], dx: [T, K].
void FrozenLinearBackwardDx(float* dx, const float* dy, const Tensor& w, int64_t T, bool accumulate);

}  // namespace lm::train
