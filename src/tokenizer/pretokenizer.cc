// PCRE2 pre-tokenizers reproducing HF tokenizers' Split/Digits/ByteLevel regex stages per model family.
#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/str.h"

namespace lm {
namespace {

// HF's regexes run on Oniguruma, whose \s is Unicode White_Space. PCRE2's \s under UCP differs
// slightly (it adds U+180E), so \s and \S are rewritten to this explicit set before compiling.
constexpr std::string_view kWhiteSpace =
    R"(\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// GPT-2's regex as HF's ByteLevel(use_regex=true) spells it (the trailing \s+ catches a lone
// whitespace before a non-space, which the lookahead alternative refuses).
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama-3's Split regex (tokenizer.json): case-insensitive contractions, numbers in groups of <= 3.
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2's Split regex: like Llama-3 but every digit is its own piece.
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// HF's Digits(individual_digits=true): Rust's char::is_numeric, i.e. categories Nd, Nl, No.
constexpr std::string_view kDigit = R"(\p{N})";

// Rewrites \s / \S to kWhiteSpace, inside or outside a character class.
std::string ExpandWhiteSpace(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char n = pattern[++i];
      if (n == 's') {
        out += in_class ? std::string(kWhiteSpace) : StrCat("[", kWhiteSpace, "]");
      } else if (n == 'S') {
        LM_CHECK(!in_class, "\\S inside a class is not supported: ", pattern);
        out += StrCat("[^", kWhiteSpace, "]");
      } else {
        out += c;
        out += n;
      }
      continue;
    }
    if (c == '[' && !in_class) in_class = true;
    else if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

// One JIT stack per thread: Split is const and may run on many threads at once.
struct JitStack {
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  JitStack() {
    if (stack != nullptr && context != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~JitStack() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
};

}  // namespace

struct PreTokenizer::Stage {
  pcre2_code* code = nullptr;
  ~Stage() { pcre2_code_free(code); }
};

PreTokenizer::~PreTokenizer() = default;

std::string_view PreTokenizer::FamilyForSplitRegex(std::string_view pattern) {
  if (pattern == kLlama3) return "llama-bpe";
  if (pattern == kQwen2) return "qwen2";
  if (pattern == kGpt2) return "gpt-2";
  return {};
}

Result<std::unique_ptr<PreTokenizer>> PreTokenizer::Create(std::string_view family) {
  std::vector<std::string_view> patterns;
  if (family == "smollm" || family == "starcoder") {
    patterns = {kDigit, kGpt2};
  } else if (family == "gpt-2" || family == "gpt2" || family == "default") {
    patterns = {kGpt2};
  } else if (family == "llama-bpe" || family == "llama3" || family == "llama-v3") {
    patterns = {kLlama3};
  } else if (family == "qwen2") {
    patterns = {kQwen2};
  } else {
    return Unsupported(StrCat("tokenizer: pre-tokenizer '", family,
                              "' is not supported; hint: known are smollm, gpt-2, default, llama-bpe, qwen2"));
  }
  std::unique_ptr<PreTokenizer> pre(new PreTokenizer());
  for (std::string_view p : patterns) {
    const std::string expanded = ExpandWhiteSpace(p);
    int error = 0;
    PCRE2_SIZE offset = 0;
    auto stage = std::make_unique<Stage>();
    stage->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expanded.data()), expanded.size(),
                                PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (stage->code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return Internal(StrCat("tokenizer: regex for '", family, "' does not compile at ", offset, ": ",
                             reinterpret_cast<const char*>(message)));
    }
    // JIT is an optimisation only: when unavailable, pcre2_match interprets.
    (void)pcre2_jit_compile(stage->code, PCRE2_JIT_COMPLETE);
    pre->stages_.push_back(std::move(stage));
  }
  return pre;
}

std::vector<std::string_view> PreTokenizer::Split(std::string_view text) const {
  thread_local JitStack jit;
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::vector<std::string_view> next;
  for (const auto& stage : stages_) {
    next.clear();
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(stage->code, nullptr);
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0, emitted = 0;
      uint32_t options = 0;  // the first match validates UTF-8; later ones skip the check
      while (pos < piece.size()) {
        const int rc = pcre2_match(stage->code, subject, piece.size(), pos, options, md, jit.context);
        if (rc < 0) break;  // no more matches, or invalid UTF-8 (then the rest stays one piece)
        options = PCRE2_NO_UTF_CHECK;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t begin = ov[0], end = ov[1];
        if (begin > emitted) next.push_back(piece.substr(emitted, begin - emitted));
        if (end > begin) next.push_back(piece.substr(begin, end - begin));
        emitted = end;
        if (end == begin) {  // empty match: step over one UTF-8 character
          pos = end + 1;
          while (pos < piece.size() && (static_cast<unsigned char>(piece[pos]) & 0xC0) == 0x80) ++pos;
        } else {
          pos = end;
        }
      }
      if (emitted < piece.size()) next.push_back(piece.substr(emitted));
    }
    pcre2_match_data_free(md);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace lm
