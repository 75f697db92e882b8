// Name tables: one place maps each weight to its GGUF name and its Hugging Face name.
#pragma once

#include <array>
#include <string>

namespace lm {

enum class LayerTensor;

inline constexpr std::array<LayerTensor, 12> kAllLayerTensors = {
    LayerTensor{0}, LayerTensor{1}, LayerTensor{2}, LayerTensor{3}, LayerTensor{4},  LayerTensor{5},
    LayerTensor{6}, LayerTensor{7}, LayerTensor{8}, LayerTensor{9}, LayerTensor{10}, LayerTensor{11},
};

std::string GgufLayerTensorName(LayerTensor t, int layer);  // "blk.3.attn_q.weight"
std::string HfLayerTensorName(LayerTensor t, int layer);    // "model.layers.3.self_attn.q_proj.weight"

struct GlobalTensorNames {
  const char* token_embd;
  const char* output_norm;
  const char* output;
};
inline constexpr GlobalTensorNames kGgufGlobalNames = {"token_embd.weight", "output_norm.weight", "output.weight"};
inline constexpr GlobalTensorNames kHfGlobalNames = {"model.embed_tokens.weight", "model.norm.weight",
                                                     "lm_head.weight"};

}  // namespace lm
