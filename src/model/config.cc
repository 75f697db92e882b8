// Reading and validating ModelConfig.
#include "model/config.h"

#include <nlohmann/json.hpp>

#include "io/gguf_reader.h"

namespace lm {

namespace {
constexpr int64_t kMaxDim = 1 << 20;  // generous bound: rejects garbage before any allocation

Status CheckRange(const char* what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return InvalidArgument(StrCat("model config: ", what, " = ", v, " is outside [", lo, ", ", hi,
                                  "]; hint: corrupt or unsupported model file?"));
  return OkStatus();
}
}  // namespace

Status ValidateConfig(const ModelConfig& c) {
  LM_RETURN_IF_ERROR(CheckRange("n_layer", c.n_layer, 1, 4096));
  LM_RETURN_IF_ERROR(CheckRange("n_embd", c.n_embd, 1, kMaxDim));
  LM_RETURN_IF_ERROR(CheckRange("n_head", c.n_head, 1, 4096));
  LM_RETURN_IF_ERROR(CheckRange("n_head_kv", c.n_head_kv, 1, c.n_head));
  LM_RETURN_IF_ERROR(CheckRange("head_dim", c.head_dim, 2, 1024));
  LM_RETURN_IF_ERROR(CheckRange("n_ff", c.n_ff, 1, kMaxDim));
  LM_RETURN_IF_ERROR(CheckRange("n_vocab", c.n_vocab, 1, 1 << 24));
  LM_RETURN_IF_ERROR(CheckRange("rope dim", c.rope.rot_dim, 2, c.head_dim));
  if (c.n_head % c.n_head_kv != 0)
    return InvalidArgument(StrCat("model config: n_head ", c.n_head, " is not a multiple of n_head_kv ",
                                  c.n_head_kv, "; hint: corrupt head counts?"));
  if (c.rope.rot_dim % 2 != 0) return InvalidArgument(StrCat("model config: odd rope dim ", c.rope.rot_dim));
  if (!(c.rope.theta > 0)) return InvalidArgument(StrCat("model config: rope theta ", c.rope.theta, " must be > 0"));
  if (!(c.rms_eps > 0 && c.rms_eps < 1)) return InvalidArgument(StrCat("model config: rms eps ", c.rms_eps));
  return OkStatus();
}

Result<ModelConfig> ConfigFromGguf(const gguf::GgufFile& f) {
  ModelConfig c;
  auto arch = f.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  c.arch_name = *arch;
  if (c.arch_name == "llama") {
    c.arch = Arch::kLlama;
    c.rope.style = ops::RopeStyle::kInterleaved;  // the GGUF converter permuted Q/K for this pairing
  } else if (c.arch_name == "qwen2") {
    c.arch = Arch::kQwen2;
    c.rope.style = ops::RopeStyle::kHalfSplit;
    c.qkv_bias = true;
  } else {
    return Unsupported(StrCat("gguf: ", f.path(), ": architecture '", c.arch_name,
                              "' is not supported; hint: longmem runs llama and qwen2 family models"));
  }
  const std::string p = c.arch_name + ".";
  auto get_int = [&](const std::string& key, int64_t* out) -> Status {
    auto v = f.GetInt(key);
    if (!v.ok()) return v.status();
    *out = *v;
    return OkStatus();
  };
  LM_RETURN_IF_ERROR(get_int(p + "block_count", &c.n_layer));
  LM_RETURN_IF_ERROR(get_int(p + "embedding_length", &c.n_embd));
  LM_RETURN_IF_ERROR(get_int(p + "feed_forward_length", &c.n_ff));
  LM_RETURN_IF_ERROR(get_int(p + "attention.head_count", &c.n_head));
  c.n_head_kv = c.n_head;
  if (f.Has(p + "attention.head_count_kv")) LM_RETURN_IF_ERROR(get_int(p + "attention.head_count_kv", &c.n_head_kv));
  c.n_ctx_train = 2048;
  if (f.Has(p + "context_length")) LM_RETURN_IF_ERROR(get_int(p + "context_length", &c.n_ctx_train));
  if (c.n_head <= 0) return InvalidArgument(StrCat("gguf: ", p, "attention.head_count = ", c.n_head));
  c.head_dim = c.n_embd / c.n_head;
  if (f.Has(p + "attention.key_length")) LM_RETURN_IF_ERROR(get_int(p + "attention.key_length", &c.head_dim));
  int64_t rot = c.head_dim;
  if (f.Has(p + "rope.dimension_count")) LM_RETURN_IF_ERROR(get_int(p + "rope.dimension_count", &rot));
  c.rope.head_dim = static_cast<int>(c.head_dim);
  c.rope.rot_dim = static_cast<int>(rot);
  c.rope.theta = 10000.0f;
  if (f.Has(p + "rope.freq_base")) {
    auto v = f.GetFloat(p + "rope.freq_base");
    if (!v.ok()) return v.status();
    c.rope.theta = static_cast<float>(*v);
  }
  auto eps = f.GetFloat(p + "attention.layer_norm_rms_epsilon");
  if (!eps.ok()) return eps.status();
  c.rms_eps = static_cast<float>(*eps);
  if (f.Has(p + "vocab_size")) {
    LM_RETURN_IF_ERROR(get_int(p + "vocab_size", &c.n_vocab));
  } else if (const auto* e = f.FindTensor("token_embd.weight")) {
    c.n_vocab = e->shape.empty() ? 0 : e->shape[0];
  }
  c.tied_embeddings = f.FindTensor("output.weight") == nullptr;
  if (auto n = f.GetString("general.name"); n.ok()) c.name = *n;
  LM_RETURN_IF_ERROR(ValidateConfig(c));
  return c;
}

Result<ModelConfig> ConfigFromHfJson(const nlohmann::json& j) {
  ModelConfig c;
  try {
    const std::string type = j.value("model_type", "");
    if (type == "llama") {
      c.arch = Arch::kLlama;
    } else if (type == "qwen2") {
      c.arch = Arch::kQwen2;
      c.qkv_bias = true;
    } else {
      return Unsupported(StrCat("config.json: model_type '", type,
                                "' is not supported; hint: longmem runs llama and qwen2 family models"));
    }
    c.arch_name = type;
    c.rope.style = ops::RopeStyle::kHalfSplit;  // HF checkpoints keep the half-split pairing
    c.n_layer = j.at("num_hidden_layers").get<int64_t>();
    c.n_embd = j.at("hidden_size").get<int64_t>();
    c.n_ff = j.at("intermediate_size").get<int64_t>();
    c.n_head = j.at("num_attention_heads").get<int64_t>();
    c.n_head_kv = j.value("num_key_value_heads", c.n_head);
    c.n_vocab = j.at("vocab_size").get<int64_t>();
    c.n_ctx_train = j.value("max_position_embeddings", int64_t{2048});
    c.head_dim = c.n_head > 0 ? j.value("head_dim", c.n_embd / c.n_head) : 0;
    c.rms_eps = j.value("rms_norm_eps", 1e-6f);
    // transformers >= 5 nests RoPE settings in "rope_parameters"; older configs use "rope_theta" and
    // "rope_scaling". Scaled variants (llama3, yarn, ...) change the frequencies: refuse rather than guess.
    c.rope.theta = j.value("rope_theta", 10000.0f);
    for (const char* key : {"rope_parameters", "rope_scaling"}) {
      if (!j.contains(key) || j[key].is_null()) continue;
      const auto& rp = j[key];
      if (rp.contains("rope_theta")) c.rope.theta = rp["rope_theta"].get<float>();
      const std::string rope_type = rp.value("rope_type", rp.value("type", std::string("default")));
      if (rope_type != "default") {
        return Unsupported(StrCat("config.json: ", key, ".rope_type '", rope_type,
                                  "' is not supported yet; hint: only unscaled RoPE is implemented"));
      }
    }
    c.rope.head_dim = static_cast<int>(c.head_dim);
    c.rope.rot_dim = static_cast<int>(c.head_dim);
    c.tied_embeddings = j.value("tie_word_embeddings", false);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(StrCat("config.json: ", e.what(), "; hint: is this a Hugging Face llama/qwen2 config?"));
  }
  LM_RETURN_IF_ERROR(ValidateConfig(c));
  return c;
}

std::string DescribeConfig(const ModelConfig& c) {
  return StrCat(c.arch_name, " L=", c.n_layer, " C=", c.n_embd, " H=", c.n_head, " Hkv=", c.n_head_kv,
                " D=", c.head_dim, " I=", c.n_ff, " V=", c.n_vocab, " ctx=", c.n_ctx_train,
                " theta=", c.rope.theta, c.tied_embeddings ? " tied" : "", c.qkv_bias ? " qkv-bias" : "");
}

}  // namespace lm
