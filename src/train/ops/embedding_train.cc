// Embedding gather/scatter; repeated ids accumulate in token order, so results are deterministic.
#include "train/ops/embedding_train.h"

#include <algorithm>

namespace lm::train {

void EmbeddingForward(float* out, const float* table, const int32_t* ids, int64_t T, int64_t C) {
  for (int64_t t = 0; t < T; ++t) std::copy(table + ids[t] * C, table + (ids[t] + 1) * C, out + t * C);
}

void EmbeddingBackward(float* dtable, const float* dout, const int32_t* ids, int64_t T, int64_t C) {
  for (int64_t t = 0; t < T; ++t) {
    float* row = dtable + static_cast<int64_t>(ids[t]) * C;
    const float* d = dout + t * C;
    for (int64_t c = 0; c < C; ++c) row[c] += d[c];
  }
}

}  // namespace lm::train
