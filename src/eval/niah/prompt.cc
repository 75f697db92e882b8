// Prompt building: template split around the context, haystack slice, needles at line starts.
#include "eval/niah/prompt.h"

#include <algorithm>

#include "tokenizer/chat_template.h"

namespace lm::niah {

namespace {
constexpr const char* kMark = "\x01\x02HAYSTACK\x02\x01";
constexpr int64_t kSnapBack = 256;  // how far a needle may move back to reach a line start
}  // namespace

Result<Haystack> MakeHaystack(const Tokenizer& tok, const std::string& text, size_t max_chars) {
  size_t n = std::min(text.size(), max_chars);
  if (n < text.size()) {
    const size_t nl = text.rfind('\n', n);
    if (nl != std::string::npos && nl > 0) n = nl + 1;
  }
  Haystack h;
  h.tokens = tok.Encode(std::string_view(text).substr(0, n), {.add_bos = false, .parse_special = false});
  if (h.tokens.size() < 64) return InvalidArgument(StrCat("niah: haystack has only ", h.tokens.size(), " tokens"));
  h.line_start.assign(h.tokens.size(), 0);
  h.line_start[0] = 1;
  for (size_t i = 1; i < h.tokens.size(); ++i) {
    const std::string b = tok.TokenBytes(h.tokens[i - 1]);
    h.line_start[i] = !b.empty() && b.back() == '\n' ? 1 : 0;
  }
  return h;
}

Result<BuiltPrompt> BuildPrompt(const Tokenizer& tok, const Haystack& hay, const TaskInstance& task, int64_t n_tokens,
                                int64_t offset) {
  const std::string content = task.instruction + "\n\n" + kMark + "\n\n" + task.question;
  std::string rendered = content;
  const ChatFormat fmt = DetectChatFormat(tok.vocab().chat_template);
  if (fmt != ChatFormat::kNone) {
    auto r = ApplyChatTemplate(fmt, {{"user", content}}, true);
    if (!r.ok()) return r.status();
    rendered = *r;
  }
  const size_t at = rendered.find(kMark);
  if (at == std::string::npos) return Internal("niah: chat template dropped the context marker");
  const auto head = tok.Encode(rendered.substr(0, at), {.add_bos = true, .parse_special = true});
  const auto tail = tok.Encode(rendered.substr(at + std::string(kMark).size()) + task.answer_prefix,
                               {.add_bos = false, .parse_special = true});
  std::vector<std::vector<int32_t>> needles;
  int64_t fixed = static_cast<int64_t>(head.size() + tail.size());
  for (const auto& n : task.needles) {
    needles.push_back(tok.Encode(n.text + "\n", {.add_bos = false, .parse_special = false}));
    fixed += static_cast<int64_t>(needles.back().size());
  }
  const int64_t n_ctx = n_tokens - fixed;
  if (n_ctx < 16)
    return InvalidArgument(StrCat("niah: length ", n_tokens, " leaves no room for text after the ", fixed,
                                  " tokens of template, question and needles"));
  const auto H = static_cast<int64_t>(hay.tokens.size());
  int64_t start = ((offset % H) + H) % H;
  while (start > 0 && !hay.line_start[static_cast<size_t>(start)]) --start;  // begin at a line
  // Insertion points in context coordinates, snapped back to a line start, in ascending order.
  std::vector<std::pair<int64_t, size_t>> ins;
  for (size_t i = 0; i < task.needles.size(); ++i) {
    int64_t p = static_cast<int64_t>(task.needles[i].depth * static_cast<double>(n_ctx));
    p = std::clamp<int64_t>(p, 0, n_ctx);
    for (int64_t b = 0; b < kSnapBack && p - b > 0; ++b)
      if (hay.line_start[static_cast<size_t>((start + p - b) % H)]) {
        p -= b;
        break;
      }
    ins.push_back({p, i});
  }
  std::stable_sort(ins.begin(), ins.end());
  BuiltPrompt out;
  out.tokens.reserve(static_cast<size_t>(n_tokens));
  out.tokens.insert(out.tokens.end(), head.begin(), head.end());
  out.needle_at.assign(task.needles.size(), 0);
  out.needle_len.assign(task.needles.size(), 0);
  int64_t done = 0;
  auto copy_text = [&](int64_t upto) {
    for (; done < upto; ++done) out.tokens.push_back(hay.tokens[static_cast<size_t>((start + done) % H)]);
  };
  for (const auto& [p, i] : ins) {
    copy_text(p);
    out.needle_at[i] = static_cast<int64_t>(out.tokens.size());
    out.needle_len[i] = static_cast<int64_t>(needles[i].size());
    out.tokens.insert(out.tokens.end(), needles[i].begin(), needles[i].end());
  }
  copy_text(n_ctx);
  out.tokens.insert(out.tokens.end(), tail.begin(), tail.end());
  LM_CHECK(static_cast<int64_t>(out.tokens.size()) == n_tokens, "niah: prompt length mismatch");
  return out;
}

}  // namespace lm::niah
