// safetensors reader: one file or a sharded set (model.safetensors.index.json), plus a HF model folder
// (config.json, tokenizer.json). The JSON header's offsets and shapes are validated against the file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "core/tensor.h"
#include "io/mmap_file.h"

namespace lm {

struct SafetensorsTensorInfo {
  std::string name;
  DType dtype = DType::kF32;  // F32, F16, BF16, F64, I8, I16, I32, I64 (others: Unsupported)
  Shape shape;          // a scalar (shape []) is read as [1] so numel() counts its element
  uint64_t offset = 0;  // absolute in its file
  uint64_t nbytes = 0;
  int shard = 0;        // index into the set's files
};

class SafetensorsSet {
 public:
  // `path` is a .safetensors file, a .safetensors.index.json, or a folder holding either.
  static Result<std::shared_ptr<const SafetensorsSet>> Open(const std::string& path);

  const std::vector<SafetensorsTensorInfo>& tensors() const { return tensors_; }
  const SafetensorsTensorInfo* Find(std::string_view name) const;
  Tensor View(const SafetensorsTensorInfo& info) const;
  // "__metadata__" string map of the first shard.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsSet() = default;
  std::vector<std::shared_ptr<const MappedFile>> files_;  // empty for ParseSafetensors images
  // Per shard: start of its bytes and what keeps them alive (a MappedFile or the caller's owner).
  std::vector<const uint8_t*> shard_data_;
  std::vector<std::shared_ptr<const void>> shard_owner_;
  std::vector<SafetensorsTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  std::unordered_map<std::string, size_t> index_;  // tensor name -> index into tensors_
  friend class SafetensorsParser;
};

// Parse one safetensors image from memory (tests). Tensors get shard 0.
Result<std::shared_ptr<const SafetensorsSet>> ParseSafetensors(const uint8_t* data, uint64_t size,
                                                               std::shared_ptr<const void> owner,
                                                               std::string name);

// A Hugging Face model folder: weights + parsed config.json; tokenizer.json path if present.
struct HfModelDir {
  std::string dir;
  std::shared_ptr<const SafetensorsSet> weights;
  std::shared_ptr<const nlohmann::json> config;
  std::string tokenizer_json_path;  // empty if the folder has none
};
Result<HfModelDir> OpenHfModelDir(const std::string& dir);

}  // namespace lm
