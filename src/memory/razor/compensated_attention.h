// Attention of G query heads over one KV head's cache plus RazorAttention's compensation token (spec B.4):
// the mean k^, v^ of the N_d dropped tokens enters the softmax with multiplicity N_d, i.e. with a logit
// bias ln(N_d) — the form MindIE uses. The cache part runs in the flash kernels (any K/V type), which also
// return each row's log-sum-exp; the compensation slot is then merged into that softmax exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/attention.h"

namespace lm::razor {

struct CompensatedArgs {
  const float* q = nullptr;        // [n_q, G, D] f32, rotated
  const int32_t* q_pos = nullptr;  // [n_q]
  const void* k = nullptr;         // [n_kv, D] kv_dtype, rotated
  const void* v = nullptr;         // [n_kv, D] kv_dtype
  ops::KvDType kv_dtype = ops::KvDType::kF32;
  const int32_t* k_pos = nullptr;  // [n_kv]
  const float* comp_k = nullptr;   // [D] mean of dropped rotated keys (f32)
  const float* comp_v = nullptr;   // [D]
  int64_t n_dropped = 0;           // N_d > 0; the dropped tokens precede every query, so the slot is always visible
  float* out = nullptr;            // [n_q, G, D] f32
  int64_t n_q = 0, group = 0, n_kv = 0, head_dim = 0;
  float scale = 1.0f;
};

// scratch is resized as needed and reused by the caller.
void CompensatedAttention(const CompensatedArgs& a, std::vector<float>& scratch);

namespace reference {
// The definition, in double: softmax over the cache's visible keys and the slot with logit + ln(N_d).
void CompensatedAttention(const CompensatedArgs& a);
}  // namespace reference

}  // namespace lm::razor
