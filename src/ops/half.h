// IEEE f16 <-> f32 conversion of whole arrays with SIMD: the f16 K/V cache, f16 weight panels, f16 key reads.
// Defined beside the f16 attention kernels that use it most (attention_decode_cpu.cc).
#pragma once

#include <cstdint>

namespace lm::ops {

// f32 -> IEEE f16 (round to nearest even); for writing K/V into an f16 cache.
void ConvertF32ToF16(const float* src, uint16_t* dst, int64_t n);
// IEEE f16 -> f32.
void ConvertF16ToF32(const uint16_t* src, float* dst, int64_t n);

}  // namespace lm::ops
