// Tokenizer: text <-> token ids, matching Hugging Face tokenizers for the families longmem loads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/vocab.h"

namespace lm {

struct EncodeOptions {
  bool add_bos = true;        // honoured only if the vocab says add_bos (as HF does); also gates add_eos
  bool parse_special = true;  // "<|im_start|>" in text becomes the control token, not its characters
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  Tokenizer(const Tokenizer&) = delete;  // piece_to_id_ views into data_
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Builds the right implementation for data.kind / data.pre; Unsupported for unknown pre-tokenizers.
  static Result<std::unique_ptr<Tokenizer>> Create(VocabData data);

  virtual std::vector<int32_t> Encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
  // Concatenated UTF-8 text of the ids; control tokens are rendered as their text unless skip_special.
  virtual std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  // Raw bytes of one token as it contributes to decoded text (may be a partial UTF-8 sequence).
  virtual std::string TokenBytes(int32_t id) const = 0;

  const VocabData& vocab() const { return data_; }
  int32_t n_vocab() const { return static_cast<int32_t>(data_.tokens.size()); }
  int32_t bos() const { return data_.bos_id; }
  int32_t eos() const { return data_.eos_id; }
  // End of generation: eos, eot, or another control token the template uses to stop (e.g. <|im_end|>).
  bool IsEndOfGeneration(int32_t id) const;
  // Looks up a piece exactly as stored (e.g. "<|im_end|>"); -1 if absent.
  int32_t FindToken(std::string_view piece) const;

 protected:
  // Builds the piece -> id map, the special-token matcher and the end-of-generation set.
  explicit Tokenizer(VocabData data);

  // A run of ordinary text (id < 0) or one special token matched whole in the raw text.
  struct Fragment {
    std::string_view text;
    int32_t id = -1;
  };
  // HF's added-token pass: at each position the longest special piece wins (leftmost-longest).
  // Control tokens match only when parse_special; user-defined tokens always match (as llama.cpp and HF).
  std::vector<Fragment> SplitSpecial(std::string_view text, bool parse_special) const;
  TokenType type(int32_t id) const {
    return data_.types.empty() ? TokenType::kNormal : data_.types[static_cast<size_t>(id)];
  }
  // BOS/EOS around the encoded body as the vocab asks.
  void AddSpecial(std::vector<int32_t>& ids, const EncodeOptions& options) const;

  VocabData data_;
  std::unordered_map<std::string_view, int32_t> piece_to_id_;  // views into data_.tokens
  // Special pieces grouped by first byte, longest first, for SplitSpecial.
  std::vector<std::vector<int32_t>> special_by_byte_;
  std::vector<int32_t> end_ids_;
};

}  // namespace lm
