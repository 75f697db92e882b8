// ivf-int8: longmem's own approximate chunk index, built for many query rows at once (a prefill segment).
//
// k-means lists (squared L2, trained once, like faiss IVF, when faiss_train_chunks chunks are stored) hold
// each chunk key as an int8 code of its residual from the list centroid (per-dimension scales fitted on the
// training residuals; later keys are clamped to them). A search, for a block of query rows:
//  1. probes: the f32 kernel scores every row against every centroid; a SIMD bisection keeps its top nprobe;
//  2. seeds each row's candidate list from its own best lists (scanned row by row until they hold 2·R keys,
//     R = kIvfRerank·k), keeping the best R, so its threshold starts near its final value;
//  3. scans the rest list-major: the rows that probed a list are scored against its codes together by the int8
//     kernel (ivf_scan.h), approx = q·c + q·residual, and nearly every key is rejected in registers;
//  4. re-ranks each row's best R candidates with the exact f32 chunk keys and returns the top k by the exact
//     order (score, then slot).
// Batching by list is what faiss 1.7.3 lacks (it scans list by list for each query): a list's codes are read
// once, from L1, for all the rows that probe it. The int8 scores cost no measurable recall after re-ranking
// (SmolLM2 block 21 keys, a numpy prototype: the same chunks as exact scores over the same probed lists).
//
// FIFO: every list keeps its chunks in id order, so eviction drops a prefix of each list (O(stored), like the
// bank's own shift). The lists keep the centroids of their first training; Reset or Load retrains.
#pragma once

#include <cstdint>
#include <memory>

#include "memory/memory_bank/chunk_index.h"

namespace lm::membank {

// Candidates re-ranked exactly per row, as a multiple of k (32 for LongMem's k = 16 chunks; 3k gave the same
// recall on real keys, measured, and cost more).
constexpr int64_t kIvfRerank = 2;

// c.index must be kIvfInt8 and c.head_dim a multiple of 4 (ValidateConfig checks both).
std::unique_ptr<ChunkIndex> MakeIvfInt8Index(const MemoryBankConfig& c);

}  // namespace lm::membank
