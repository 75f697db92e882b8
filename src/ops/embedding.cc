// Embedding lookup: one DequantizeRow per token, so quantised tables stay quantised in memory.
#include "ops/embedding.h"

#include "core/quant.h"

namespace lm::ops {

void EmbeddingLookup(const Tensor& table, const int32_t* ids, int64_t n, float* out) {
  const int64_t C = table.dim(1);
  const uint64_t row_bytes = *BytesFor(table.dtype(), C);
  const auto* base = static_cast<const uint8_t*>(table.raw());
  for (int64_t t = 0; t < n; ++t) {
    LM_CHECK(ids[t] >= 0 && ids[t] < table.dim(0), "token id ", ids[t], " outside vocab ", table.dim(0));
    DequantizeRow(table.dtype(), base + static_cast<uint64_t>(ids[t]) * row_bytes, out + t * C, C);
  }
}

}  // namespace lm::ops
