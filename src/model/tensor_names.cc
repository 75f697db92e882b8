// The GGUF and Hugging Face names of the Llama-family layer tensors.
#include "model/tensor_names.h"

#include "model/weights.h"

namespace lm {

namespace {
struct NamePair {
  const char* gguf;  // after "blk.N."
  const char* hf;    // after "model.layers.N."
};
constexpr NamePair kNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
};
}  // namespace

std::string GgufLayerTensorName(LayerTensor t, int layer) {
  return "blk." + std::to_string(layer) + "." + kNames[static_cast<int>(t)].gguf;
}

std::string HfLayerTensorName(LayerTensor t, int layer) {
  return "model.layers." + std::to_string(layer) + "." + kNames[static_cast<int>(t)].hf;
}

Tensor& LayerWeights::Get(LayerTensor t) {
  switch (t) {
    case LayerTensor::kAttnNorm: return attn_norm;
    case LayerTensor::kWq: return wq;
    case LayerTensor::kWk: return wk;
    case LayerTensor::kWv: return wv;
    case LayerTensor::kWo: return wo;
    case LayerTensor::kBq: return bq;
    case LayerTensor::kBk: return bk;
    case LayerTensor::kBv: return bv;
    case LayerTensor::kFfnNorm: return ffn_norm;
    case LayerTensor::kWGate: return w_gate;
    case LayerTensor::kWUp: return w_up;
    case LayerTensor::kWDown: return w_down;
  }
  return attn_norm;
}

const Tensor& LayerWeights::Get(LayerTensor t) const { return const_cast<LayerWeights*>(this)->Get(t); }

}  // namespace lm
