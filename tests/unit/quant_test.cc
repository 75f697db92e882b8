// Dequantisation and half-float conversion checked against gguf-py (tests/data/goldens/quant_blocks.json).
// Comparison is exact: every dequantised float must have the same bit pattern as gguf-py's, because both
// do the same f32 operations in the same order (a mismatch means a layout or ordering bug, not rounding).
#include "core/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/half.h"
#include "test_util.h"

namespace lm {
namespace {

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

std::vector<uint32_t> F32BitsFromHex(const std::string& hex) {
  const std::vector<uint8_t> bytes = FromHex(hex);
  std::vector<uint32_t> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

std::optional<DType> DTypeByName(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(DType::kF64); ++i)
    if (Name(static_cast<DType>(i)) == name) return static_cast<DType>(i);
  return std::nullopt;
}

const nlohmann::json& Goldens() {
  static const nlohmann::json j = test::LoadJson(test::DataPath("goldens/quant_blocks.json"));
  return j;
}

TEST(QuantGolden, CoversEveryBlockType) {
  for (const char* t : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_K", "q5_K", "q6_K", "f16", "bf16"})
    EXPECT_TRUE(Goldens()["types"].contains(t)) << t;
}

TEST(QuantGolden, DequantizeRowMatchesGgufPyBitForBit) {
  int n_cases = 0;
  for (const auto& [type_name, cases] : Goldens()["types"].items()) {
    const std::optional<DType> t = DTypeByName(type_name);
    ASSERT_TRUE(t.has_value()) << type_name;
    for (const auto& c : cases) {
      const auto n = c["n"].get<int64_t>();
      const std::vector<uint8_t> src = FromHex(c["bytes"].get<std::string>());
      const std::vector<uint32_t> want = F32BitsFromHex(c["f32"].get<std::string>());
      ASSERT_EQ(src.size(), *BytesFor(*t, n)) << type_name << " " << c["name"];
      ASSERT_EQ(want.size(), static_cast<size_t>(n));
      std::vector<float> got(static_cast<size_t>(n));
      DequantizeRow(*t, src.data(), got.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        float w;
        std::memcpy(&w, &want[i], 4);
        ASSERT_EQ(Bits(got[i]), want[i]) << type_name << " case " << c["name"] << " element " << i << ": got " << got[i]
                                         << ", gguf-py " << w;
      }
      ++n_cases;
    }
  }
  EXPECT_GE(n_cases, 50);
}

// Our reference quantisers against gguf-py's (both follow GGML's *_ref round-to-nearest).
TEST(QuantGolden, ReferenceQuantizersMatchGgufPy) {
  struct Q {
    const char* name;
    void (*fn)(const float*, void*, int64_t);
  };
  const Q quantizers[] = {
      {"q8_0", [](const float* x, void* y, int64_t n) { QuantizeRowQ8_0(x, static_cast<BlockQ8_0*>(y), n); }},
      {"q4_0", [](const float* x, void* y, int64_t n) { QuantizeRowQ4_0(x, static_cast<BlockQ4_0*>(y), n); }},
      {"q4_1", [](const float* x, void* y, int64_t n) { QuantizeRowQ4_1(x, static_cast<BlockQ4_1*>(y), n); }},
  };
  for (const Q& q : quantizers) {
    const DType t = *DTypeByName(q.name);
    for (const auto& c : Goldens()["types"][q.name]) {
      const auto n = c["n"].get<int64_t>();
      const std::vector<uint32_t> src_bits = F32BitsFromHex(c["src_f32"].get<std::string>());
      std::vector<float> src(src_bits.size());
      std::memcpy(src.data(), src_bits.data(), src.size() * 4);
      std::vector<uint8_t> got(*BytesFor(t, n));
      q.fn(src.data(), got.data(), n);
      EXPECT_EQ(got, FromHex(c["bytes"].get<std::string>())) << q.name << " case " << c["name"];
    }
  }
}

// F32ToF16 against numpy's float16 cast and F32ToBf16 against gguf-py's (ggml's) rounding.
TEST(QuantGolden, HalfConversionsMatchNumpyAndGgufPy) {
  for (const char* name : {"f16", "bf16"}) {
    for (const auto& c : Goldens()["types"][name]) {
      if (!c.contains("src_f32")) continue;
      const std::vector<uint32_t> src = F32BitsFromHex(c["src_f32"].get<std::string>());
      const std::vector<uint8_t> want = FromHex(c["bytes"].get<std::string>());
      for (size_t i = 0; i < src.size(); ++i) {
        float x;
        std::memcpy(&x, &src[i], 4);
        const uint16_t got = std::string(name) == "f16" ? F32ToF16(x) : F32ToBf16(x);
        const uint16_t w = static_cast<uint16_t>(want[2 * i] | (want[2 * i + 1] << 8));
        EXPECT_EQ(got, w) << name << " case " << c["name"] << " input " << x;
      }
    }
  }
}

TEST(Half, KnownF16Values) {
  EXPECT_EQ(F16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(F16ToF32(0xC000), -2.0f);
  EXPECT_EQ(F16ToF32(0x7BFF), 65504.0f);
  EXPECT_EQ(F16ToF32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(F16ToF32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(Bits(F16ToF32(0x8000)), 0x80000000u);  // -0 keeps its sign
  EXPECT_TRUE(std::isinf(F16ToF32(0x7C00)) && F16ToF32(0x7C00) > 0);
  EXPECT_TRUE(std::isinf(F16ToF32(0xFC00)) && F16ToF32(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(F16ToF32(0x7E00)));

  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65519.0f), 0x7BFF);  // below the halfway point to 65536: rounds down
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // halfway: rounds to even = inf
  EXPECT_EQ(F32ToF16(1e10f), 0x7C00);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);         // tie to even (0)
  EXPECT_EQ(F32ToF16(std::ldexp(3.0f, -25)), 0x0002);         // tie to even (2)
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie, even mantissa stays
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(3.0f, -11)), 0x3C02);  // tie, odd mantissa rounds up
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(INFINITY), 0x7C00);
  EXPECT_EQ(F32ToF16(-INFINITY), 0xFC00);
  EXPECT_TRUE((F32ToF16(NAN) & 0x7FFF) > 0x7C00);
}

TEST(Half, KnownBf16Values) {
  EXPECT_EQ(Bf16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToF32(0xC000), -2.0f);
  EXPECT_EQ(F32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);  // tie to even
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(3.0f, -8)), 0x3F82);
  EXPECT_EQ(F32ToBf16(3.4e38f), 0x7F80);  // rounds past the largest bf16 to inf
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(NAN))));
}

// Every f16 / bf16 bit pattern survives f16 -> f32 -> f16 exactly (NaNs stay NaN).
TEST(Half, RoundTripEveryBitPattern) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto x = static_cast<uint16_t>(h);
    const float f = F16ToF32(x);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(f)))) << std::hex << h;
      EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(Bf16ToF32(x)))) || !std::isnan(Bf16ToF32(x)));
      continue;
    }
    ASSERT_EQ(F32ToF16(f), x) << std::hex << h;
    const float b = Bf16ToF32(x);
    if (!std::isnan(b)) {
      ASSERT_EQ(F32ToBf16(b), x) << std::hex << h;
    }
  }
}

}  // namespace
}  // namespace lm
