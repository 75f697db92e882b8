// Causal attention with explicit key positions and grouped-query heads, forward/backward for training.
// Same masking rule as ops/attention.h: key j is visible to query i iff k_pos[j] <= q_pos[i]. Forward saves
// the per-(query, head) log-sum-exp, so backward recomputes probabilities block by block (flash-style):
// no [T, S] matrix is ever held for more than one block of queries of one head.
#pragma once

#include <cstdint>

namespace lm::train {

struct AttentionShape {
  const float* q = nullptr;        // [T, H, D] f32 (after RoPE)
  const float* k = nullptr;        // [S, Hkv, D] f32 (after RoPE)
  const float* v = nullptr;        // [S, Hkv, D] f32
  const int32_t* q_pos = nullptr;  // [T]
  const int32_t* k_pos = nullptr;  // [S]
  int64_t T = 0, S = 0, H = 0, Hkv = 0, D = 0;
  float scale = 1.0f;
};

// out: [T, H, D] f32; lse: [T, H] f32 (saved for backward; +inf where a query sees no key, out = 0 there).
void AttentionForward(float* out, float* lse, const AttentionShape& a);

struct AttentionBackwardArgs {
  float* dq = nullptr;           // [T, H, D], overwritten
  float* dk = nullptr;           // [S, Hkv, D], overwritten
  float* dv = nullptr;           // [S, Hkv, D], overwritten
  const float* dout = nullptr;   // [T, H, D]
  const float* out = nullptr;    // [T, H, D] forward output
  const float* lse = nullptr;    // [T, H] from AttentionForward
  AttentionShape fwd;
};
void AttentionBackward(const AttentionBackwardArgs& a);

}  // namespace lm::train
