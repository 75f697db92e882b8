// Activations quantised to int8 per 32 elements (like GGML's q8_1), the input side of the int8 dot kernels.
// One layout serves every weight format: all of them (incl. the 256-element K-quants) decompose into
// 32-element sub-blocks, so a per-32 scale is at least as accurate as GGML's per-256 q8_K.
#pragma once

#include <cstdint>
#include <vector>

namespace lm {

// A read-only view of T quantised rows of K elements (K a multiple of 32). For token t and block b:
//   x[t, 32b + i] ≈ d[t*nb + b] * qs[t*K + 32b + i], and s[t*nb + b] = d * Σ_i qs[...] (for the weight
//   formats with an offset or minimum: Σ w·x = d_w·Σ q_w·x + m_w·Σ x, and Σ x ≈ s).
struct Q8Rows {
  const int8_t* qs = nullptr;  // [T, K]
  const float* d = nullptr;    // [T, K/32]
  const float* s = nullptr;    // [T, K/32]
  int64_t K = 0;
};

// Owns the storage; grows on demand and never shrinks, so steady-state calls do not allocate.
class Q8Buffer {
 public:
  // Quantises x [T, K] f32 (round to nearest, scale = max|x|/127 per block) and returns a view.
  Q8Rows Quantize(const float* x, int64_t T, int64_t K);

 private:
  std::vector<int8_t> qs_;
  std::vector<float> d_, s_;
};

// The same quantisation into caller-provided arrays (qs [K] int8, d/s [K/32] f32) for one row.
void QuantizeRowQ8A(const float* x, int64_t K, int8_t* qs, float* d, float* s);

}  // namespace lm
