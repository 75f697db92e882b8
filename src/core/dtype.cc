// DType tables.
#include "core/dtype.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/check.h"

namespace lm {

const DTypeInfo& Info(DType t) {
  static const DTypeInfo kInfo[] = {
      {"f32", 1, 4, false},     {"f16", 1, 2, false},     {"bf16", 1, 2, false},
      {"q8_0", 32, 34, true},   {"q4_0", 32, 18, true},   {"q4_1", 32, 20, true},
      {"q5_0", 32, 22, true},   {"q5_1", 32, 24, true},   {"q4_K", 256, 144, true},
      {"q5_K", 256, 176, true}, {"q6_K", 256, 210, true}, {"i8", 1, 1, false},
      {"i16", 1, 2, false},     {"i32", 1, 4, false},     {"i64", 1, 8, false},
      {"f64", 1, 8, false},
  };
  const auto i = static_cast<size_t>(t);
  LM_CHECK(i < sizeof(kInfo) / sizeof(kInfo[0]), "bad dtype ", i);
  return kInfo[i];
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(DType::kF64); ++i) {
    const std::string_view n = Info(static_cast<DType>(i)).name;
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return static_cast<DType>(i);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> BytesFor(DType t, int64_t n) {
  const DTypeInfo& info = Info(t);
  if (n < 0 || n % info.block_elems != 0) return std::nullopt;
  const uint64_t blocks = static_cast<uint64_t>(n / info.block_elems);
  if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(info.block_bytes)) return std::nullopt;
  return blocks * static_cast<uint64_t>(info.block_bytes);
}

namespace {
struct GgmlPair {
  uint32_t id;
  DType type;
};
constexpr GgmlPair kGgml[] = {
    {0, DType::kF32},   {1, DType::kF16},   {2, DType::kQ4_0},  {3, DType::kQ4_1},
    {6, DType::kQ5_0},  {7, DType::kQ5_1},  {8, DType::kQ8_0},  {12, DType::kQ4_K},
    {13, DType::kQ5_K}, {14, DType::kQ6_K}, {24, DType::kI8},   {25, DType::kI16},
    {26, DType::kI32},  {27, DType::kI64},  {28, DType::kF64},  {30, DType::kBF16},
};
}  // namespace

std::optional<DType> GgmlTypeToDType(uint32_t ggml_type) {
  for (const auto& p : kGgml)
    if (p.id == ggml_type) return p.type;
  return std::nullopt;
}

uint32_t DTypeToGgmlType(DType t) {
  for (const auto& p : kGgml)
    if (p.type == t) return p.id;
  LM_CHECK(false, "dtype without a GGML id: ", Name(t));
  return 0;
}

}  // namespace lm
