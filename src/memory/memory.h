// Memory: what a layer's attention can see of the past. Strategies (dense, streaming, reattention,
// razor, LongMem's bank) are classes behind this one interface; the model calls Attend once per layer
// and never touches the cache layout.
//
// Keys and queries arrive *before* RoPE, with the absolute positions of the new tokens. Each strategy
// decides where positions are applied: dense/razor rotate at write time (keys kept at their original
// positions); re-positioning strategies keep raw keys and rotate at read time. That choice is the
// strategy's RopeRegime, declared in its type.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "ops/attention.h"
#include "ops/rope.h"

namespace lm {

enum class RopeRegime {
  kRotateOnWrite,  // cached keys carry their original positions (dense, razor)
  kRotateOnRead,   // cached keys are position-free; positions are assigned per attention step
};

struct MemoryGeometry {
  int64_t n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  ops::RopeParams rope;
};

// The attention arguments every strategy fills the same way from its geometry: head counts and size,
// 1/sqrt(head_dim) scaling, n_q queries writing to out, K/V of type kv. Callers add q, k, v and positions.
inline ops::AttentionArgs AttentionArgsFor(const MemoryGeometry& g, int64_t n_q, float* out,
                                           ops::KvDType kv = ops::KvDType::kF32) {
  ops::AttentionArgs a;
  a.kv_dtype = kv;
  a.out = out;
  a.n_q = n_q;
  a.n_head = g.n_head;
  a.n_head_kv = g.n_head_kv;
  a.head_dim = g.head_dim;
  a.scale = 1.0f / std::sqrt(static_cast<float>(g.head_dim));
  return a;
}

struct AttendRequest {
  int layer = 0;
  float* q = nullptr;              // [T, H, D] f32, pre-RoPE; the strategy may rotate it in place
  float* k = nullptr;              // [T, Hkv, D] f32, pre-RoPE; may be rotated in place
  const float* v = nullptr;        // [T, Hkv, D] f32
  const int32_t* pos = nullptr;    // [T] absolute positions of the new tokens
  int64_t n_tokens = 0;            // T
  float* out = nullptr;            // [T, H, D] f32 attention output (before the output projection)
};

class Memory {
 public:
  virtual ~Memory() = default;

  virtual std::string_view name() const = 0;
  virtual RopeRegime rope_regime() const = 0;
  // Stores the new tokens' K/V for this layer, then attends the new queries over what the strategy keeps.
  // Layers are called in order 0..L-1 for each batch of tokens.
  virtual Status Attend(const AttendRequest& r) = 0;
  // Checked before a batch runs, so a too-long input fails before any layer changes state.
  virtual Status CanAppend(int64_t n_tokens) const = 0;
  virtual int64_t n_tokens() const = 0;   // tokens written so far
  virtual uint64_t kv_bytes() const = 0;  // bytes of keys/values held now
  virtual void Clear() = 0;
  virtual std::unique_ptr<Memory> Clone() const = 0;
  // True when what a step attends depends on the queries sharing it (reattention's per-chunk vote). A
  // prompt's last token then gets a step of its own, so the first generated token comes from a scope
  // chosen by that token alone, as the reference driver decodes it (spec A.4).
  virtual bool scope_depends_on_step() const { return false; }
  // For reports: how many of the tokens at positions [begin, end) the last step of `layer` attended, or -1
  // where the strategy does not track it. Tells a retrieval miss of the strategy from one of the model.
  virtual int64_t AttendedByLastStep(int layer, int64_t begin, int64_t end) const {
    (void)layer, (void)begin, (void)end;
    return -1;
  }
};

}  // namespace lm
