// Reference (scalar) dequantisation and quantisation of the GGML block formats.
#include "core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/half.h"

namespace lm {

void ScaleMinK4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

namespace {

void DeqQ8_0(const BlockQ8_0* b, float* y) {
  const float d = F16ToF32(b->d);
  for (int j = 0; j < 32; ++j) y[j] = d * b->qs[j];
}

void DeqQ4_0(const BlockQ4_0* b, float* y) {
  const float d = F16ToF32(b->d);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * ((b->qs[j] & 0xF) - 8);
    y[j + 16] = d * ((b->qs[j] >> 4) - 8);
  }
}

void DeqQ4_1(const BlockQ4_1* b, float* y) {
  const float d = F16ToF32(b->d), m = F16ToF32(b->m);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * (b->qs[j] & 0xF) + m;
    y[j + 16] = d * (b->qs[j] >> 4) + m;
  }
}

uint32_t LoadQh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}

void DeqQ5_0(const BlockQ5_0* b, float* y) {
  const float d = F16ToF32(b->d);
  const uint32_t qh = LoadQh(b->qh);
  for (int j = 0; j < 16; ++j) {
    const int h0 = ((qh >> j) << 4) & 0x10;
    const int h1 = (qh >> (j + 12)) & 0x10;
    y[j] = d * (((b->qs[j] & 0xF) | h0) - 16);
    y[j + 16] = d * (((b->qs[j] >> 4) | h1) - 16);
  }
}

void DeqQ5_1(const BlockQ5_1* b, float* y) {
  const float d = F16ToF32(b->d), m = F16ToF32(b->m);
  const uint32_t qh = LoadQh(b->qh);
  for (int j = 0; j < 16; ++j) {
    const int h0 = ((qh >> j) << 4) & 0x10;
    const int h1 = (qh >> (j + 12)) & 0x10;
    y[j] = d * ((b->qs[j] & 0xF) | h0) + m;
    y[j + 16] = d * ((b->qs[j] >> 4) | h1) + m;
  }
}

void DeqQ4_K(const BlockQ4_K* b, float* y) {
  const float d = F16ToF32(b->d), dmin = F16ToF32(b->dmin);
  const uint8_t* q = b->qs;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    uint8_t sc, m;
    ScaleMinK4(is, b->scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(is + 1, b->scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
  }
}

void DeqQ5_K(const BlockQ5_K* b, float* y) {
  const float d = F16ToF32(b->d), dmin = F16ToF32(b->dmin);
  const uint8_t* ql = b->qs;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32) {
    uint8_t sc, m;
    ScaleMinK4(is, b->scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    ScaleMinK4(is + 1, b->scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (b->qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (b->qh[l] & u2 ? 16 : 0)) - m2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

void DeqQ6_K(const BlockQ6_K* b, float* y) {
  const float d = F16ToF32(b->d);
  const uint8_t* ql = b->ql;
  const uint8_t* qh = b->qh;
  const int8_t* sc = b->scales;
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
  }
}

template <class Block, void (*Fn)(const Block*, float*), int kQk>
void DeqBlocks(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const Block*>(src);
  for (int64_t i = 0; i < n / kQk; ++i) Fn(b + i, dst + i * kQk);
}

}  // namespace

void DequantizeRow(DType t, const void* src, float* dst, int64_t n) {
  LM_CHECK(n % Info(t).block_elems == 0, n, " elements is not whole blocks of ", Name(t));
  switch (t) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = F16ToF32(s[i]);
      return;
    }
    case DType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(s[i]);
      return;
    }
    case DType::kQ8_0: return DeqBlocks<BlockQ8_0, DeqQ8_0, 32>(src, dst, n);
    case DType::kQ4_0: return DeqBlocks<BlockQ4_0, DeqQ4_0, 32>(src, dst, n);
    case DType::kQ4_1: return DeqBlocks<BlockQ4_1, DeqQ4_1, 32>(src, dst, n);
    case DType::kQ5_0: return DeqBlocks<BlockQ5_0, DeqQ5_0, 32>(src, dst, n);
    case DType::kQ5_1: return DeqBlocks<BlockQ5_1, DeqQ5_1, 32>(src, dst, n);
    case DType::kQ4_K: return DeqBlocks<BlockQ4_K, DeqQ4_K, 256>(src, dst, n);
    case DType::kQ5_K: return DeqBlocks<BlockQ5_K, DeqQ5_K, 256>(src, dst, n);
    case DType::kQ6_K: return DeqBlocks<BlockQ6_K, DeqQ6_K, 256>(src, dst, n);
    case DType::kI8: {
      const auto* s = static_cast<const int8_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = s[i];
      return;
    }
    case DType::kI16: {
      const auto* s = static_cast<const int16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = s[i];
      return;
    }
    case DType::kI32: {
      const auto* s = static_cast<const int32_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    case DType::kI64: {
      const auto* s = static_cast<const int64_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    case DType::kF64: {
      const auto* s = static_cast<const double*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
  }
  LM_CHECK(false, "unhandled dtype ", Name(t));
}

void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    for (int j = 0; j < 32; ++j) y[i].qs[j] = static_cast<int8_t>(std::lround(x[j] * id));
  }
}

void QuantizeRowQ4_0(const float* x, BlockQ4_0* y, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    for (int j = 0; j < 16; ++j) {
      const int a = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int b = std::min(15, static_cast<int>(x[j + 16] * id + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void QuantizeRowQ4_1(const float* x, BlockQ4_1* y, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < 32; ++j) {
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    y[i].m = F32ToF16(lo);
    for (int j = 0; j < 16; ++j) {
      const int a = std::min(15, static_cast<int>((x[j] - lo) * id + 0.5f));
      const int b = std::min(15, static_cast<int>((x[j + 16] - lo) * id + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

bool CanQuantizeTo(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0: case DType::kQ4_1:
      return true;
    default:
      return false;
  }
}

void QuantizeRow(DType t, const float* x, void* dst, int64_t n) {
  LM_CHECK(n % Info(t).block_elems == 0, n, " values are not whole ", Name(t), " blocks");
  switch (t) {
    case DType::kF32: std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float)); return;
    case DType::kF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = F32ToF16(x[i]);
      return;
    }
    case DType::kBF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = F32ToBf16(x[i]);
      return;
    }
    case DType::kQ8_0: QuantizeRowQ8_0(x, static_cast<BlockQ8_0*>(dst), n); return;
    case DType::kQ4_0: QuantizeRowQ4_0(x, static_cast<BlockQ4_0*>(dst), n); return;
    case DType::kQ4_1: QuantizeRowQ4_1(x, static_cast<BlockQ4_1*>(dst), n); return;
    default: LM_CHECK(false, "QuantizeRow cannot write ", Name(t));
  }
}

}  // namespace lm
