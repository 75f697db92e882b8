// Element-wise forward/backward pairs: SwiGLU, GELU (tanh form, as GPT-2 and LongMem's SideNet use) and
// the residual add. Activation gradients overwrite their outputs (llm.c convention).
#pragma once

#include <cstdint>

namespace lm::train {

// h = silu(g) * u; h, g, u: [n] f32.
void SwiGluForward(float* h, const float* g, const float* u, int64_t n);
// dg = dh * u * silu'(g), du = dh * silu(g); overwrite. dg may alias dh.
void SwiGluBackward(float* dg, float* du, const float* dh, const float* g, const float* u, int64_t n);

// y = 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))).
void GeluForward(float* y, const float* x, int64_t n);
// dx = dy * gelu'(x); overwrite (dx may alias dy).
void GeluBackward(float* dx, const float* dy, const float* x, int64_t n);

// Residual y = a + b: forward writes y; backward routes dy to both inputs (da += dy, db += dy).
void ResidualForward(float* y, const float* a, const float* b, int64_t n);
void ResidualBackward(float* da, float* db, const float* dy, int64_t n);

}  // namespace lm::train
