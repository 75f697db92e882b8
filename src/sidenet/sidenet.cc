// SideNet construction from the backbone (spec §3.5), and its weight file (safetensors + JSON metadata).
#include "sidenet/sidenet.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/str.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "model/tensor_names.h"
#include "model/weights.h"
#include "train/llama_train.h"

namespace lm::sidenet {

namespace {
constexpr const char* kMetaKey = "longmem.sidenet";
constexpr int kFileVersion = 1;
}  // namespace

Result<std::unique_ptr<SideNet>> SideNet::Init(std::shared_ptr<const gguf::GgufFile> file, const SideNetConfig& s,
                                               const MemoryConfig& mem) {
  auto config = ConfigFromGguf(*file);
  if (!config.ok()) return config.status();
  const ModelConfig& c = *config;
  if (c.qkv_bias) return Unsupported("sidenet: backbones with Q/K/V biases (Qwen2) are not supported yet; hint: use a Llama-family model");
  LM_RETURN_IF_ERROR(Validate(s, c));
  LM_RETURN_IF_ERROR(Validate(mem));
  std::unique_ptr<SideNet> n(new SideNet());
  n->file_ = file;
  n->backbone_config_ = c;
  n->config_ = s;
  n->memory_ = mem;
  const int64_t C = c.n_embd, I = c.n_ff, V = c.n_vocab;
  train::ParamSet& ps = n->params_;
  struct ProjSpec {
    LayerTensor t;
    int64_t N, K;
  };
  const ProjSpec projs[] = {{LayerTensor::kWq, c.q_dim(), C},  {LayerTensor::kWk, c.kv_dim(), C},
                            {LayerTensor::kWv, c.kv_dim(), C}, {LayerTensor::kWo, C, c.q_dim()},
                            {LayerTensor::kWGate, I, C},       {LayerTensor::kWUp, I, C},
                            {LayerTensor::kWDown, C, I}};
  n->layers_.resize(static_cast<size_t>(s.n_layer));
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const int src = static_cast<int>(2 * i + 1);  // side layer i starts from backbone block 2i+1
    train::TrainLayer& L = n->layers_[static_cast<size_t>(i)];
    auto n1 = train::LoadWeight(*file, ps, GgufLayerTensorName(LayerTensor::kAttnNorm, src), {C}, true, false,
                                LayerParamName(i, "attn_norm.weight"));
    auto n2 = train::LoadWeight(*file, ps, GgufLayerTensorName(LayerTensor::kFfnNorm, src), {C}, true, false,
                                LayerParamName(i, "ffn_norm.weight"));
    if (!n1.ok()) return n1.status();
    if (!n2.ok()) return n2.status();
    L.attn_norm = *n1;
    L.ffn_norm = *n2;
    train::Projection* dst[] = {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down};
    for (size_t j = 0; j < std::size(projs); ++j) {
      const std::string name = GgufLayerTensorName(projs[j].t, src);
      // "blk.21.attn_q.weight" → "sidenet.10.attn_q.weight"
      const std::string short_name = name.substr(name.find('.', 4) + 1);
      auto w = train::LoadWeight(*file, ps, name, {projs[j].N, projs[j].K}, true, true, LayerParamName(i, short_name));
      if (!w.ok()) return w.status();
      dst[j]->w = *w;
      dst[j]->N = projs[j].N;
      dst[j]->K = projs[j].K;
    }
    if (s.init != SideNetInit::kPaper) {
      if (!(s.live_memory() && i == s.side_memory_layer()))
        std::fill(L.wo.w.param->value.begin(), L.wo.w.param->value.end(), 0.0f);
      std::fill(L.w_down.w.param->value.begin(), L.w_down.w.param->value.end(), 0.0f);
    }
  }
  auto norm = train::LoadWeight(*file, ps, "output_norm.weight", {C}, true, false, "sidenet.output_norm.weight");
  if (!norm.ok()) return norm.status();
  n->output_norm_ = *norm;
  n->gate_.param = ps.Add(kGateName, {c.n_head}, false);  // zeros: σ(0) = 0.5, as the official init
  const char* head_name = file->FindTensor("output.weight") ? "output.weight" : "token_embd.weight";
  auto head = train::LoadWeight(*file, ps, head_name, {V, C}, false, false);
  if (!head.ok()) return head.status();
  n->head_ = {.w = *head, .N = V, .K = C};
  return n;
}

std::string SideNet::LayerParamName(int64_t layer, std::string_view tensor) {
  return StrCat("sidenet.", layer, ".", tensor);
}

std::string SideNet::Fingerprint() const {
  const ModelConfig& c = backbone_config_;
  return StrCat("sidenet of ", c.arch_name, " L=", c.n_layer, " C=", c.n_embd, " H=", c.n_head, " Hkv=", c.n_head_kv,
                " I=", c.n_ff, " V=", c.n_vocab, " layers=", config_.n_layer, " memory_layer=", config_.memory_layer);
}

Status SideNet::Save(const std::string& path) const {
  SafetensorsWriter w;
  for (const auto& p : params_.all()) w.Add(p->name, DType::kF32, p->shape, p->value.data());
  nlohmann::json meta = {{"format", "longmem-sidenet"},
                         {"version", kFileVersion},
                         {"fingerprint", Fingerprint()},
                         {"config", ToJson(config_, memory_)}};
  w.SetMetadata(kMetaKey, meta.dump());
  return w.WriteFile(path);
}

Result<std::unique_ptr<SideNet>> SideNet::Load(std::shared_ptr<const gguf::GgufFile> file, const std::string& path) {
  auto set = SafetensorsSet::Open(path);
  if (!set.ok()) return set.status();
  const auto& md = (*set)->metadata();
  auto it = md.find(kMetaKey);
  if (it == md.end())
    return Corrupt(StrCat("sidenet: ", path, " has no '", kMetaKey,
                          "' metadata; hint: pass a file written by `longmem train-sidenet` (sidenet.safetensors)"));
  nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
  if (meta.is_discarded() || !meta.is_object() || meta.value("format", "") != "longmem-sidenet")
    return Corrupt(StrCat("sidenet: ", path, ": malformed '", kMetaKey, "' metadata"));
  if (meta.value("version", 0) != kFileVersion)
    return Unsupported(StrCat("sidenet: ", path, " is version ", meta.value("version", 0), ", this build reads ",
                              kFileVersion));
  SideNetConfig s;
  MemoryConfig m;
  LM_RETURN_IF_ERROR(FromJson(meta.value("config", ""), &s, &m));
  auto net = Init(std::move(file), s, m);
  if (!net.ok()) return net.status();
  const std::string fp = meta.value("fingerprint", "");
  if (fp != (*net)->Fingerprint())
    return InvalidArgument(StrCat("sidenet: ", path, " was trained for '", fp, "' but the backbone gives '",
                                  (*net)->Fingerprint(), "'; hint: pass the -m model it was trained with"));
  for (const auto& p : (*net)->params_.all()) {
    const auto* info = (*set)->Find(p->name);
    if (!info) return Corrupt(StrCat("sidenet: ", path, " lacks tensor '", p->name, "'"));
    if (info->dtype != DType::kF32 || info->shape != p->shape)
      return Corrupt(StrCat("sidenet: tensor '", p->name, "' is ", Name(info->dtype), " ", ShapeString(info->shape),
                            ", expected f32 ", ShapeString(p->shape)));
    Tensor t = (*set)->View(*info);
    std::memcpy(p->value.data(), t.raw(), t.nbytes());
  }
  return net;
}

}  // namespace lm::sidenet
