// Training forward/backward of the Llama family (Llama, SmolLM2) over one sequence, with the declared
// trainable set, MST mini-sequences for the MLP and LM head, and optional per-layer activation checkpointing.
// Forward saves what backward needs per layer (or only each layer's input when checkpointing, recomputing
// the layer in backward); gradients accumulate into the ParamSet (llm.c convention).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/gguf_reader.h"
#include "model/config.h"
#include "train/block.h"
#include "train/param.h"
#include "train/trainable.h"

namespace lm::train {

// The optional trainable side module on a frozen backbone: x += down(silu(gate(n)) * up(n)), n = RmsNorm(x).
struct SideModule {
  Weight norm;
  Projection gate, up, down;
  bool present = false;
};

// Trainable elements the spec selects in a model of this config (for the start-up memory check, before
// anything is allocated).
int64_t CountTrainableElements(const ModelConfig& c, const TrainableSpec& spec);

// Bytes of saved activations and scratch a step of T tokens needs under o (start-up memory check).
uint64_t EstimateActivationBytes(const ModelConfig& c, int64_t T, const ComputeOptions& o);

// A tensor of a GGUF file as a Weight: trainable → an f32 master (named param_name, default the tensor's
// name) holding the dequantised stored values; frozen → the stored view (zero-copy, any dtype).
Result<Weight> LoadWeight(const gguf::GgufFile& file, ParamSet& params, const std::string& name, const Shape& shape,
                          bool trainable, bool decay, const std::string& param_name = "");

class TrainModel {
 public:
  // Builds weights from a GGUF file (kept alive by the model): trainable tensors get f32 masters, frozen
  // ones stay views of the file. `seed` initialises LoRA A and side-module weights.
  static Result<std::unique_ptr<TrainModel>> Load(std::shared_ptr<const gguf::GgufFile> file,
                                                  const TrainableSpec& spec, uint64_t seed);

  const ModelConfig& config() const { return config_; }
  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }
  const TrainableSpec& spec() const { return spec_; }
  // "llama L=30 C=576 ... V=49152 trainable=full params=134515008": checkpoints must match it.
  std::string Fingerprint() const;

  // Mean cross-entropy of labels given tokens (positions 0..T-1). With backward, parameter gradients
  // accumulate d(loss_scale · loss). labels[t] is the target after tokens[t] or -100 (ignored).
  // T beyond the model's trained context is refused unless allow_beyond_context (memory benchmarks: RoPE
  // simply extrapolates, the loss is meaningless but the step's memory and time are real).
  Result<double> Run(std::span<const int32_t> tokens, std::span<const int32_t> labels, const ComputeOptions& o,
                     bool backward, float loss_scale = 1.0f, bool allow_beyond_context = false);

  // Peak bytes of saved activations in the last Run (measured, for reports).
  uint64_t last_saved_bytes() const { return last_saved_bytes_; }

 private:
  TrainModel() = default;
  std::shared_ptr<const gguf::GgufFile> file_;
  ModelConfig config_;
  TrainableSpec spec_;
  ParamSet params_;
  Weight token_embd_, output_norm_;
  Projection head_;
  std::vector<TrainLayer> layers_;
  SideModule side_;
  uint64_t last_saved_bytes_ = 0;
};

}  // namespace lm::train
