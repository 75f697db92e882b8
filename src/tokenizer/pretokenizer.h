// Pre-tokenizers: split text into the pieces BPE runs on, using PCRE2 regexes with HF "isolated" semantics.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lm {

class PreTokenizer {
 public:
  // Families: "smollm" (digits isolated, then GPT-2's regex), "gpt-2"/"default", "llama-bpe", "qwen2".
  static Result<std::unique_ptr<PreTokenizer>> Create(std::string_view family);
  // The family whose Split regex (as tokenizer.json spells it) is `pattern`; empty if none matches.
  static std::string_view FamilyForSplitRegex(std::string_view pattern);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits UTF-8 text (free of special tokens) into consecutive pieces that cover it exactly.
  // Each stage re-splits every piece of the previous one: matches and the gaps between them both
  // become pieces, as HF's Split(behavior="isolated") and Digits do. Thread-safe.
  std::vector<std::string_view> Split(std::string_view text) const;

  struct Stage;  // a compiled regex (defined in pretokenizer.cc)

 private:
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace lm
