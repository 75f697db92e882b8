// What is trainable, declared up front (--trainable): full fine-tuning, a subset of layers, LoRA adapters on
// chosen projections, or a separate module on a frozen backbone. Everything not declared stays frozen as
// stored (quantised weights are never dequantised into a full copy).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace lm::train {

enum class TrainableKind {
  kFull,    // "full": every tensor gets an f32 master
  kLayers,  // "layers:0-3,7": those blocks' tensors (norms and projections); embedding, head frozen
  kLora,    // "lora:q,v:r=8:alpha=16": adapters on the named projections of every block
  kSide,    // "side:256": a residual SwiGLU side module of width 256 on the frozen backbone's last state
};

struct TrainableSpec {
  TrainableKind kind = TrainableKind::kFull;
  std::vector<std::pair<int64_t, int64_t>> layer_ranges;  // inclusive
  std::vector<std::string> lora_targets;                  // among q, k, v, o, gate, up, down
  int64_t lora_rank = 8;
  float lora_alpha = 16.0f;
  int64_t side_width = 256;
  std::string text;  // canonical form, recorded in checkpoints

  bool LayerTrainable(int64_t layer) const;
  bool LoraOn(const std::string& target) const;
};

Result<TrainableSpec> ParseTrainableSpec(const std::string& s);

}  // namespace lm::train
