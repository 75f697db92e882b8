// Token embedding forward/backward. The table may be a trainable f32 master or a frozen stored tensor;
// backward scatters into the f32 gradient rows of the tokens seen (parameter grads accumulate).
#pragma once

#include <cstdint>

namespace lm::train {

// out: [T, C] f32; table: [V, C] f32; ids: [T] (validated by the caller).
void EmbeddingForward(float* out, const float* table, const int32_t* ids, int64_t T, int64_t C);
// dtable: [V, C] f32 accumulated; dout: [T, C].
void EmbeddingBackward(float* dtable, const float* dout, const int32_t* ids, int64_t T, int64_t C);

}  // namespace lm::train
