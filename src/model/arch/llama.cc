// Llama-family weight loading (llama, SmolLM2, Qwen2) from GGUF or a HF safetensors folder.
// Every tensor's shape is checked against the config. Projections and the LM head stay as stored
// (zero-copy views into the mmap'd GGUF / safetensors) and ops::MatMul multiplies them in place; only
// norms and biases are converted to f32. LONGMEM_DEQUANT_WEIGHTS=1 restores dequantise-at-load (f32
// copies through OpenBLAS) for comparisons.
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

#include "core/quant.h"
#include "io/gguf_reader.h"
#include "io/safetensors_reader.h"
#include "model/model.h"

namespace lm {

namespace {

// Looks tensors up by name in whichever file format the model came from.
struct TensorSource {
  std::function<std::optional<Tensor>(const std::string&)> find;
  std::string file;
  bool hf_names = false;
};

Tensor ToF32(const Tensor& t) {
  if (t.dtype() == DType::kF32) return t;
  Tensor out = Tensor::Zeros(DType::kF32, t.shape());
  const int64_t cols = t.shape().back();
  const int64_t rows = t.numel() / cols;
  const uint64_t row_bytes = *BytesFor(t.dtype(), cols);
  const auto* src = static_cast<const uint8_t*>(t.raw());
  for (int64_t r = 0; r < rows; ++r)
    DequantizeRow(t.dtype(), src + static_cast<uint64_t>(r) * row_bytes, out.data<float>() + r * cols, cols);
  return out;
}

Result<Tensor> Fetch(const TensorSource& src, const std::string& name, const Shape& expected, bool to_f32) {
  auto t = src.find(name);
  if (!t) return NotFound(StrCat(src.file, ": tensor '", name, "' is missing; hint: incomplete or foreign model file?"));
  if (t->shape() != expected) {
    return InvalidArgument(StrCat(src.file, ": tensor '", name, "' expects ", ShapeString(expected), ", file has ",
                                  ShapeString(t->shape()), "; hint: wrong n_head_kv or head_dim in the metadata?"));
  }
  if (t->shape().back() % Info(t->dtype()).block_elems != 0)
    return Corrupt(StrCat(src.file, ": tensor '", name, "' rows of ", t->shape().back(),
                          " are not whole blocks of ", Name(t->dtype())));
  return to_f32 ? ToF32(*t) : *t;
}

// Dequantise-at-load, the old behaviour, kept for A/B measurements.
bool DequantizeAtLoad() {
  const char* v = std::getenv("LONGMEM_DEQUANT_WEIGHTS");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

Result<std::shared_ptr<const Model>> Build(const ModelConfig& c, const TensorSource& src) {
  const auto& g = src.hf_names ? kHfGlobalNames : kGgufGlobalNames;
  ModelWeights w;
  const bool proj_f32 = DequantizeAtLoad();
  auto embd = Fetch(src, g.token_embd, {c.n_vocab, c.n_embd}, false);
  if (!embd.ok()) return embd.status();
  w.token_embd = *embd;
  auto norm = Fetch(src, g.output_norm, {c.n_embd}, true);
  if (!norm.ok()) return norm.status();
  w.output_norm = *norm;
  if (c.tied_embeddings || !src.find(g.output)) {
    // Tied: the LM head is the embedding table itself, used in place (no f32 copy of V×C).
    w.output = proj_f32 ? ToF32(w.token_embd) : w.token_embd;
  } else {
    auto out = Fetch(src, g.output, {c.n_vocab, c.n_embd}, proj_f32);
    if (!out.ok()) return out.status();
    w.output = *out;
  }
  struct Want {
    LayerTensor t;
    Shape shape;
    bool optional;
  };
  const int64_t C = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim(), I = c.n_ff;
  const Want wants[] = {
      {LayerTensor::kAttnNorm, {C}, false},   {LayerTensor::kWq, {qd, C}, false},
      {LayerTensor::kWk, {kvd, C}, false},    {LayerTensor::kWv, {kvd, C}, false},
      {LayerTensor::kWo, {C, qd}, false},     {LayerTensor::kBq, {qd}, !c.qkv_bias},
      {LayerTensor::kBk, {kvd}, !c.qkv_bias}, {LayerTensor::kBv, {kvd}, !c.qkv_bias},
      {LayerTensor::kFfnNorm, {C}, false},    {LayerTensor::kWGate, {I, C}, false},
      {LayerTensor::kWUp, {I, C}, false},     {LayerTensor::kWDown, {C, I}, false},
  };
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) {
    for (const Want& want : wants) {
      const std::string name = src.hf_names ? HfLayerTensorName(want.t, l) : GgufLayerTensorName(want.t, l);
      if (want.optional && !src.find(name)) continue;
      // 1-d tensors (norms, biases) are tiny and read as f32 by the ops; matrices stay as stored.
      auto t = Fetch(src, name, want.shape, want.shape.size() == 1 || proj_f32);
      if (!t.ok()) return t.status();
      w.layers[static_cast<size_t>(l)].Get(want.t) = *t;
    }
  }
  return std::make_shared<const Model>(c, std::move(w), src.file);
}

}  // namespace

uint64_t Model::owned_weight_bytes() const {
  uint64_t total = 0;
  // Tensor does not say who owns its bytes; the loader only ever creates f32 copies, and views into the
  // file are counted as f32 only when the file stores f32 (then they are mmap'd, slightly overcounted).
  // The tied LM head shares the embedding's bytes and is not counted twice.
  const bool tied = weights_.output.raw() == weights_.token_embd.raw();
  ForEachTensor(weights_, [&](const std::string& name, const Tensor& t) {
    if (t.dtype() != DType::kF32 || (tied && name == "output.weight")) return;
    total += t.nbytes();
  });
  return total;
}

Result<std::shared_ptr<const Model>> LoadModelFromGguf(const gguf::GgufFile& file) {
  auto config = ConfigFromGguf(file);
  if (!config.ok()) return config.status();
  TensorSource src;
  src.file = "gguf: " + file.path();
  src.find = [&file](const std::string& name) -> std::optional<Tensor> {
    const auto* info = file.FindTensor(name);
    if (!info) return std::nullopt;
    return file.View(*info);
  };
  return Build(*config, src);
}

Result<std::shared_ptr<const Model>> LoadModelFromHf(const HfModelDir& dir) {
  auto config = ConfigFromHfJson(*dir.config);
  if (!config.ok()) return config.status();
  TensorSource src;
  src.file = "safetensors: " + dir.dir;
  src.hf_names = true;
  src.find = [&dir](const std::string& name) -> std::optional<Tensor> {
    const auto* info = dir.weights->Find(name);
    if (!info) return std::nullopt;
    return dir.weights->View(*info);
  };
  return Build(*config, src);
}

}  // namespace lm
