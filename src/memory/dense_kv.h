// DenseKv: the full cache, every key and value of every token at its original position, stored as f16
// (default), q8_0 or f32.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "memory/kv_cache_type.h"
#include "memory/memory.h"

namespace lm {

class DenseKv final : public Memory {
 public:
  // Holds up to n_ctx tokens; memory is reserved lazily in steps as tokens arrive.
  DenseKv(const MemoryGeometry& geometry, int64_t n_ctx, KvCacheType type = KvCacheType::kF16);

  std::string_view name() const override { return "dense"; }
  RopeRegime rope_regime() const override { return RopeRegime::kRotateOnWrite; }
  Status Attend(const AttendRequest& r) override;
  Status CanAppend(int64_t n_tokens) const override;
  int64_t n_tokens() const override { return n_written_.empty() ? 0 : n_written_[0]; }
  // Every stored token is attended.
  int64_t AttendedByLastStep(int /*layer*/, int64_t begin, int64_t end) const override {
    return std::max<int64_t>(0, std::min(end, n_tokens()) - std::max<int64_t>(begin, 0));
  }
  uint64_t kv_bytes() const override;
  void Clear() override;
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<DenseKv>(*this); }

  int64_t capacity() const { return n_ctx_; }
  KvCacheType type() const { return type_; }

 private:
  MemoryGeometry g_;
  int64_t n_ctx_;
  KvCacheType type_;
  // Per layer: [S, Hkv, D] elements of type_ (rotated keys / values), as raw bytes.
  std::vector<std::vector<uint8_t>> k_, v_;
  std::vector<std::vector<int32_t>> pos_;  // per layer: [S]
  std::vector<int64_t> n_written_;         // per layer
};

}  // namespace lm
