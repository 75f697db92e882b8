// Element type a KV cache stores its keys and values in. f16 halves the bytes each decode step streams
// (and the cache's RAM) at a small, measured accuracy cost; f32 is exact and serves as the baseline.
#pragma once

#include <optional>
#include <string_view>

#include "ops/attention.h"

namespace lm {

enum class KvCacheType {
  kF32,
  kF16,
};

inline std::string_view KvCacheTypeName(KvCacheType t) { return t == KvCacheType::kF16 ? "f16" : "f32"; }

inline std::optional<KvCacheType> ParseKvCacheType(std::string_view s) {
  if (s == "f16") return KvCacheType::kF16;
  if (s == "f32") return KvCacheType::kF32;
  return std::nullopt;
}

inline ops::KvDType ToKvDType(KvCacheType t) { return t == KvCacheType::kF16 ? ops::KvDType::kF16 : ops::KvDType::kF32; }
inline int64_t KvElementBytes(KvCacheType t) { return t == KvCacheType::kF16 ? 2 : 4; }

}  // namespace lm
