// Per-architecture weight structs for the Llama family, with a visitor over every tensor.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace lm {

// Which tensor of a layer; the name tables (tensor_names.h) map each to its GGUF and HF names.
enum class LayerTensor {
  kAttnNorm, kWq, kWk, kWv, kWo, kBq, kBk, kBv, kFfnNorm, kWGate, kWUp, kWDown,
};

struct LayerWeights {
  Tensor attn_norm;          // [C] f32
  Tensor wq, wk, wv, wo;     // [H*D, C], [Hkv*D, C], [Hkv*D, C], [C, H*D] as stored (quantised/f16/bf16/f32)
  Tensor bq, bk, bv;         // Qwen2 only: [H*D], [Hkv*D], [Hkv*D] f32
  Tensor ffn_norm;           // [C] f32
  Tensor w_gate, w_up;       // [I, C] as stored
  Tensor w_down;             // [C, I] as stored

  Tensor& Get(LayerTensor t);
  const Tensor& Get(LayerTensor t) const;
};

struct ModelWeights {
  Tensor token_embd;   // [V, C] as stored (may be quantised; rows are dequantised on lookup)
  Tensor output_norm;  // [C] f32
  Tensor output;       // [V, C] LM head as stored (the token_embd view itself when tied)
  std::vector<LayerWeights> layers;
};

// Calls fn(name, tensor) for every present tensor, GGUF names.
template <class Fn>
void ForEachTensor(const ModelWeights& w, Fn&& fn);

}  // namespace lm

#include "model/tensor_names.h"

namespace lm {
template <class Fn>
void ForEachTensor(const ModelWeights& w, Fn&& fn) {
  fn(std::string("token_embd.weight"), w.token_embd);
  fn(std::string("output_norm.weight"), w.output_norm);
  fn(std::string("output.weight"), w.output);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    for (LayerTensor t : kAllLayerTensors) {
      const Tensor& x = w.layers[l].Get(t);
      if (!x.empty()) fn(GgufLayerTensorName(t, static_cast<int>(l)), x);
    }
  }
}
}  // namespace lm
