// Random weight rows in every GGML format for the product-kernel tests and benchmarks.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "core/quant.h"

namespace lm::test {

// F32 → IEEE half, round to nearest (test data only; values are well inside the normal range).
inline uint16_t F32ToF16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const int exp = static_cast<int>((b >> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return static_cast<uint16_t>(sign);
  uint32_t mant = (b & 0x7fffffu) + 0x1000u;  // round
  uint32_t e = static_cast<uint32_t>(exp);
  if (mant & 0x800000u) {
    mant = 0;
    ++e;
  }
  return static_cast<uint16_t>(sign | (e << 10) | (mant >> 13));
}

// n_rows rows of K elements of type t: random payload bytes with scales set to plausible magnitudes,
// so every bit pattern of the quants is exercised. f16/bf16 rows hold N(0, 1) values.
inline std::vector<uint8_t> RandomRows(DType t, int64_t n_rows, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto& info = Info(t);
  const int64_t n_blocks = n_rows * K / info.block_elems;
  std::vector<uint8_t> bytes(static_cast<size_t>(n_blocks * info.block_bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(0.002f, 0.02f), val(-1.0f, 1.0f);
  auto h = [&](float f) { return F32ToF16(f); };
  for (int64_t i = 0; i < n_blocks; ++i) {
    uint8_t* p = bytes.data() + i * info.block_bytes;
    switch (t) {
      case DType::kQ8_0: reinterpret_cast<BlockQ8_0*>(p)->d = h(scale(rng)); break;
      case DType::kQ4_0: reinterpret_cast<BlockQ4_0*>(p)->d = h(scale(rng)); break;
      case DType::kQ5_0: reinterpret_cast<BlockQ5_0*>(p)->d = h(scale(rng)); break;
      case DType::kQ4_1: {
        auto* b = reinterpret_cast<BlockQ4_1*>(p);
        b->d = h(scale(rng));
        b->m = h(-8 * scale(rng));
        break;
      }
      case DType::kQ5_1: {
        auto* b = reinterpret_cast<BlockQ5_1*>(p);
        b->d = h(scale(rng));
        b->m = h(-16 * scale(rng));
        break;
      }
      case DType::kQ4_K: {
        auto* b = reinterpret_cast<BlockQ4_K*>(p);
        b->d = h(scale(rng) / 8);
        b->dmin = h(scale(rng) / 8);
        break;
      }
      case DType::kQ5_K: {
        auto* b = reinterpret_cast<BlockQ5_K*>(p);
        b->d = h(scale(rng) / 16);
        b->dmin = h(scale(rng) / 8);
        break;
      }
      case DType::kQ6_K: reinterpret_cast<BlockQ6_K*>(p)->d = h(scale(rng) / 16); break;
      case DType::kF16: {
        const uint16_t v = h(val(rng));
        std::memcpy(p, &v, 2);
        break;
      }
      case DType::kBF16: {
        const uint16_t v = F32ToBf16(val(rng));
        std::memcpy(p, &v, 2);
        break;
      }
      default: break;
    }
  }
  return bytes;
}

inline std::vector<float> RandomActivations(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

}  // namespace lm::test
