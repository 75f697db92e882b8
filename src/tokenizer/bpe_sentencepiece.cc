// SentencePiece-style BPE (Llama-2, TinyLlama, Gemma): score-driven merges, "▁" for spaces, byte fallback.
#include <algorithm>
#include <cstdio>
#include <functional>

#include "tokenizer/bpe.h"

namespace lm {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space

size_t Utf8Len(unsigned char c) { return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1; }

class SentencePieceBpe final : public Tokenizer {
 public:
  explicit SentencePieceBpe(VocabData data) : Tokenizer(std::move(data)) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      byte_id_[static_cast<size_t>(b)] = FindToken(name);
    }
    token_text_.resize(data_.tokens.size());
    for (size_t id = 0; id < data_.tokens.size(); ++id) {
      const std::string& piece = data_.tokens[id];
      std::string& text = token_text_[id];
      const TokenType t = type(static_cast<int32_t>(id));
      if (t == TokenType::kByte && piece.size() == 6) {
        text.assign(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
      } else if (t == TokenType::kControl || t == TokenType::kUnknown) {
        text = piece;
      } else {
        for (size_t pos = 0, hit; pos <= piece.size(); pos = hit + kSpace.size()) {
          hit = piece.find(kSpace, pos);
          text += piece.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos);
          if (hit == std::string::npos) break;
          text += ' ';
        }
      }
    }
  }

  std::vector<int32_t> Encode(std::string_view text, const EncodeOptions& options) const override {
    std::vector<int32_t> ids;
    Scratch scratch;
    // As llama.cpp and HF's legacy Llama tokenizer do, every text run that starts the input or
    // follows a special token gets the dummy-prefix space.
    bool prefix = data_.add_space_prefix;
    for (const Fragment& f : SplitSpecial(text, options.parse_special)) {
      if (f.id >= 0) {
        ids.push_back(f.id);
        prefix = data_.add_space_prefix;
        continue;
      }
      std::string normalized;
      normalized.reserve(f.text.size() + 16);
      if (prefix) normalized += kSpace;
      prefix = false;
      for (char c : f.text) {
        if (c == ' ') normalized += kSpace;
        else normalized += c;
      }
      EncodeRun(normalized, ids, scratch);
    }
    AddSpecial(ids, options);
    return ids;
  }

  std::string Decode(std::span<const int32_t> ids, bool skip_special) const override {
    std::string out;
    bool first = true;  // SentencePiece drops the dummy-prefix space of the first visible piece
    for (int32_t id : ids) {
      if (id < 0 || id >= n_vocab()) continue;
      const TokenType t = type(id);
      if (skip_special && t == TokenType::kControl) continue;
      const std::string& text = token_text_[static_cast<size_t>(id)];
      if (first && data_.add_space_prefix && t != TokenType::kControl && !text.empty() && text[0] == ' ') {
        out.append(text, 1);
      } else {
        out += text;
      }
      if (!text.empty()) first = false;
    }
    return out;
  }

  std::string TokenBytes(int32_t id) const override {
    return id >= 0 && id < n_vocab() ? token_text_[static_cast<size_t>(id)] : std::string();
  }

 private:
  struct Candidate {
    float score;
    int32_t left, size;  // size: byte length of the merged text, to detect stale entries
    bool operator<(const Candidate& o) const {  // max-heap: best score, then leftmost
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  struct Scratch {
    std::vector<int32_t> start, len, prev, next;
    std::vector<Candidate> heap;
  };

  // SentencePiece merges into normal, user-defined and unused pieces only (never control/byte ones).
  int32_t Mergeable(std::string_view piece) const {
    const int32_t id = FindToken(piece);
    if (id < 0) return -1;
    const TokenType t = type(id);
    return (t == TokenType::kNormal || t == TokenType::kUserDefined || t == TokenType::kUnused ||
            t == TokenType::kUndefined) ? id : -1;
  }
  float Score(int32_t id) const { return data_.scores.empty() ? 0.0f : data_.scores[static_cast<size_t>(id)]; }

  void Push(std::string_view text, Scratch& s, int32_t left) const {
    if (left < 0) return;
    const int32_t right = s.next[static_cast<size_t>(left)];
    if (right < 0) return;
    const auto l = static_cast<size_t>(left), r = static_cast<size_t>(right);
    const int32_t id = Mergeable(text.substr(static_cast<size_t>(s.start[l]), static_cast<size_t>(s.len[l] + s.len[r])));
    if (id < 0) return;
    s.heap.push_back({Score(id), left, s.len[l] + s.len[r]});
    std::push_heap(s.heap.begin(), s.heap.end());
  }

  void EncodeRun(std::string_view text, std::vector<int32_t>& ids, Scratch& s) const {
    s.start.clear();
    s.len.clear();
    for (size_t i = 0; i < text.size();) {
      const size_t n = std::min(Utf8Len(static_cast<unsigned char>(text[i])), text.size() - i);
      s.start.push_back(static_cast<int32_t>(i));
      s.len.push_back(static_cast<int32_t>(n));
      i += n;
    }
    const auto n = static_cast<int32_t>(s.start.size());
    if (n == 0) return;
    s.prev.resize(static_cast<size_t>(n));
    s.next.resize(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
      s.prev[static_cast<size_t>(i)] = i - 1;
      s.next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
    }
    s.heap.clear();
    for (int32_t i = 0; i + 1 < n; ++i) Push(text, s, i);
    while (!s.heap.empty()) {
      std::pop_heap(s.heap.begin(), s.heap.end());
      const Candidate c = s.heap.back();
      s.heap.pop_back();
      const auto l = static_cast<size_t>(c.left);
      const int32_t right = s.next[l];
      if (s.len[l] == 0 || right < 0 || s.len[l] + s.len[static_cast<size_t>(right)] != c.size) continue;
      const auto r = static_cast<size_t>(right);
      s.len[l] += s.len[r];
      s.len[r] = 0;
      s.next[l] = s.next[r];
      if (s.next[r] >= 0) s.prev[static_cast<size_t>(s.next[r])] = c.left;
      Push(text, s, s.prev[l]);
      Push(text, s, c.left);
    }
    bool last_unk = false;
    for (int32_t i = 0; i >= 0; i = s.next[static_cast<size_t>(i)]) {
      const auto k = static_cast<size_t>(i);
      const std::string_view piece = text.substr(static_cast<size_t>(s.start[k]), static_cast<size_t>(s.len[k]));
      const int32_t id = FindToken(piece);
      if (id >= 0 && type(id) != TokenType::kControl && type(id) != TokenType::kByte) {
        ids.push_back(id);
        last_unk = false;
        continue;
      }
      for (char b : piece) {
        const int32_t byte = byte_id_[static_cast<unsigned char>(b)];
        if (byte >= 0) {
          ids.push_back(byte);
          last_unk = false;
        } else if (data_.unk_id >= 0 && !last_unk) {  // runs of unknowns fuse into one, as SentencePiece does
          ids.push_back(data_.unk_id);
          last_unk = true;
        }
      }
    }
  }

  std::array<int32_t, 256> byte_id_{};
  std::vector<std::string> token_text_;  // decoded text per token: "▁" -> ' ', <0xXX> -> the byte
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> CreateSentencePieceBpe(VocabData data) {
  return std::unique_ptr<Tokenizer>(new SentencePieceBpe(std::move(data)));
}

}  // namespace lm
