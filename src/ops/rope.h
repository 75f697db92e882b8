// Rotary position embedding. Two pairings exist and the model format decides which one applies:
//   kInterleaved: pairs (x[2i], x[2i+1]) — GGUF llama weights, whose Q/K rows the converter permuted.
//   kHalfSplit:   pairs (x[i], x[i + d/2]) — HF layout (safetensors llama) and GGUF qwen2 ("neox").
#pragma once

#include <cstdint>
#include <vector>

namespace lm::ops {

enum class RopeStyle { kInterleaved, kHalfSplit };

struct RopeParams {
  int head_dim = 64;
  int rot_dim = 64;      // leading dims that rotate (= head_dim for Llama/Qwen2)
  float theta = 10000.0f;
  RopeStyle style = RopeStyle::kInterleaved;
};

// Rotates x: [T, n_head, head_dim] f32 in place; token t sits at position pos[t] (any integer, may repeat).
void ApplyRope(float* x, const int32_t* pos, int64_t n_tokens, int64_t n_head, const RopeParams& p);

// Inverse frequencies theta^(-2i/rot_dim), i < rot_dim/2, computed in double then rounded.
std::vector<float> RopeInvFreq(const RopeParams& p);

}  // namespace lm::ops
