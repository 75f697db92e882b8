// StreamingKv (StreamingLLM, Xiao et al. 2023): the first n_sink tokens (attention sinks) plus a sliding
// window of the most recent tokens; everything between is evicted. Keys are stored before RoPE and get
// positions by their index inside the cache at every step (the reference's pos_shift), so positions never
// leave the pretrained window however long the stream runs. It does not recall evicted text; it is the
// bounded-memory baseline.
#pragma once

#include <vector>

#include "memory/memory.h"
#include "memory/rope_table.h"

namespace lm {

struct StreamingParams {
  int64_t n_sink = 4;    // attention sinks kept forever
  int64_t n_window = 0;  // recent tokens kept (> 0); n_sink + n_window <= the model's window
  int64_t chunk = 512;   // new tokens attended per step (clamped to n_window), like the reference's
                         // evict-for-space before each forward
};

class StreamingKv final : public Memory {
 public:
  StreamingKv(const MemoryGeometry& geometry, const StreamingParams& params);

  std::string_view name() const override { return "streaming"; }
  RopeRegime rope_regime() const override { return RopeRegime::kRotateOnRead; }
  Status Attend(const AttendRequest& r) override;
  Status CanAppend(int64_t) const override { return OkStatus(); }  // an endless stream fits
  int64_t n_tokens() const override { return n_seen_.empty() ? 0 : n_seen_[0]; }
  uint64_t kv_bytes() const override;
  void Clear() override;
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<StreamingKv>(*this); }

  const StreamingParams& params() const { return p_; }

 private:
  int64_t capacity() const { return p_.n_sink + p_.n_window; }
  int64_t SlotOf(int64_t token) const;  // ring slot of the token-th token ever written
  void AttendChunk(int layer, float* q, const float* k, const float* v, int64_t n, float* out);

  MemoryGeometry g_;
  StreamingParams p_;
  RopeTable rope_;
  std::vector<std::vector<float>> k_, v_;  // per layer: [capacity, Hkv, D] f32; k pre-RoPE; ring slots
  std::vector<int64_t> n_seen_;            // per layer: tokens written ever
  // Scratch reused across steps (no allocation per decode step after warm-up).
  std::vector<float> k_rot_;  // [capacity, Hkv, D] rotated copy
  std::vector<int32_t> k_pos_, q_pos_;
};

}  // namespace lm
