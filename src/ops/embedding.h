// Token embedding lookup from a table of any stored dtype (rows are dequantised on the fly).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lm::ops {

// table: [V, C] any dtype; ids: [n] (each checked < V by the caller); out: [n, C] f32.
void EmbeddingLookup(const Tensor& table, const int32_t* ids, int64_t n, float* out);

}  // namespace lm::ops
