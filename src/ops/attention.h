// Scaled dot-product attention with explicit key positions and grouped-query heads.
// Query head h reads KV head h / (n_head / n_head_kv), so K/V are never copied per query head.
// Masking is by position, not index: key j is visible to query i iff k_pos[j] <= q_pos[i] (causal),
// which also covers caches whose positions were renumbered or selected out of order.
#pragma once

#include <cstdint>

namespace lm::ops {

struct AttentionArgs {
  const float* q = nullptr;        // [n_q, n_head, head_dim] f32
  const float* k = nullptr;        // [n_kv, n_head_kv, head_dim] f32
  const float* v = nullptr;        // [n_kv, n_head_kv, head_dim] f32
  const int32_t* q_pos = nullptr;  // [n_q]
  const int32_t* k_pos = nullptr;  // [n_kv]
  float* out = nullptr;            // [n_q, n_head, head_dim] f32
  int64_t n_q = 0, n_kv = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  float scale = 1.0f;
  bool causal = true;  // false: every key is visible (memory attention)
};

// Flash-style: one pass over keys per (query, head) with an online softmax; no [n_q, n_kv] matrix.
// Runs on the global thread pool over (query, head) pairs. A query that sees no key outputs zeros.
void Attention(const AttentionArgs& a);

namespace reference {
// Plain version for tests: materialises each query's scores, two-pass softmax in double.
void Attention(const AttentionArgs& a);
}  // namespace reference

}  // namespace lm::ops
