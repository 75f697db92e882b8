// Builds tiny random Llama-family GGUF models in memory, for fast model tests that need no download.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "core/quant.h"
#include "model/weights.h"

namespace lm::test {

struct TinySpec {
  std::string arch = "llama";
  int64_t n_layer = 2, n_embd = 64, n_head = 4, n_head_kv = 2, n_ff = 96, n_vocab = 128, n_ctx = 256;
  bool tied = true;
  DType proj_dtype = DType::kF32;  // projections' stored type (f32 or q8_0)
  std::string skip_tensor;         // omit this tensor (bad-input tests)
  std::string bad_shape_tensor;    // give this tensor a wrong shape
};

inline std::shared_ptr<const gguf::GgufFile> BuildTinyModel(const TinySpec& s, uint32_t seed = 42) {
  gguf::GgufWriter w;
  const std::string p = s.arch + ".";
  w.SetString("general.architecture", s.arch);
  w.SetString("general.name", "tiny-test");
  w.SetU32(p + "block_count", static_cast<uint32_t>(s.n_layer));
  w.SetU32(p + "embedding_length", static_cast<uint32_t>(s.n_embd));
  w.SetU32(p + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.SetU32(p + "attention.head_count", static_cast<uint32_t>(s.n_head));
  w.SetU32(p + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.SetU32(p + "context_length", static_cast<uint32_t>(s.n_ctx));
  w.SetF32(p + "rope.freq_base", 10000.0f);
  w.SetF32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.08f);
  auto add = [&](const std::string& name, Shape shape, bool norm = false, bool allow_quant = true) {
    if (name == s.skip_tensor) return;
    if (name == s.bad_shape_tensor) shape.back() += 32;
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = norm ? 1.0f + nd(rng) : nd(rng);
    if (allow_quant && s.proj_dtype == DType::kQ8_0 && shape.size() == 2) {
      std::vector<BlockQ8_0> q(static_cast<size_t>(n / 32));
      QuantizeRowQ8_0(v.data(), q.data(), n);
      w.AddTensor(name, DType::kQ8_0, shape, q.data());
    } else {
      w.AddTensor(name, DType::kF32, shape, v.data());
    }
  };
  const int64_t C = s.n_embd, D = C / s.n_head, kv = s.n_head_kv * D;
  add("token_embd.weight", {s.n_vocab, C});
  add("output_norm.weight", {C}, true);
  if (!s.tied) add("output.weight", {s.n_vocab, C});
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {C}, true);
    add(b + "attn_q.weight", {C, C});
    add(b + "attn_k.weight", {kv, C});
    add(b + "attn_v.weight", {kv, C});
    add(b + "attn_output.weight", {C, C});
    if (s.arch == "qwen2") {
      add(b + "attn_q.bias", {C}, false, false);
      add(b + "attn_k.bias", {kv}, false, false);
      add(b + "attn_v.bias", {kv}, false, false);
    }
    add(b + "ffn_norm.weight", {C}, true);
    add(b + "ffn_gate.weight", {s.n_ff, C});
    add(b + "ffn_up.weight", {s.n_ff, C});
    add(b + "ffn_down.weight", {C, s.n_ff});
  }
  auto bytes = std::make_shared<std::vector<uint8_t>>(w.Serialize());
  auto f = gguf::GgufFile::Parse(bytes->data(), bytes->size(), bytes, "tiny.gguf");
  if (!f.ok()) throw std::runtime_error(f.status().ToString());
  return *f;
}

}  // namespace lm::test
