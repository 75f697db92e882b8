// Vocabulary loading from GGUF (tokenizer.ggml.* keys) and from HF tokenizer.json (+ tokenizer_config.json).
#include "tokenizer/vocab.h"

#include "core/str.h"
#include "io/gguf_reader.h"

namespace lm {
namespace {

// Optional GGUF keys: absent -> keep the default; present but mistyped -> the reader's error.
Status OptionalInt(const gguf::GgufFile& f, std::string_view key, int32_t& out) {
  if (!f.Has(key)) return OkStatus();
  auto v = f.GetInt(key);
  if (!v.ok()) return v.status();
  out = static_cast<int32_t>(*v);
  return OkStatus();
}
Status OptionalBool(const gguf::GgufFile& f, std::string_view key, bool& out) {
  if (!f.Has(key)) return OkStatus();
  auto v = f.GetBool(key);
  if (!v.ok()) return v.status();
  out = *v;
  return OkStatus();
}
Status Required(const gguf::GgufFile& f, std::string_view key, std::string_view why) {
  if (f.Has(key)) return OkStatus();
  return NotFound(StrCat("tokenizer: GGUF '", f.path(), "' lacks '", key, "' (", why,
                         "); hint: was it converted without its tokenizer?"));
}

}  // namespace

Result<VocabData> VocabFromGguf(const gguf::GgufFile& file) {
  VocabData v;
  LM_RETURN_IF_ERROR(Required(file, "tokenizer.ggml.model", "tokenizer kind"));
  auto model = file.GetString("tokenizer.ggml.model");
  if (!model.ok()) return model.status();
  if (*model == "gpt2") {
    v.kind = TokenizerKind::kByteLevelBpe;
  } else if (*model == "llama") {
    v.kind = TokenizerKind::kSentencePiece;
    v.add_bos = true;           // llama.cpp's and HF's default for SentencePiece vocabularies
    v.add_space_prefix = true;
  } else {
    return Unsupported(StrCat("tokenizer: GGUF tokenizer model '", *model, "' is not supported (gpt2, llama are)"));
  }
  v.pre = "default";
  if (file.Has("tokenizer.ggml.pre")) {
    auto pre = file.GetString("tokenizer.ggml.pre");
    if (!pre.ok()) return pre.status();
    v.pre = *pre;
  }

  LM_RETURN_IF_ERROR(Required(file, "tokenizer.ggml.tokens", "the vocabulary"));
  auto tokens = file.GetStringArray("tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.status();
  v.tokens = std::move(tokens).value();
  const size_t n = v.tokens.size();

  if (v.kind == TokenizerKind::kSentencePiece) {
    LM_RETURN_IF_ERROR(Required(file, "tokenizer.ggml.scores", "SentencePiece merge scores"));
  }
  if (file.Has("tokenizer.ggml.scores")) {
    auto scores = file.GetFloatArray("tokenizer.ggml.scores");
    if (!scores.ok()) return scores.status();
    if (scores->size() != n) return Corrupt(StrCat("tokenizer: ", scores->size(), " scores for ", n, " tokens"));
    v.scores.assign(scores->begin(), scores->end());
  }
  if (file.Has("tokenizer.ggml.token_type")) {
    auto types = file.GetIntArray("tokenizer.ggml.token_type");
    if (!types.ok()) return types.status();
    if (types->size() != n) return Corrupt(StrCat("tokenizer: ", types->size(), " token types for ", n, " tokens"));
    v.types.reserve(n);
    for (int64_t t : *types) {
      if (t < 0 || t > 6) return Corrupt(StrCat("tokenizer: token type ", t, " is not a GGUF token type"));
      v.types.push_back(static_cast<TokenType>(t));
    }
  }
  if (v.kind == TokenizerKind::kByteLevelBpe) {
    LM_RETURN_IF_ERROR(Required(file, "tokenizer.ggml.merges", "byte-level BPE merges"));
    auto merges = file.GetStringArray("tokenizer.ggml.merges");
    if (!merges.ok()) return merges.status();
    v.merges = std::move(merges).value();
  }

  LM_RETURN_IF_ERROR(OptionalInt(file, "tokenizer.ggml.bos_token_id", v.bos_id));
  LM_RETURN_IF_ERROR(OptionalInt(file, "tokenizer.ggml.eos_token_id", v.eos_id));
  LM_RETURN_IF_ERROR(OptionalInt(file, "tokenizer.ggml.unknown_token_id", v.unk_id));
  LM_RETURN_IF_ERROR(OptionalInt(file, "tokenizer.ggml.padding_token_id", v.pad_id));
  LM_RETURN_IF_ERROR(OptionalInt(file, "tokenizer.ggml.eot_token_id", v.eot_id));
  for (int32_t id : {v.bos_id, v.eos_id, v.unk_id, v.pad_id, v.eot_id}) {
    if (id >= static_cast<int64_t>(n)) {
      return Corrupt(StrCat("tokenizer: special token id ", id, " is outside the vocabulary of ", n));
    }
  }
  LM_RETURN_IF_ERROR(OptionalBool(file, "tokenizer.ggml.add_bos_token", v.add_bos));
  LM_RETURN_IF_ERROR(OptionalBool(file, "tokenizer.ggml.add_eos_token", v.add_eos));
  LM_RETURN_IF_ERROR(OptionalBool(file, "tokenizer.ggml.add_space_prefix", v.add_space_prefix));
  if (file.Has("tokenizer.chat_template")) {
    auto t = file.GetString("tokenizer.chat_template");
    if (!t.ok()) return t.status();
    v.chat_template = *t;
  }
  return v;
}

}  // namespace lm
