// LongMem joint attention ops (spec §4), forward and backward: memory attention over K retrieved bank tokens and
// the per-head sigmoid gate that mixes it with local attention. Memory attention forward saves the per-(query,
// head) log-sum-exp so backward recomputes the K probabilities of a row. The bank is frozen: only the query gets a
// gradient. No mask, no positions; q is the unrotated query.
#pragma once

#include <cstdint>

namespace lm::train {

struct MemoryAttentionShape {
  const float* q = nullptr;        // [T, H, D] f32 pre-RoPE
  const float* bank_k = nullptr;   // kv head g at bank_k + g * kv_stride, [*, D] f32
  const float* bank_v = nullptr;   // same layout as bank_k
  int64_t kv_stride = 0;           // floats between kv heads; slots must satisfy (slot + 1) * D <= kv_stride if > 0
  const int32_t* slots = nullptr;  // [T, H, K] token slots (repeats allowed)
  int64_t T = 0, H = 0, Hkv = 0, D = 0, K = 0;
  float scale = 1.0f;
};

// out: [T, H, D] f32; lse: [T, H] f32 (saved for backward). K == 0: out = 0, lse = -inf (caller then uses local
// attention only). p_j = softmax_j(scale · q[t,h]·k_j), out[t,h] = Σ_j p_j v_j with k_j, v_j the slot-j bank rows
// of kv head h / (H / Hkv).
void MemoryAttentionForward(float* out, float* lse, const MemoryAttentionShape& a);

// dq: [T, H, D] f32, ACCUMULATED (the same query also feeds local attention); dout: [T, H, D]; out, lse from
// MemoryAttentionForward. K == 0 leaves dq unchanged.
void MemoryAttentionBackward(float* dq, const float* dout, const float* out, const float* lse,
                             const MemoryAttentionShape& a);

// Gate mix, code convention: o = (1 − σ(b_h))·local + σ(b_h)·mem, b a learned logit per query head (initialised
// to 0, so the gate is exactly 0.5). o: [T, H, D] f32; local, mem: [T, H, D] f32; gate_logit: [H] f32.
void GateMixForward(float* o, const float* local, const float* mem, const float* gate_logit, int64_t T, int64_t H,
                    int64_t D);

// dlocal, dmem: [T, H, D] f32, overwritten (either may alias dout); dgate: [H] f32, ACCUMULATED (nullptr: gate
// frozen); dout, local, mem: [T, H, D] f32; gate_logit: [H] f32.
void GateMixBackward(float* dlocal, float* dmem, float* dgate, const float* dout, const float* local, const float* mem,
                     const float* gate_logit, int64_t T, int64_t H, int64_t D);

}  // namespace lm::train
