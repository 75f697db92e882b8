// Cross-entropy: max-shifted log-sum-exp per row; rows are independent, so the pool splits them.
#include "train/ops/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "train/ops/softmax_row.h"

namespace lm::train {

int64_t CountValidLabels(const int32_t* labels, int64_t T) {
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) n += labels[t] != kIgnoreLabel;
  return n;
}

double CrossEntropy(const CrossEntropyArgs& a) {
  std::vector<double> row_loss(static_cast<size_t>(a.T), 0.0);
  GlobalPool().ParallelFor(a.T, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) {
      float* z = a.logits + t * a.V;
      const int32_t y = a.labels[t];
      if (y == kIgnoreLabel) {
        if (a.grad_scale != 0.0f) std::fill(z, z + a.V, 0.0f);
        continue;
      }
      LM_CHECK(y >= 0 && y < a.V, "label ", y, " outside vocab ", a.V);
      const float mx = *std::max_element(z, z + a.V);
      const float zy = z[y];
      // One expf per logit: the exponentials are kept in place and reused for the gradient.
      const double sum = ExpShiftSum(z, a.V, mx);
      row_loss[static_cast<size_t>(t)] = std::log(sum) + mx - zy;
      if (a.grad_scale != 0.0f) {
        const float k = static_cast<float>(a.grad_scale / sum);
        for (int64_t v = 0; v < a.V; ++v) z[v] *= k;
        z[y] -= a.grad_scale;
      }
    }
  });
  double total = 0;
  for (double l : row_loss) total += l;  // fixed order: deterministic whatever the thread split
  return total;
}

}  // namespace lm::train
