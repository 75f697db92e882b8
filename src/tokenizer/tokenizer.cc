// Tokenizer base: factory, piece lookup, special-token splitting and end-of-generation ids.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/bpe.h"

namespace lm {

Result<std::unique_ptr<Tokenizer>> Tokenizer::Create(VocabData data) {
  if (data.tokens.empty()) return InvalidArgument("tokenizer: the vocabulary is empty");
  const size_t n = data.tokens.size();
  if (!data.types.empty() && data.types.size() != n) {
    return Corrupt(StrCat("tokenizer: ", data.types.size(), " token types for ", n, " tokens"));
  }
  if (!data.scores.empty() && data.scores.size() != n) {
    return Corrupt(StrCat("tokenizer: ", data.scores.size(), " scores for ", n, " tokens"));
  }
  for (int32_t* id : {&data.bos_id, &data.eos_id, &data.unk_id, &data.pad_id, &data.eot_id}) {
    if (*id >= static_cast<int64_t>(n)) {
      return Corrupt(StrCat("tokenizer: special token id ", *id, " is outside the vocabulary of ", n));
    }
    if (*id < 0) *id = -1;
  }
  switch (data.kind) {
    case TokenizerKind::kByteLevelBpe: return CreateByteLevelBpe(std::move(data));
    case TokenizerKind::kSentencePiece: return CreateSentencePieceBpe(std::move(data));
  }
  return Unsupported("tokenizer: unknown tokenizer kind");
}

Tokenizer::Tokenizer(VocabData data) : data_(std::move(data)), special_by_byte_(256) {
  piece_to_id_.reserve(data_.tokens.size());
  for (size_t i = 0; i < data_.tokens.size(); ++i) {
    const int32_t id = static_cast<int32_t>(i);
    piece_to_id_.emplace(data_.tokens[i], id);  // the first id wins on duplicate pieces
    const TokenType t = type(id);
    const bool special = t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
    if (special && !data_.tokens[i].empty()) {
      special_by_byte_[static_cast<unsigned char>(data_.tokens[i][0])].push_back(id);
    }
  }
  for (auto& ids : special_by_byte_) {
    std::stable_sort(ids.begin(), ids.end(), [this](int32_t a, int32_t b) {
      return data_.tokens[static_cast<size_t>(a)].size() > data_.tokens[static_cast<size_t>(b)].size();
    });
  }
  // Stop tokens beyond eos/eot: chat templates end a turn with these (llama.cpp treats them alike).
  for (int32_t id : {data_.eos_id, data_.eot_id}) {
    if (id >= 0) end_ids_.push_back(id);
  }
  for (std::string_view piece : {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|endoftext|>", "<|end|>"}) {
    const int32_t id = FindToken(piece);
    if (id >= 0 && type(id) == TokenType::kControl) end_ids_.push_back(id);
  }
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return id >= 0 && std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end();
}

int32_t Tokenizer::FindToken(std::string_view piece) const {
  const auto it = piece_to_id_.find(piece);
  return it == piece_to_id_.end() ? -1 : it->second;
}

std::vector<Tokenizer::Fragment> Tokenizer::SplitSpecial(std::string_view text, bool parse_special) const {
  std::vector<Fragment> out;
  size_t start = 0;  // beginning of the pending ordinary text
  for (size_t pos = 0; pos < text.size();) {
    int32_t match = -1;
    for (int32_t id : special_by_byte_[static_cast<unsigned char>(text[pos])]) {
      if (!parse_special && type(id) != TokenType::kUserDefined) continue;
      const std::string& piece = data_.tokens[static_cast<size_t>(id)];
      if (text.compare(pos, piece.size(), piece) == 0) {
        match = id;  // candidates are sorted longest first
        break;
      }
    }
    if (match < 0) {
      ++pos;
      continue;
    }
    if (pos > start) out.push_back({text.substr(start, pos - start), -1});
    const size_t len = data_.tokens[static_cast<size_t>(match)].size();
    out.push_back({text.substr(pos, len), match});
    pos += len;
    start = pos;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
  return out;
}

void Tokenizer::AddSpecial(std::vector<int32_t>& ids, const EncodeOptions& options) const {
  if (!options.add_bos) return;
  if (data_.add_bos && data_.bos_id >= 0) ids.insert(ids.begin(), data_.bos_id);
  if (data_.add_eos && data_.eos_id >= 0) ids.push_back(data_.eos_id);
}

}  // namespace lm
