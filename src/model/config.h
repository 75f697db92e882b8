// Model hyper-parameters for the Llama family (Llama, SmolLM2, Qwen2), read from GGUF or HF config.json.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "ops/rope.h"

namespace lm::gguf {
class GgufFile;
}

namespace lm {

enum class Arch { kLlama, kQwen2 };

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string arch_name;   // "llama", "qwen2"
  std::string name;        // general.name
  int64_t n_layer = 0;     // L
  int64_t n_embd = 0;      // C
  int64_t n_head = 0;      // H
  int64_t n_head_kv = 0;   // Hkv
  int64_t head_dim = 0;    // D
  int64_t n_ff = 0;        // I
  int64_t n_vocab = 0;     // V
  int64_t n_ctx_train = 0; // pretrained window
  float rms_eps = 1e-5f;
  ops::RopeParams rope;
  bool tied_embeddings = false;  // LM head reuses token_embd
  bool qkv_bias = false;         // Qwen2

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// Validates ranges (no zero or absurd sizes, heads divide evenly) with messages that name the key.
Status ValidateConfig(const ModelConfig& c);

Result<ModelConfig> ConfigFromGguf(const gguf::GgufFile& file);
Result<ModelConfig> ConfigFromHfJson(const nlohmann::json& config);

std::string DescribeConfig(const ModelConfig& c);  // one line for logs and `longmem info`

}  // namespace lm
