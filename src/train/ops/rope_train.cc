// RoPE training pair on top of ops::ApplyRope (one implementation of the angles for inference and training).
#include "train/ops/rope_train.h"

#include <cstddef>
#include <vector>

namespace lm::train {

void RopeForward(float* x, const int32_t* pos, int64_t T, int64_t n_head, const ops::RopeParams& p) {
  ops::ApplyRope(x, pos, T, n_head, p);
}

void RopeBackward(float* dx, const int32_t* pos, int64_t T, int64_t n_head, const ops::RopeParams& p) {
  std::vector<int32_t> neg(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) neg[static_cast<size_t>(t)] = -pos[t];
  ops::ApplyRope(dx, neg.data(), T, n_head, p);
}

}  // namespace lm::train
