// The Llama-family forward pass over a batch of tokens, with attention delegated to a Memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "memory/memory.h"
#include "model/model.h"

namespace lm {

// Activation buffers reused across calls, so decoding allocates nothing after the first step.
struct ForwardScratch {
  std::vector<float> x;      // [T, C] residual stream
  std::vector<float> xn;     // [T, C] normalised input of a block
  std::vector<float> q;      // [T, H*D]
  std::vector<float> k, v;   // [T, Hkv*D]
  std::vector<float> att;    // [T, H*D]
  std::vector<float> proj;   // [T, C]
  std::vector<float> gate;   // [T, I]
  std::vector<float> up;     // [T, I]
  std::vector<float> hidden; // [T, C] final-normed states (output)
  void Ensure(const ModelConfig& c, int64_t n_tokens);
};

MemoryGeometry GeometryOf(const ModelConfig& c);

// Runs every layer over tokens at absolute positions pos (equal lengths), storing K/V in memory.
// On success scratch.hidden holds the final-normed hidden states [T, C]. Token ids are validated.
Status ForwardHidden(const Model& model, Memory& memory, std::span<const int32_t> tokens,
                     std::span<const int32_t> pos, ForwardScratch& scratch);

// logits[n, V] = hidden[n, C] · outputᵀ.
void ComputeLogits(const Model& model, const float* hidden, int64_t n, float* logits);

}  // namespace lm
