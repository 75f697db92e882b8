// Building a TrainModel from GGUF: trainable tensors are dequantised into f32 masters (the optimiser needs
// them), frozen ones stay zero-copy views of the mmap'd file in their stored dtype.
#include <random>

#include "core/quant.h"
#include "core/str.h"
#include "model/tensor_names.h"
#include "model/weights.h"
#include "train/llama_train.h"

namespace lm::train {

namespace {

struct Loader {
  const gguf::GgufFile& file;
  ParamSet& params;

  Result<Tensor> View(const std::string& name, const Shape& shape) const {
    const gguf::TensorInfo* info = file.FindTensor(name);
    if (!info) return NotFound(StrCat("train: tensor '", name, "' missing from ", file.path()));
    if (info->shape != shape)
      return InvalidArgument(StrCat("train: tensor '", name, "' expects ", ShapeString(shape), ", file has ",
                                    ShapeString(info->shape)));
    return file.View(*info);
  }

  // Trainable: an f32 master holding the dequantised stored values. Frozen: the stored view.
  Result<Weight> Get(const std::string& name, const Shape& shape, bool trainable, bool decay,
                     const std::string& param_name = "") const {
    auto t = View(name, shape);
    if (!t.ok()) return t.status();
    Weight w;
    if (!trainable) {
      if (shape.size() == 1 && t->dtype() != DType::kF32)
        return Unsupported(StrCat("train: 1-D tensor '", name, "' is ", Name(t->dtype()), ", expected f32"));
      w.frozen = *t;
      return w;
    }
    w.param = params.Add(param_name.empty() ? name : param_name, shape, decay);
    const int64_t cols = shape.back(), rows = t->numel() / cols;
    const uint64_t row_bytes = *BytesFor(t->dtype(), cols);
    const auto* src = static_cast<const uint8_t*>(t->raw());
    for (int64_t r = 0; r < rows; ++r)
      DequantizeRow(t->dtype(), src + static_cast<uint64_t>(r) * row_bytes, w.param->value.data() + r * cols, cols);
    return w;
  }
};

void InitNormal(Param* p, std::mt19937_64& rng, float stddev) {
  std::normal_distribution<float> nd(0.0f, stddev);
  for (float& v : p->value) v = nd(rng);
}

}  // namespace

Result<Weight> LoadWeight(const gguf::GgufFile& file, ParamSet& params, const std::string& name, const Shape& shape,
                          bool trainable, bool decay, const std::string& param_name) {
  return Loader{file, params}.Get(name, shape, trainable, decay, param_name);
}

Result<std::unique_ptr<TrainModel>> TrainModel::Load(std::shared_ptr<const gguf::GgufFile> file,
                                                     const TrainableSpec& spec, uint64_t seed) {
  auto config = ConfigFromGguf(*file);
  if (!config.ok()) return config.status();
  const ModelConfig& c = *config;
  if (c.qkv_bias) return Unsupported("train: Q/K/V biases (Qwen2) are not trainable yet; hint: use a Llama-family model");
  for (auto [a, b] : spec.layer_ranges)
    if (b >= c.n_layer)
      return InvalidArgument(StrCat("--trainable: layer ", b, " does not exist; the model has ", c.n_layer, " layers (0-",
                                    c.n_layer - 1, ")"));
  std::unique_ptr<TrainModel> m(new TrainModel());
  m->file_ = file;
  m->config_ = c;
  m->spec_ = spec;
  Loader ld{*file, m->params_};
  const bool full = spec.kind == TrainableKind::kFull;
  const int64_t C = c.n_embd, V = c.n_vocab, I = c.n_ff;
  auto embd = ld.Get("token_embd.weight", {V, C}, full, true);
  if (!embd.ok()) return embd.status();
  m->token_embd_ = *embd;
  auto onorm = ld.Get("output_norm.weight", {C}, full, false);
  if (!onorm.ok()) return onorm.status();
  m->output_norm_ = *onorm;
  m->head_.N = V;
  m->head_.K = C;
  if (c.tied_embeddings || !file->FindTensor("output.weight")) {
    m->head_.w = m->token_embd_;  // tied: one Param receives both gradients
  } else {
    auto out = ld.Get("output.weight", {V, C}, full, true);
    if (!out.ok()) return out.status();
    m->head_.w = *out;
  }
  std::mt19937_64 rng(seed);
  struct ProjSpec {
    LayerTensor t;
    const char* lora_name;
    int64_t N, K;
  };
  const ProjSpec projs[] = {{LayerTensor::kWq, "q", c.q_dim(), C},     {LayerTensor::kWk, "k", c.kv_dim(), C},
                            {LayerTensor::kWv, "v", c.kv_dim(), C},    {LayerTensor::kWo, "o", C, c.q_dim()},
                            {LayerTensor::kWGate, "gate", I, C},       {LayerTensor::kWUp, "up", I, C},
                            {LayerTensor::kWDown, "down", C, I}};
  m->layers_.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) {
    TrainLayer& L = m->layers_[static_cast<size_t>(l)];
    const bool tr = spec.LayerTrainable(l);
    auto n1 = ld.Get(GgufLayerTensorName(LayerTensor::kAttnNorm, l), {C}, tr, false);
    auto n2 = ld.Get(GgufLayerTensorName(LayerTensor::kFfnNorm, l), {C}, tr, false);
    if (!n1.ok()) return n1.status();
    if (!n2.ok()) return n2.status();
    L.attn_norm = *n1;
    L.ffn_norm = *n2;
    Projection* dst[] = {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down};
    for (size_t i = 0; i < std::size(projs); ++i) {
      const ProjSpec& ps = projs[i];
      const std::string name = GgufLayerTensorName(ps.t, l);
      auto w = ld.Get(name, {ps.N, ps.K}, tr, true);
      if (!w.ok()) return w.status();
      dst[i]->w = *w;
      dst[i]->N = ps.N;
      dst[i]->K = ps.K;
      if (spec.LoraOn(ps.lora_name)) {
        Lora& lo = dst[i]->lora;
        lo.rank = spec.lora_rank;
        lo.scale = spec.lora_alpha / static_cast<float>(spec.lora_rank);
        lo.a = m->params_.Add(name + ".lora_a", {lo.rank, ps.K}, true);
        lo.b = m->params_.Add(name + ".lora_b", {ps.N, lo.rank}, true);  // zero: starts at the base model
        InitNormal(lo.a, rng, 1.0f / std::sqrt(static_cast<float>(ps.K)));
      }
    }
  }
  if (spec.kind == TrainableKind::kSide) {
    SideModule& s = m->side_;
    const int64_t W = spec.side_width;
    s.present = true;
    s.norm.param = m->params_.Add("side.norm.weight", {C}, false);
    std::fill(s.norm.param->value.begin(), s.norm.param->value.end(), 1.0f);
    s.gate = {.w = {.param = m->params_.Add("side.gate.weight", {W, C}, true)}, .N = W, .K = C};
    s.up = {.w = {.param = m->params_.Add("side.up.weight", {W, C}, true)}, .N = W, .K = C};
    s.down = {.w = {.param = m->params_.Add("side.down.weight", {C, W}, true)}, .N = C, .K = W};  // zero init
    InitNormal(s.gate.w.param, rng, 1.0f / std::sqrt(static_cast<float>(C)));
    InitNormal(s.up.w.param, rng, 1.0f / std::sqrt(static_cast<float>(C)));
  }
  if (m->params_.all().empty()) return InvalidArgument("--trainable '" + spec.text + "' selects no tensor");
  return m;
}

int64_t CountTrainableElements(const ModelConfig& c, const TrainableSpec& spec) {
  const int64_t C = c.n_embd, I = c.n_ff;
  const int64_t per_layer = 2 * C + C * (2 * c.q_dim() + 2 * c.kv_dim()) + 3 * C * I;
  switch (spec.kind) {
    case TrainableKind::kFull:
      return c.n_vocab * C * (c.tied_embeddings ? 1 : 2) + C + c.n_layer * per_layer;
    case TrainableKind::kLayers: {
      int64_t n = 0;
      for (int64_t l = 0; l < c.n_layer; ++l) n += spec.LayerTrainable(l) ? per_layer : 0;
      return n;
    }
    case TrainableKind::kLora:
      return c.n_layer * spec.lora_rank * 2 * (3 * C + I) * static_cast<int64_t>(spec.lora_targets.size());
    case TrainableKind::kSide:
      return C + 3 * C * spec.side_width;
  }
  return 0;
}

std::string TrainModel::Fingerprint() const {
  const ModelConfig& c = config_;
  return StrCat(c.arch_name, " L=", c.n_layer, " C=", c.n_embd, " H=", c.n_head, " Hkv=", c.n_head_kv, " I=", c.n_ff,
                " V=", c.n_vocab, " trainable=", spec_.text, " params=", params_.NumElements());
}

}  // namespace lm::train
