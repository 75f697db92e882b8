// Checkpoint writer/reader on top of the safetensors writer/reader; tensors are referenced in place while
// writing (no second copy of a multi-GB state) and the whole file is validated before anything is restored.
#include "train/checkpoint.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/str.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"

namespace lm::train {

namespace {
constexpr const char* kMetaKey = "longmem.train";
}

Status SaveCheckpoint(const std::string& path, const TrainModel& model, const TrainState& st) {
  return SaveCheckpoint(path, model.params(), model.Fingerprint(), st);
}

Result<TrainState> LoadCheckpoint(const std::string& path, TrainModel& model) {
  return LoadCheckpoint(path, model.params(), model.Fingerprint());
}

Status SaveCheckpoint(const std::string& path, const ParamSet& params, const std::string& fingerprint,
                      const TrainState& st) {
  SafetensorsWriter w;
  for (const auto& p : params.all()) {
    w.Add(p->name, DType::kF32, p->shape, p->value.data());
    if (!p->m.empty()) {
      w.Add(p->name + ".adam_m", DType::kF32, p->shape, p->m.data());
      w.Add(p->name + ".adam_v", DType::kF32, p->shape, p->v.data());
    }
  }
  nlohmann::json hist = nlohmann::json::array();
  for (const HistoryPoint& h : st.history) hist.push_back({h.step, h.loss, h.eval_loss});
  nlohmann::json meta = {
      {"format", "longmem-train-checkpoint"},
      {"version", kCheckpointVersion},
      {"fingerprint", fingerprint},
      {"step", st.step},
      {"seed", st.seed},
      {"data", {{"epoch", st.cursor.epoch}, {"index", st.cursor.index}, {"rng", st.cursor.rng_at_epoch}}},
      {"run_config", st.run_config},
      {"history", hist},
  };
  w.SetMetadata(kMetaKey, meta.dump());
  return w.WriteFile(path);
}

Result<TrainState> LoadCheckpoint(const std::string& path, ParamSet& params, const std::string& fingerprint) {
  auto set = SafetensorsSet::Open(path);
  if (!set.ok()) return set.status();
  const auto& md = (*set)->metadata();
  auto it = md.find(kMetaKey);
  if (it == md.end())
    return Corrupt(StrCat("checkpoint: ", path, " has no '", kMetaKey, "' metadata; hint: not a longmem checkpoint"));
  nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
  if (meta.is_discarded() || !meta.is_object() || meta.value("format", "") != "longmem-train-checkpoint")
    return Corrupt(StrCat("checkpoint: ", path, ": malformed '", kMetaKey, "' metadata"));
  if (meta.value("version", 0) != kCheckpointVersion)
    return Unsupported(StrCat("checkpoint: ", path, " is version ", meta.value("version", 0), ", this build reads ",
                              kCheckpointVersion));
  const std::string fp = meta.value("fingerprint", "");
  if (fp != fingerprint)
    return InvalidArgument(StrCat("checkpoint: ", path, " was made for '", fp, "' but this run is '", fingerprint,
                                  "'; hint: same -m and model options as the saved run, or a new --out"));
  // Validate every tensor before touching the model, so a bad file leaves it untouched.
  struct Copy {
    const SafetensorsTensorInfo* info;
    std::vector<float>* dst;
  };
  std::vector<Copy> copies;
  for (const auto& p : params.all()) {
    for (const char* suffix : {"", ".adam_m", ".adam_v"}) {
      const auto* info = (*set)->Find(p->name + suffix);
      if (!info) {
        if (*suffix) continue;  // moments are absent before the first optimiser step
        return Corrupt(StrCat("checkpoint: ", path, " lacks tensor '", p->name, "'"));
      }
      if (info->dtype != DType::kF32 || info->shape != p->shape)
        return Corrupt(StrCat("checkpoint: tensor '", info->name, "' is ", Name(info->dtype), " ",
                              ShapeString(info->shape), ", expected f32 ", ShapeString(p->shape)));
      std::vector<float>* dst = *suffix == 0 ? &p->value : (suffix[6] == 'm' ? &p->m : &p->v);
      copies.push_back({info, dst});
    }
  }
  for (const Copy& c : copies) {
    Tensor t = (*set)->View(*c.info);
    c.dst->resize(static_cast<size_t>(t.numel()));
    std::memcpy(c.dst->data(), t.raw(), t.nbytes());
  }
  TrainState st;
  try {
    st.step = meta.at("step").get<int64_t>();
    st.seed = meta.at("seed").get<uint64_t>();
    st.cursor.epoch = meta.at("data").at("epoch").get<int64_t>();
    st.cursor.index = meta.at("data").at("index").get<int64_t>();
    st.cursor.rng_at_epoch = meta.at("data").at("rng").get<std::string>();
    st.run_config = meta.at("run_config").get<std::string>();
    for (const auto& h : meta.at("history")) st.history.push_back({h.at(0), h.at(1), h.at(2)});
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(StrCat("checkpoint: ", path, ": state field missing or mistyped (", e.what(), ")"));
  }
  return st;
}

}  // namespace lm::train
