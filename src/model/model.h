// Model: immutable configuration + weights, shared by every session (shared_ptr<const Model>).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "model/config.h"
#include "model/weights.h"

namespace lm {
namespace gguf {
class GgufFile;
}
struct HfModelDir;

class Model {
 public:
  Model(ModelConfig config, ModelWeights weights, std::string source)
      : config_(std::move(config)), weights_(std::move(weights)), source_(std::move(source)) {}

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const std::string& source() const { return source_; }
  // Bytes of weights held in RAM by longmem (dequantised copies), excluding mmap'd views.
  uint64_t owned_weight_bytes() const;

 private:
  ModelConfig config_;
  ModelWeights weights_;
  std::string source_;
};

Result<std::shared_ptr<const Model>> LoadModelFromGguf(const gguf::GgufFile& file);
Result<std::shared_ptr<const Model>> LoadModelFromHf(const HfModelDir& dir);

}  // namespace lm
