// Element type a KV cache stores its keys and values in. f16 halves the bytes each decode step streams
// (and the cache's RAM) at a small, measured accuracy cost; q8_0 (GGML blocks of 32 int8 values and an f16
// scale, 8.5 bits per element) takes 47% fewer again; f32 is exact and serves as the baseline.
#pragma once

#include <optional>
#include <string_view>

#include "ops/attention.h"

namespace lm {

enum class KvCacheType {
  kF32,
  kF16,
  kQ8_0,
};

inline std::string_view KvCacheTypeName(KvCacheType t) {
  return t == KvCacheType::kF16 ? "f16" : t == KvCacheType::kQ8_0 ? "q8_0" : "f32";
}

inline std::optional<KvCacheType> ParseKvCacheType(std::string_view s) {
  for (KvCacheType t : {KvCacheType::kF32, KvCacheType::kF16, KvCacheType::kQ8_0})
    if (s == KvCacheTypeName(t)) return t;
  return std::nullopt;
}

inline ops::KvDType ToKvDType(KvCacheType t) {
  return t == KvCacheType::kF16 ? ops::KvDType::kF16 : t == KvCacheType::kQ8_0 ? ops::KvDType::kQ8_0 : ops::KvDType::kF32;
}

}  // namespace lm
