// GGML block-quantised formats: byte layouts and the plain reference dequantisation.
// Layouts (little-endian, f16 = IEEE half):
//   q8_0 [32]: d f16 | qs i8[32]                      x = d*q
//   q4_0 [32]: d f16 | qs u8[16]                      x = d*(nibble-8); low nibbles are x[0..15], high x[16..31]
//   q4_1 [32]: d f16 | m f16 | qs u8[16]              x = d*nibble + m
//   q5_0 [32]: d f16 | qh u8[4] | qs u8[16]           5th bit of x[j] is bit j of qh; x = d*(q-16)
//   q5_1 [32]: d f16 | m f16 | qh u8[4] | qs u8[16]   x = d*q + m
//   q4_K [256]: d f16 | dmin f16 | scales u8[12] | qs u8[128]   8 sub-blocks of 32, 6-bit scale and min each
//   q5_K [256]: d f16 | dmin f16 | scales u8[12] | qh u8[32] | qs u8[128]
//   q6_K [256]: ql u8[128] | qh u8[64] | scales i8[16] | d f16   16 sub-blocks of 16, x = d*scale*(q-32)
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace lm {

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// Converts n elements of `src` (type t, n a multiple of the block size) to f32. Works for every DType
// that holds floats; integer types are converted by value.
void DequantizeRow(DType t, const void* src, float* dst, int64_t n);

// 6-bit scale and min of sub-block j (0..7) of a q4_K/q5_K block.
void ScaleMinK4(int j, const uint8_t* scales, uint8_t* scale, uint8_t* min);

// Reference quantisers (round-to-nearest, as GGML's *_ref): used to build test data and Q8 activations.
void QuantizeRowQ8_0(const float* src, BlockQ8_0* dst, int64_t n);
void QuantizeRowQ4_0(const float* src, BlockQ4_0* dst, int64_t n);
void QuantizeRowQ4_1(const float* src, BlockQ4_1* dst, int64_t n);

// Types QuantizeRow can write: f32, f16, bf16, q8_0, q4_0, q4_1.
bool CanQuantizeTo(DType t);
// Converts n f32 values to type t (one CanQuantizeTo names; n a whole number of blocks): the inverse of
// DequantizeRow up to the format's rounding.
void QuantizeRow(DType t, const float* src, void* dst, int64_t n);

}  // namespace lm
