// Internal entry points of the SIMD attention kernels (ops/attention_{decode,prefill}_cpu.cc); callers use
// ops::Attention, which picks one of these or the scalar path.
#pragma once

#include <cstdint>
#include <span>

#include "ops/attention.h"

namespace lm::ops::internal {

// Query rows (n_q * group) up to which the decode kernel is used: it keeps a few rows' accumulators in
// registers and reads each K/V row once for all of them.
constexpr int64_t kDecodeMaxRows = 16;
// Query rows of one prefill tile (queries x heads of a KV group); a tile needs group <= this.
constexpr int64_t kPrefillTileRows = 48;

// head_dim values with compiled SIMD kernels.
inline bool SimdHeadDim(int64_t d) { return d == 32 || d == 64 || d == 128; }

void AttentionDecodeSimd(const AttentionArgs& a);   // needs n_q * group <= kDecodeMaxRows
void AttentionPrefillSimd(const AttentionArgs& a);  // needs group <= kPrefillTileRows
// AttentionRuns' decode kernel; needs n_q * group <= kDecodeMaxRows.
void AttentionRunsDecodeSimd(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_variants);

}  // namespace lm::ops::internal
