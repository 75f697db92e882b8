// Softmax cross-entropy over rows of logits with ignored labels (-100), fused forward + backward: the
// gradient overwrites the logits in place, so a chunk of [T, V] logits is the only buffer needed.
#pragma once

#include <cstdint>

namespace lm::train {

inline constexpr int32_t kIgnoreLabel = -100;

struct CrossEntropyArgs {
  float* logits = nullptr;        // [T, V] f32, clobbered: dLoss/dlogits if grad_scale != 0
  const int32_t* labels = nullptr;  // [T]; kIgnoreLabel rows contribute nothing (their gradient is 0)
  int64_t T = 0, V = 0;
  float grad_scale = 0.0f;        // dL/d(sum of losses): 1/N_valid for a mean; 0 = forward only
};
// Returns the SUM of -log softmax(logits)[label] over valid rows (double, so chunk sums add exactly
// enough for 1e-6 agreement between chunked and whole evaluation).
double CrossEntropy(const CrossEntropyArgs& a);

// Number of labels != kIgnoreLabel.
int64_t CountValidLabels(const int32_t* labels, int64_t T);

}  // namespace lm::train
