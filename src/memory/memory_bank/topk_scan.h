// The fused score-and-filter kernel behind ExactTopK, and its store-every-score sibling (internal to
// lm_memory_bank; one Highway source for AVX-512, AVX2 and the portable fallback).
#pragma once

#include <cstdint>

#include "memory/memory_bank/row_topk.h"

namespace lm::membank {

struct TopKScanArgs {
  const float* queries = nullptr;  // [n_rows, D] f32
  int64_t n_rows = 0, head_dim = 0;
  const float* packed = nullptr;  // PackedKeys::data()
  int64_t j0 = 0, j1 = 0;         // key range; j0 % PackedKeys::kAlign == 0, j1 <= the packed set's size
  RowTopK* tops = nullptr;        // [n_rows], fed keys j0..j1-1 in increasing order
};

// Feeds every key of [j0, j1) whose score might enter a row's top-k to that row's RowTopK. The caller tiles
// the key range so that it stays in L2 while every row of the block passes over it.
void TopKScan(const TopKScanArgs& a);
const char* TopKScanTargetName();

struct ScoreAllArgs {
  const float* queries = nullptr;  // [n_rows, D] f32
  int64_t n_rows = 0, head_dim = 0;
  const float* packed = nullptr;  // PackedKeys::data()
  int64_t j0 = 0, j1 = 0;         // key range; j0 % PackedKeys::kAlign == 0, j1 <= the packed set's size
  float* out = nullptr;           // [n_rows][ldo]: out[r * ldo + j - j0] = queries[r] · key j
  int64_t ldo = 0;
};
// Every score of the rows against keys [j0, j1), with the same register blocking as TopKScan and no
// selection (the ivf-int8 probe, which needs all centroid scores of a row).
void ScoreAll(const ScoreAllArgs& a);

}  // namespace lm::membank
