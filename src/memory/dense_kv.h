// DenseKv: the full cache, every key and value of every token at its original position.
#pragma once

#include <vector>

#include "memory/memory.h"

namespace lm {

class DenseKv final : public Memory {
 public:
  // Holds up to n_ctx tokens; memory is reserved lazily in steps as tokens arrive.
  DenseKv(const MemoryGeometry& geometry, int64_t n_ctx);

  std::string_view name() const override { return "dense"; }
  RopeRegime rope_regime() const override { return RopeRegime::kRotateOnWrite; }
  Status Attend(const AttendRequest& r) override;
  Status CanAppend(int64_t n_tokens) const override;
  int64_t n_tokens() const override { return n_written_.empty() ? 0 : n_written_[0]; }
  uint64_t kv_bytes() const override;
  void Clear() override;
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<DenseKv>(*this); }

  int64_t capacity() const { return n_ctx_; }

 private:
  MemoryGeometry g_;
  int64_t n_ctx_;
  std::vector<std::vector<float>> k_, v_;  // per layer: [S, Hkv, D] f32, rotated keys
  std::vector<std::vector<int32_t>> pos_;  // per layer: [S]
  std::vector<int64_t> n_written_;         // per layer
};

}  // namespace lm
