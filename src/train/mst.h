// MST (Mini-Sequence Transformer, arXiv 2407.15892; spec ../shared/specs/data-methods.md §1): the SwiGLU MLP
// and the LM head + cross-entropy run over row chunks ("mini-sequences") of the sequence, so the [T, I] MLP
// activations and the [T, V] logits are never held whole. Chunks cover every row (the last one may be
// shorter: no dropped tail), weight gradients accumulate exactly once per chunk, and the loss is normalised
// by the global count of valid labels, so chunked and whole evaluation agree to f32 rounding.
#pragma once

#include <cstdint>

#include "train/param.h"

namespace lm::train {

// Tokens per chunk for M mini-sequences over T tokens (M <= 0 or M >= T: one chunk per token at most).
int64_t ChunkLength(int64_t T, int64_t M);
// Default number of head chunks for T tokens: the paper's ceil(V / C) (each chunk's logits about the size of
// the [T, C] input), but never chunks under kMinHeadChunkRows rows: below that the head's GEMMs stream the
// whole [V, C] weight for a handful of rows and throughput collapses (at T = 256 the paper's rule gives
// 3-row chunks for SmolLM2). For T >= ceil(V/C)·256 the two agree.
inline constexpr int64_t kMinHeadChunkRows = 256;
int64_t DefaultHeadChunks(int64_t V, int64_t C, int64_t T);

struct MlpArgs {
  const Projection* gate = nullptr;  // [I, C]
  const Projection* up = nullptr;    // [I, C]
  const Projection* down = nullptr;  // [C, I]
  int64_t T = 0, C = 0, I = 0;
  int64_t chunk = 0;  // rows per mini-sequence; 0 = whole sequence
  // Standard path: [2, T, I] buffer where forward saves gate and up pre-activations for backward.
  // Null = MST path: nothing is saved and backward recomputes each chunk.
  float* saved_gu = nullptr;
};

// out: [T, C] overwritten; x: [T, C] (the normalised MLP input).
void MlpForward(float* out, const float* x, const MlpArgs& a);
// dx: [T, C] overwritten; dout: [T, C]; x: [T, C] the forward input. Parameter grads accumulate.
void MlpBackward(float* dx, const float* dout, const float* x, const MlpArgs& a);

struct HeadLossArgs {
  const Projection* head = nullptr;  // [V, C]
  const float* h = nullptr;          // [T, C] final-normed hidden states
  const int32_t* labels = nullptr;   // [T], kIgnoreLabel (-100) rows are skipped
  int64_t T = 0, C = 0, V = 0;
  int64_t chunk = 0;                 // rows per mini-sequence; 0 = whole sequence ([T, V] logits at once)
  float* dh = nullptr;               // [T, C] overwritten with dLoss/dh; null = forward only (eval)
  float loss_scale = 1.0f;           // gradient of the caller's objective w.r.t. this mean loss
};
// Returns the mean cross-entropy over valid labels (0 if none). With dh set, the head's parameter grads and
// dh receive d(loss_scale · mean loss). Logits of a chunk are formed once and turned into their gradient
// in place (forward and backward of the head are fused: the loss is the last op, so no recomputation).
double HeadLoss(const HeadLossArgs& a);

}  // namespace lm::train
