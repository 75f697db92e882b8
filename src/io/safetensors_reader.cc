// safetensors reader. Byte layout of one file:
//   header_len u64 (little-endian) | header: header_len bytes of UTF-8 JSON (may be space-padded) | data
//   header = { "<tensor>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
//              "__metadata__": {"<key>": "<string>", ...} (optional) }
//   offsets are relative to the start of the data section; end - begin = numel * element size.
// A sharded set is a model.safetensors.index.json whose "weight_map" names each tensor's shard file.
#include "io/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/str.h"
#include "io/json_file.h"

namespace lm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;  // HF caps headers at 100 MB too

std::optional<DType> DTypeFromName(const std::string& s) {
  static const std::pair<std::string_view, DType> kTable[] = {
      {"F32", DType::kF32}, {"F16", DType::kF16}, {"BF16", DType::kBF16}, {"F64", DType::kF64},
      {"I8", DType::kI8},   {"I16", DType::kI16}, {"I32", DType::kI32},   {"I64", DType::kI64}};
  for (const auto& [name, t] : kTable)
    if (name == s) return t;
  return std::nullopt;
}

bool IsUnsignedInt(const json& j) { return j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0); }

}  // namespace

class SafetensorsParser {
 public:
  // Parses one image; appends its tensors (tagged `shard`) to set->tensors_ and fills metadata if asked.
  static Status ParseOne(const uint8_t* data, uint64_t size, const std::string& name, int shard, SafetensorsSet* set,
                         bool take_metadata);
  static Status ParseEntry(const std::string& name, const std::string& key, const json& v, uint64_t data_start,
                           uint64_t data_size, int shard, SafetensorsTensorInfo* info);
  // Sorts by (shard, offset), rejects duplicate names and overlapping data, builds the name index.
  static Status Finish(const std::string& name, SafetensorsSet* set);
  static Result<std::shared_ptr<const SafetensorsSet>> OpenFile(const std::string& path);
  static Result<std::shared_ptr<const SafetensorsSet>> OpenIndex(const std::string& path);
  static Result<std::shared_ptr<const SafetensorsSet>> ParseImage(const uint8_t* data, uint64_t size,
                                                                  std::shared_ptr<const void> owner,
                                                                  const std::string& name);
};

Status SafetensorsParser::ParseOne(const uint8_t* data, uint64_t size, const std::string& name, int shard,
                                   SafetensorsSet* set, bool take_metadata) {
  auto fail = [&](const std::string& what) { return Corrupt(StrCat("safetensors: ", name, ": ", what)); };
  if (size < 8)
    return fail(StrCat("file is ", size, " bytes, too short for the 8-byte header length; hint: truncated?"));
  uint64_t header_len = 0;
  std::memcpy(&header_len, data, 8);
  if (header_len > kMaxHeaderBytes)
    return fail(StrCat("header length ", header_len, " exceeds the ", kMaxHeaderBytes,
                       "-byte cap; hint: not a safetensors file?"));
  if (header_len > size - 8)
    return fail(StrCat("header length ", header_len, " exceeds the ", size - 8,
                       " bytes after the length field; hint: the file is truncated?"));
  Result<json> parsed = io_internal::ParseJson(data + 8, header_len, StrCat("safetensors: ", name, ": header"));
  if (!parsed.ok()) return parsed.status();
  const json& header = *parsed;
  if (!header.is_object()) return fail("header is not a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  for (const auto& [key, v] : header.items()) {
    if (key == "__metadata__") {
      if (!v.is_object()) return fail("__metadata__ is not an object");
      for (const auto& [mk, mv] : v.items()) {
        if (!mv.is_string()) return fail(StrCat("__metadata__ value of '", mk, "' is not a string"));
        if (take_metadata) set->metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    SafetensorsTensorInfo info;
    LM_RETURN_IF_ERROR(ParseEntry(name, key, v, data_start, data_size, shard, &info));
    set->tensors_.push_back(std::move(info));
  }
  return OkStatus();
}

Status SafetensorsParser::ParseEntry(const std::string& name, const std::string& key, const json& v,
                                     uint64_t data_start, uint64_t data_size, int shard, SafetensorsTensorInfo* info) {
  auto fail = [&](const std::string& what) {
    return Corrupt(StrCat("safetensors: ", name, ": tensor '", key, "' ", what));
  };
  if (!v.is_object()) return fail("entry is not an object");
  const auto dt = v.find("dtype");
  const auto sh = v.find("shape");
  const auto off = v.find("data_offsets");
  if (dt == v.end() || !dt->is_string()) return fail("has no string \"dtype\"");
  if (sh == v.end() || !sh->is_array()) return fail("has no \"shape\" array");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !IsUnsignedInt((*off)[0]) || !IsUnsignedInt((*off)[1]))
    return fail("has no \"data_offsets\" pair of non-negative integers");
  const std::string dtype_name = dt->get<std::string>();
  const std::optional<DType> dtype = DTypeFromName(dtype_name);
  if (!dtype)
    return Unsupported(StrCat("safetensors: ", name, ": tensor '", key, "' has dtype ", dtype_name,
                              " which longmem cannot read; hint: convert to F32, F16 or BF16"));
  info->name = key;
  info->dtype = *dtype;
  info->shard = shard;
  uint64_t numel = 1;
  for (const json& d : *sh) {
    if (!IsUnsignedInt(d)) return fail(StrCat("shape ", sh->dump(), " has a non-integer or negative dimension"));
    const auto dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        (dim != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim))
      return fail(StrCat("shape ", sh->dump(), " overflows int64 elements"));
    numel *= dim;
    info->shape.push_back(static_cast<int64_t>(dim));
  }
  // A scalar has shape [] and one element; our Tensor counts [] as empty, so it becomes [1].
  if (info->shape.empty()) info->shape.push_back(1);
  const std::optional<uint64_t> nbytes = BytesFor(*dtype, static_cast<int64_t>(numel));
  if (!nbytes) return fail(StrCat("shape ", sh->dump(), " of ", dtype_name, " has an unrepresentable byte size"));
  const auto begin = (*off)[0].get<uint64_t>();
  const auto end = (*off)[1].get<uint64_t>();
  if (begin > end || end > data_size)
    return fail(StrCat("data_offsets [", begin, ", ", end, "] fall outside the ", data_size,
                       "-byte data section; hint: the file is truncated?"));
  if (end - begin != *nbytes)
    return fail(StrCat("data_offsets [", begin, ", ", end, "] span ", end - begin, " bytes but ",
                       ShapeString(info->shape), " ", dtype_name, " needs ", *nbytes, "; hint: corrupt header?"));
  info->offset = data_start + begin;
  info->nbytes = *nbytes;
  return OkStatus();
}

Status SafetensorsParser::Finish(const std::string& name, SafetensorsSet* set) {
  auto& ts = set->tensors_;
  std::sort(ts.begin(), ts.end(),
            [](const auto& a, const auto& b) { return a.shard != b.shard ? a.shard < b.shard : a.offset < b.offset; });
  for (size_t k = 0; k < ts.size(); ++k) {
    if (!set->index_.emplace(ts[k].name, k).second)
      return Corrupt(StrCat("safetensors: ", name, ": tensor '", ts[k].name, "' appears twice"));
    if (k > 0 && ts[k - 1].shard == ts[k].shard && ts[k].nbytes > 0 &&
        ts[k - 1].offset + ts[k - 1].nbytes > ts[k].offset)
      return Corrupt(StrCat("safetensors: ", name, ": tensors '", ts[k - 1].name, "' and '", ts[k].name,
                            "' overlap; hint: corrupt header?"));
  }
  return OkStatus();
}

Result<std::shared_ptr<const SafetensorsSet>> SafetensorsParser::OpenFile(const std::string& path) {
  Result<std::shared_ptr<const MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  std::shared_ptr<SafetensorsSet> set(new SafetensorsSet());
  LM_RETURN_IF_ERROR(ParseOne((*file)->data(), (*file)->size(), path, 0, set.get(), true));
  LM_RETURN_IF_ERROR(Finish(path, set.get()));
  set->files_.push_back(*file);
  set->shard_data_.push_back((*file)->data());
  set->shard_owner_.push_back(*file);
  return std::shared_ptr<const SafetensorsSet>(std::move(set));
}

Result<std::shared_ptr<const SafetensorsSet>> SafetensorsParser::OpenIndex(const std::string& path) {
  Result<json> index = io_internal::ReadJsonFile(path, "safetensors");
  if (!index.ok()) return index.status();
  auto fail = [&](const std::string& what) { return Corrupt(StrCat("safetensors: ", path, ": ", what)); };
  const auto wm = index->find("weight_map");
  if (!index->is_object() || wm == index->end() || !wm->is_object())
    return fail("has no \"weight_map\" object; hint: not a safetensors index?");
  // Shards in name order, so "-00001-of-00003" is shard 0 whatever order the map lists them.
  std::map<std::string, int> shard_of_file;
  for (const auto& [tensor, file] : wm->items()) {
    if (!file.is_string()) return fail(StrCat("weight_map entry '", tensor, "' is not a string"));
    const fs::path rel(file.get<std::string>());
    bool escapes = rel.empty() || rel.is_absolute();
    for (const auto& part : rel) escapes = escapes || part == "..";
    if (escapes) return fail(StrCat("shard path '", rel.string(), "' leaves the model folder"));
    shard_of_file.emplace(rel.string(), 0);
  }
  if (shard_of_file.empty()) return fail("weight_map is empty");
  std::shared_ptr<SafetensorsSet> set(new SafetensorsSet());
  const fs::path dir = fs::path(path).parent_path();
  int shard = 0;
  for (auto& [file, index_of] : shard_of_file) {
    index_of = shard;
    const std::string shard_path = (dir / file).string();
    Result<std::shared_ptr<const MappedFile>> mapped = MappedFile::Open(shard_path);
    if (!mapped.ok()) return mapped.status();
    LM_RETURN_IF_ERROR(ParseOne((*mapped)->data(), (*mapped)->size(), shard_path, shard, set.get(), shard == 0));
    set->files_.push_back(*mapped);
    set->shard_data_.push_back((*mapped)->data());
    set->shard_owner_.push_back(*mapped);
    ++shard;
  }
  LM_RETURN_IF_ERROR(Finish(path, set.get()));
  for (const auto& [tensor, file] : wm->items()) {
    const SafetensorsTensorInfo* t = set->Find(tensor);
    const int want = shard_of_file.at(fs::path(file.get<std::string>()).string());
    if (t == nullptr || t->shard != want)
      return fail(StrCat("weight_map puts '", tensor, "' in ", file.get<std::string>(),
                         " but that shard has no such tensor; hint: shards from different checkpoints?"));
  }
  return std::shared_ptr<const SafetensorsSet>(std::move(set));
}

Result<std::shared_ptr<const SafetensorsSet>> SafetensorsSet::Open(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound(StrCat("safetensors: ", path, ": no such file or folder"));
  if (!fs::is_directory(path, ec)) {
    const bool is_index = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
    return is_index ? SafetensorsParser::OpenIndex(path) : SafetensorsParser::OpenFile(path);
  }
  const fs::path dir(path);
  if (fs::exists(dir / "model.safetensors.index.json", ec))
    return SafetensorsParser::OpenIndex((dir / "model.safetensors.index.json").string());
  if (fs::exists(dir / "model.safetensors", ec))
    return SafetensorsParser::OpenFile((dir / "model.safetensors").string());
  // Otherwise accept a lone *.safetensors or *.safetensors.index.json (e.g. "adapter_model.safetensors").
  std::vector<std::string> files, indexes;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.ends_with(".safetensors.index.json")) indexes.push_back(e.path().string());
    if (n.ends_with(".safetensors")) files.push_back(e.path().string());
  }
  if (indexes.size() == 1) return SafetensorsParser::OpenIndex(indexes[0]);
  if (indexes.empty() && files.size() == 1) return SafetensorsParser::OpenFile(files[0]);
  return NotFound(StrCat("safetensors: ", path, ": expected model.safetensors or model.safetensors.index.json, found ",
                         files.size(), " .safetensors and ", indexes.size(), " index files"));
}

const SafetensorsTensorInfo* SafetensorsSet::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Tensor SafetensorsSet::View(const SafetensorsTensorInfo& info) const {
  LM_CHECK(info.shard >= 0 && static_cast<size_t>(info.shard) < shard_data_.size(), "tensor '", info.name,
           "' is not from this set");
  return Tensor::View(info.dtype, info.shape, shard_data_[static_cast<size_t>(info.shard)] + info.offset,
                      shard_owner_[static_cast<size_t>(info.shard)]);
}

Result<std::shared_ptr<const SafetensorsSet>> SafetensorsParser::ParseImage(const uint8_t* data, uint64_t size,
                                                                            std::shared_ptr<const void> owner,
                                                                            const std::string& name) {
  std::shared_ptr<SafetensorsSet> set(new SafetensorsSet());
  LM_RETURN_IF_ERROR(ParseOne(data, size, name, 0, set.get(), true));
  LM_RETURN_IF_ERROR(Finish(name, set.get()));
  set->shard_data_.push_back(data);
  set->shard_owner_.push_back(std::move(owner));
  return std::shared_ptr<const SafetensorsSet>(std::move(set));
}

Result<std::shared_ptr<const SafetensorsSet>> ParseSafetensors(const uint8_t* data, uint64_t size,
                                                               std::shared_ptr<const void> owner, std::string name) {
  return SafetensorsParser::ParseImage(data, size, std::move(owner), name);
}

Result<HfModelDir> OpenHfModelDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(StrCat("hf: ", dir, ": not a folder"));
  HfModelDir out;
  out.dir = dir;
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path, ec))
    return NotFound(StrCat("hf: ", dir, ": no config.json; hint: not a Hugging Face model folder?"));
  Result<json> config = io_internal::ReadJsonFile(config_path, "hf");
  if (!config.ok()) return config.status();
  if (!config->is_object()) return Corrupt(StrCat("hf: ", config_path, ": not a JSON object"));
  out.config = std::make_shared<const json>(std::move(*config));
  Result<std::shared_ptr<const SafetensorsSet>> weights = SafetensorsSet::Open(dir);
  if (!weights.ok()) return weights.status();
  out.weights = *weights;
  const fs::path tok = fs::path(dir) / "tokenizer.json";
  if (fs::exists(tok, ec)) out.tokenizer_json_path = tok.string();
  return out;
}

}  // namespace lm
