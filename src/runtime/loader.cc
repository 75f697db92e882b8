// Model + tokenizer loading by file format.
#include "runtime/loader.h"

#include <filesystem>

#include "io/gguf_reader.h"
#include "io/safetensors_reader.h"

namespace lm {

Result<LoadedModel> LoadModelAndTokenizer(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound(StrCat("model '", path, "' does not exist; hint: run scripts/setup.sh to fetch the default "
                           "model into models/"));
  }
  LoadedModel out;
  if (std::filesystem::is_directory(path, ec)) {
    auto dir = OpenHfModelDir(path);
    if (!dir.ok()) return dir.status();
    if (dir->tokenizer_json_path.empty())
      return NotFound(StrCat("model folder '", path, "' has no tokenizer.json"));
    auto model = LoadModelFromHf(*dir);
    if (!model.ok()) return model.status();
    auto vocab = VocabFromTokenizerJson(dir->tokenizer_json_path);
    if (!vocab.ok()) return vocab.status();
    auto tok = Tokenizer::Create(std::move(vocab).value());
    if (!tok.ok()) return tok.status();
    out.model = *model;
    out.tokenizer = std::move(tok).value();
    return out;
  }
  auto file = gguf::GgufFile::Open(path);
  if (!file.ok()) return file.status();
  auto model = LoadModelFromGguf(**file);
  if (!model.ok()) return model.status();
  auto vocab = VocabFromGguf(**file);
  if (!vocab.ok()) return vocab.status();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return tok.status();
  if ((*tok)->n_vocab() > (*model)->config().n_vocab) {
    return Corrupt(StrCat(path, ": tokenizer has ", (*tok)->n_vocab(), " tokens but the model's vocabulary is ",
                          (*model)->config().n_vocab));
  }
  out.model = *model;
  out.tokenizer = std::move(tok).value();
  out.gguf = *file;
  return out;
}

}  // namespace lm
