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

// Optional copies of intermediate states, for LongMem: its SideNet reads every hidden state of the frozen
// backbone (cross-network residuals) and one layer's keys and values (the memory bank).
struct ForwardTaps {
  // [L+1, T, C]: H[0] = token embeddings, H[l] = output of block l-1 for l < L, H[L] = the final-normed
  // state (the official LongMem hidden list ends after the final norm; spec longmem.md §2).
  float* hidden_states = nullptr;
  int64_t kv_layer = -1;  // block whose keys and values are copied (-1: none)
  float* k = nullptr;     // [T, Hkv, D] that block's keys *before* RoPE (position-free memory)
  float* v = nullptr;     // [T, Hkv, D]
  float* final_residual = nullptr;  // [T, C] the last block's output before the final norm
  float* kv_layer_mid = nullptr;    // [T, C] kv_layer's residual state after its attention, before its MLP
  // Return as soon as kv_layer's keys and values are copied (the rest of the pass is skipped; the memory
  // then holds only the layers below, and scratch.hidden is not computed): LongMem reading input into memory.
  bool stop_after_kv = false;
};

// Runs every layer over tokens at absolute positions pos (equal lengths), storing K/V in memory.
// On success scratch.hidden holds the final-normed hidden states [T, C]. Token ids are validated.
Status ForwardHidden(const Model& model, Memory& memory, std::span<const int32_t> tokens,
                     std::span<const int32_t> pos, ForwardScratch& scratch, const ForwardTaps* taps = nullptr);

// logits[n, V] = hidden[n, C] · outputᵀ.
void ComputeLogits(const Model& model, const float* hidden, int64_t n, float* logits);

}  // namespace lm
