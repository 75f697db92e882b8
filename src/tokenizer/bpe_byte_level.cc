// Byte-level BPE (GPT-2 family): PCRE2 pre-tokenizer, bytes -> GPT-2 alphabet, ranked merges.
#include <algorithm>
#include <functional>
#include <unordered_map>

#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"

namespace lm {

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes are
// shifted to U+0100 and up in byte order, so every byte has a visible, non-space spelling.
const std::array<std::string, 256>& ByteToUnicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      AppendUtf8(t[b], printable ? b : next++);
    }
    return t;
  }();
  return table;
}

namespace {

class ByteLevelBpe final : public Tokenizer {
 public:
  ByteLevelBpe(VocabData data, std::unique_ptr<PreTokenizer> pre) : Tokenizer(std::move(data)), pre_(std::move(pre)) {
    const auto& alphabet = ByteToUnicode();
    std::unordered_map<std::string_view, uint8_t> unicode_to_byte;
    for (int b = 0; b < 256; ++b) {
      unicode_to_byte.emplace(alphabet[static_cast<size_t>(b)], static_cast<uint8_t>(b));
      byte_id_[static_cast<size_t>(b)] = FindToken(alphabet[static_cast<size_t>(b)]);
    }
    // Raw bytes per token, as HF's ByteLevel decoder yields them: each character of the alphabet
    // becomes its byte; any other character (e.g. in a control token stored verbatim) stays as is.
    token_bytes_.resize(data_.tokens.size());
    for (size_t id = 0; id < data_.tokens.size(); ++id) {
      const std::string_view piece = data_.tokens[id];
      std::string& raw = token_bytes_[id];
      for (size_t i = 0; i < piece.size();) {
        const auto c = static_cast<unsigned char>(piece[i]);
        const size_t len = std::min(piece.size() - i, size_t{c >= 0xF0 ? 4u : c >= 0xE0 ? 3u : c >= 0xC0 ? 2u : 1u});
        const auto it = unicode_to_byte.find(piece.substr(i, len));
        if (it != unicode_to_byte.end()) raw += static_cast<char>(it->second);
        else raw += piece.substr(i, len);
        i += len;
      }
    }
    // Merge ranks keyed by the pair of ids; pairs whose parts or result are not in the vocabulary
    // can never fire (HF refuses such files; tolerating them costs nothing here).
    merges_.reserve(data_.merges.size());
    for (size_t rank = 0; rank < data_.merges.size(); ++rank) {
      const std::string& m = data_.merges[rank];
      const size_t space = m.find(' ', 1);
      if (space == std::string::npos) continue;
      const int32_t left = FindToken(std::string_view(m).substr(0, space));
      const int32_t right = FindToken(std::string_view(m).substr(space + 1));
      const int32_t merged = FindToken(m.substr(0, space) + m.substr(space + 1));
      if (left < 0 || right < 0 || merged < 0) continue;
      merges_.emplace(Key(left, right), Merge{static_cast<int32_t>(rank), merged});
    }
  }

  std::vector<int32_t> Encode(std::string_view text, const EncodeOptions& options) const override {
    std::vector<int32_t> ids;
    Scratch scratch;
    for (const Fragment& f : SplitSpecial(text, options.parse_special)) {
      if (f.id >= 0) {
        ids.push_back(f.id);
        continue;
      }
      for (std::string_view word : pre_->Split(f.text)) EncodeWord(word, ids, scratch);
    }
    AddSpecial(ids, options);
    return ids;
  }

  std::string Decode(std::span<const int32_t> ids, bool skip_special) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 0 || id >= n_vocab()) continue;
      if (skip_special && type(id) == TokenType::kControl) continue;
      out += token_bytes_[static_cast<size_t>(id)];
    }
    return out;
  }

  std::string TokenBytes(int32_t id) const override {
    return id >= 0 && id < n_vocab() ? token_bytes_[static_cast<size_t>(id)] : std::string();
  }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  // A candidate merge of the symbol at `pos` with its right neighbour; stale ones are skipped.
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  struct Scratch {  // reused across words so a long text does not allocate per word
    std::vector<int32_t> sym, prev, next;
    std::vector<Candidate> heap;
  };
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void Push(Scratch& s, int32_t pos) const {
    if (pos < 0) return;
    const int32_t r = s.next[static_cast<size_t>(pos)];
    if (r < 0) return;
    const auto it = merges_.find(Key(s.sym[static_cast<size_t>(pos)], s.sym[static_cast<size_t>(r)]));
    if (it == merges_.end()) return;
    s.heap.push_back({it->second.rank, pos, s.sym[static_cast<size_t>(pos)], s.sym[static_cast<size_t>(r)]});
    std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>());
  }

  // HF's BPE word merge: repeatedly apply the lowest-ranked pair, leftmost first on ties.
  void EncodeWord(std::string_view word, std::vector<int32_t>& ids, Scratch& s) const {
    s.sym.clear();
    for (char c : word) {
      const int32_t id = byte_id_[static_cast<unsigned char>(c)];
      if (id >= 0) s.sym.push_back(id);
      else if (data_.unk_id >= 0) s.sym.push_back(data_.unk_id);
    }
    const auto n = static_cast<int32_t>(s.sym.size());
    if (n == 0) return;
    if (n == 1) {
      ids.push_back(s.sym[0]);
      return;
    }
    s.prev.resize(static_cast<size_t>(n));
    s.next.resize(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
      s.prev[static_cast<size_t>(i)] = i - 1;
      s.next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
    }
    s.heap.clear();
    for (int32_t i = 0; i + 1 < n; ++i) Push(s, i);
    while (!s.heap.empty()) {
      std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<>());
      const Candidate c = s.heap.back();
      s.heap.pop_back();
      const auto p = static_cast<size_t>(c.pos);
      const int32_t r = s.next[p];
      if (s.sym[p] != c.left || r < 0 || s.sym[static_cast<size_t>(r)] != c.right) continue;  // stale
      s.sym[p] = merges_.at(Key(c.left, c.right)).id;
      s.sym[static_cast<size_t>(r)] = -1;  // dead
      const int32_t rr = s.next[static_cast<size_t>(r)];
      s.next[p] = rr;
      if (rr >= 0) s.prev[static_cast<size_t>(rr)] = c.pos;
      Push(s, s.prev[p]);
      Push(s, c.pos);
    }
    for (int32_t i = 0; i >= 0; i = s.next[static_cast<size_t>(i)]) ids.push_back(s.sym[static_cast<size_t>(i)]);
  }

  std::unique_ptr<PreTokenizer> pre_;
  std::array<int32_t, 256> byte_id_{};
  std::vector<std::string> token_bytes_;
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> CreateByteLevelBpe(VocabData data) {
  auto pre = PreTokenizer::Create(data.pre.empty() ? "default" : data.pre);
  if (!pre.ok()) return pre.status();
  if (data.merges.empty()) return InvalidArgument("tokenizer: byte-level BPE needs merges; the file has none");
  return std::unique_ptr<Tokenizer>(new ByteLevelBpe(std::move(data), std::move(pre).value()));
}

}  // namespace lm
