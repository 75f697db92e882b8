// Scaled dot-product attention with explicit key positions and grouped-query heads.
// Query head h reads KV head h / (n_head / n_head_kv), so K/V are never copied per query head.
// Masking is by position, not index: key j is visible to query i iff k_pos[j] <= q_pos[i] (causal),
// which also covers caches whose positions were renumbered or selected out of order.
// Cached K/V may be f32, IEEE f16 (half the bytes to stream per decode step) or GGML q8_0 blocks (about a
// quarter); the element type is part of the arguments (kv_dtype), so a caller always states what its
// pointers hold.
#pragma once

#include <cstdint>
#include <span>

#include "ops/half.h"  // ConvertF32ToF16 / ConvertF16ToF32, which the f16 cache paths pair with these

namespace lm::ops {

// Element type of cached K/V rows.
enum class KvDType : uint8_t {
  kF32,  // float
  kF16,  // IEEE binary16 bits (uint16_t)
  kQ8_0, // GGML q8_0 blocks (core/quant.h BlockQ8_0): element i is in block i / 32; head_dim % 32 == 0
};

// Bytes of n K/V elements of type t (n a multiple of 32 for q8_0).
int64_t KvBytes(KvDType t, int64_t n);

struct AttentionArgs {
  const float* q = nullptr;  // [n_q, n_head, head_dim] f32
  const void* k = nullptr;   // [n_kv, n_head_kv, head_dim] kv_dtype
  const void* v = nullptr;   // [n_kv, n_head_kv, head_dim] kv_dtype
  KvDType kv_dtype = KvDType::kF32;
  const int32_t* q_pos = nullptr;  // [n_q]
  const int32_t* k_pos = nullptr;  // [n_kv]
  float* out = nullptr;            // [n_q, n_head, head_dim] f32
  int64_t n_q = 0, n_kv = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  float scale = 1.0f;
  bool causal = true;  // false: every key is visible (memory attention)
  // Optional [n_q, n_head] output: log Σ_j exp(scale · q·k_j) over the visible keys (-inf when none), so a
  // caller can merge further keys into the softmax afterwards (RazorAttention's compensation token).
  float* lse = nullptr;
};

// Flash-style attention on the global thread pool; no [n_q, n_kv] score matrix, no allocation per call
// after warm-up (per-thread scratch is reused). A query that sees no key outputs zeros.
// Few queries (decode): keys are split across threads (flash-decoding) and each K/V row is read once per
// call for all query heads of its KV group; partial softmax states are merged at the end.
// Many queries (prefill): query tiles x key blocks, skipping key blocks in the future of a whole tile.
// SIMD (Highway, AVX2 / AVX-512) for head_dim in {32, 64, 128}; other shapes use a scalar path.
void Attention(const AttentionArgs& a);

// A contiguous range of cached keys scored with one copy of the queries (see AttentionRuns).
struct KeyRun {
  int64_t k0 = 0, n = 0;  // cache rows [k0, k0 + n)
  int64_t q_variant = 0;  // which copy of the queries scores them
};

// One softmax over several runs of the cache, each run scored with its own copy of the queries: a.q holds
// n_variants copies, [n_variants, n_q, n_head, head_dim]; a.n_kv is not used (the runs index the cache,
// and k_pos is indexed by cache row). Masking by position as in Attention; lse as in Attention.
// Why: RoPE scores depend only on the query-key position difference, so a strategy that renumbers the
// positions of whole spans (ReAttention) can keep its keys rotated once, at their own positions, and rotate
// each span's queries by that span's shift instead of gathering and re-rotating thousands of keys per step.
// Decode-sized calls (n_q * group <= 16, head_dim 32/64/128) use the flash-decoding kernel; other shapes
// attend run by run and merge.
void AttentionRuns(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_variants);

// Element i of a K/V array of type t, as f32 (plain code: tests, references, occasional reads).
float KvElement(const void* p, KvDType t, int64_t i);
// n f32 K/V elements written in type t at dst (KvBytes(t, n) bytes).
void StoreKv(KvDType t, const float* src, void* dst, int64_t n);
// The inverse: n K/V elements of type t at src read as f32 (f16 widened with SIMD).
void LoadKvRow(KvDType t, const void* src, float* dst, int64_t n);

namespace reference {
// Plain version for tests: materialises each query's scores, two-pass softmax in double. Reads f16 and
// q8_0 K/V exactly (each element dequantised to f32), so those kernels can be checked against it tightly.
void Attention(const AttentionArgs& a);
// Run by run with the reference above, merged in double.
void AttentionRuns(const AttentionArgs& a, std::span<const KeyRun> runs, int64_t n_variants);
}  // namespace reference

}  // namespace lm::ops
