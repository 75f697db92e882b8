// Attention of G query heads over one KV head's cache plus RazorAttention's compensation token (spec B.4):
// the mean k^, v^ of the N_d dropped tokens enters the softmax with multiplicity N_d, i.e. with a logit
// bias ln(N_d) — the form MindIE uses. ops::Attention has no per-key bias, so this materialises the
// (small: sinks + local window) score rows with sgemm and applies mask, bias and softmax itself.
#pragma once

#include <cstdint>
#include <vector>

namespace lm::razor {

struct CompensatedArgs {
  const float* q = nullptr;        // [n_q, G, D] f32, rotated
  const int32_t* q_pos = nullptr;  // [n_q]
  const float* k = nullptr;        // [n_kv, D] f32, rotated
  const float* v = nullptr;        // [n_kv, D] f32
  const int32_t* k_pos = nullptr;  // [n_kv]
  const float* comp_k = nullptr;   // [D] mean of dropped rotated keys
  const float* comp_v = nullptr;   // [D]
  int64_t n_dropped = 0;           // N_d > 0
  float* out = nullptr;            // [n_q, G, D] f32
  int64_t n_q = 0, group = 0, n_kv = 0, head_dim = 0;
  float scale = 1.0f;
};

// scratch is resized as needed and reused by the caller.
void CompensatedAttention(const CompensatedArgs& a, std::vector<float>& scratch);

}  // namespace lm::razor
