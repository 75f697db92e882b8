// Vocabulary data as a model file describes it (GGUF tokenizer.ggml.* keys or HF tokenizer.json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm::gguf {
class GgufFile;
}

namespace lm {

enum class TokenizerKind {
  kByteLevelBpe,   // GPT-2 style: bytes mapped to printable unicode, ranked merges ("gpt2" in GGUF)
  kSentencePiece,  // SentencePiece-style BPE driven by scores, byte fallback <0xXX> ("llama" in GGUF)
};

// Token attribute as GGUF stores it (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

struct VocabData {
  TokenizerKind kind = TokenizerKind::kByteLevelBpe;
  std::string pre;                   // pre-tokenizer name: "smollm", "llama-bpe", "qwen2", "gpt-2", "default", ...
  std::vector<std::string> tokens;   // id -> piece as stored (byte-level pieces are in GPT-2's unicode alphabet)
  std::vector<float> scores;         // SentencePiece scores (empty for byte-level BPE)
  std::vector<TokenType> types;      // empty means all kNormal
  std::vector<std::string> merges;   // "a b" pairs in rank order (byte-level BPE)
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1, eot_id = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;     // SentencePiece: prepend "▁" to the text
  std::string chat_template;         // Jinja source, if the file carries one
};

Result<VocabData> VocabFromGguf(const gguf::GgufFile& file);
Result<VocabData> VocabFromTokenizerJson(const std::string& path);

}  // namespace lm
