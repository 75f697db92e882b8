// LongMem's SideNet (spec longmem.md §3–4): L/2 trainable Llama blocks beside a frozen backbone. Its input is
// the backbone's embedding output H[0]; side layer l adds the cross-network residual H[2l+2] − H[2l]; one
// layer (the one initialised from the cached backbone block) attends jointly over its local context and the
// memory bank; a trainable final norm feeds the backbone's frozen LM head.
//
// RoPE backbones (the paper's used ALiBi): the bank holds the cached block's keys *before* RoPE and memory
// attention uses the unrotated query, so memory is position-free as in the paper, while local attention
// keeps RoPE. With grouped-query attention each query head retrieves its own chunks from its KV head's bank.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "io/gguf_reader.h"
#include "model/config.h"
#include "sidenet/sidenet_config.h"
#include "train/block.h"
#include "train/param.h"

namespace lm::sidenet {

// What one SideNet call reads and produces.
struct SideNetCall {
  const float* hidden = nullptr;    // [L+1, T, C] backbone hidden states (model/forward.h ForwardTaps)
  const float* final_residual = nullptr;  // [T, C] pre-norm final state (needed when config().prenorm_last())
  const float* memory_layer_mid = nullptr;  // [T, C] M[m]: H[m] + block m's attention (config().live_memory())
  int64_t T = 0;
  std::span<const int32_t> labels;  // [T] next-token targets (-100 ignored); empty: no loss
  // Retrieval for the memory layer; null or returning K == 0: the memory is empty (plain local attention).
  std::function<train::MemoryAttentionShape(const float* q_pre, int64_t T)> retrieve;
  float* final_hidden = nullptr;    // optional [T, C]: final-normed states (for logits)
  bool backward = false;
  float loss_scale = 1.0f;
};

class SideNet {
 public:
  // A fresh SideNet from the backbone (spec §3.5): side layer i ← backbone block 2i+1 (f32 copies), final
  // norm ← the backbone's, memory gate logits 0 (σ = 0.5). The backbone file stays mapped, never copied.
  static Result<std::unique_ptr<SideNet>> Init(std::shared_ptr<const gguf::GgufFile> backbone, const SideNetConfig& s,
                                               const MemoryConfig& m);
  // Trained weights from a SideNet file written by Save (safetensors; metadata holds the configuration and
  // the backbone fingerprint, checked against `backbone`).
  static Result<std::unique_ptr<SideNet>> Load(std::shared_ptr<const gguf::GgufFile> backbone, const std::string& path);
  Status Save(const std::string& path) const;

  const SideNetConfig& config() const { return config_; }
  const MemoryConfig& memory_config() const { return memory_; }
  const ModelConfig& backbone_config() const { return backbone_config_; }
  train::ParamSet& params() { return params_; }
  const train::ParamSet& params() const { return params_; }
  // "sidenet of llama L=30 C=576 ... layers=15 memory_layer=21": checkpoints and files must match it.
  std::string Fingerprint() const;
  // The memory gate logits b_h [H] (σ(b_h) weighs the memory attention).
  std::span<float> gate_logits() { return params_.Find(kGateName)->value; }

  // Mean cross-entropy over valid labels (0 without labels); with backward, parameter gradients accumulate.
  Result<double> Run(const SideNetCall& call, const train::ComputeOptions& o);
  // logits[n, V] = hidden[n, C] · headᵀ with the backbone's frozen head.
  void Logits(const float* hidden, int64_t n, float* logits) const;

  static constexpr const char* kGateName = "sidenet.memory_gate";
  // The trainable parameter of side layer `layer` named after its GGUF tensor: "sidenet.10.attn_q.weight".
  static std::string LayerParamName(int64_t layer, std::string_view tensor);

 private:
  SideNet() = default;
  std::shared_ptr<const gguf::GgufFile> file_;
  ModelConfig backbone_config_;
  SideNetConfig config_;
  MemoryConfig memory_;
  train::ParamSet params_;
  std::vector<train::TrainLayer> layers_;
  train::Weight output_norm_, gate_;
  train::Projection head_;
};

}  // namespace lm::sidenet
