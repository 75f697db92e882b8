// Exact maximum-inner-product top-k: BLAS scores in cache-sized tiles and a running per-row threshold, so a
// bank of any size is searched without ever holding a [rows, n_keys] score matrix.
#pragma once

#include <cstdint>

namespace lm::membank {

struct ExactSearchParams {
  const float* queries = nullptr;  // [n_rows, D] f32, packed
  int64_t n_rows = 0;
  int64_t head_dim = 0;         // D
  const float* keys = nullptr;  // [n_keys, D] f32, packed
  int64_t n_keys = 0;
  int64_t k = 0;           // 1 <= k <= n_keys
  int32_t* out = nullptr;  // [n_rows, k]: key indices, best first
};

// Ranks keys by score = query·key, descending, ties to the lower index (a total order, so the answer does not
// depend on tiling or threads); NaN scores rank below every number. Parallel over lm::GlobalPool(): over row
// blocks, and also over key ranges when there are too few rows to keep every thread busy (decode).
void ExactTopK(const ExactSearchParams& p);

}  // namespace lm::membank
