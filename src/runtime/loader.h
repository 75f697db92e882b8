// Opens a model file or folder once and builds both the Model and its Tokenizer.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "io/gguf_reader.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace lm {

struct LoadedModel {
  std::shared_ptr<const Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const gguf::GgufFile> gguf;  // the mapped file (GGUF models only; LongMem's SideNet reads it)
};

// `path`: a .gguf file, or a Hugging Face folder (config.json + *.safetensors + tokenizer.json).
Result<LoadedModel> LoadModelAndTokenizer(const std::string& path);

}  // namespace lm
