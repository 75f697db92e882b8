// Chat templates rendered natively (no Jinja engine): ChatML, Llama-3, Llama-2 and Gemma turn formats.
#include "tokenizer/chat_template.h"

#include "core/str.h"

namespace lm {
namespace {

// SmolLM2's template inserts this system turn when the conversation does not open with one.
constexpr std::string_view kSmolLmDefaultSystem =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

// Jinja's `| trim`: strips leading and trailing whitespace.
std::string Trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string ChatMl(const std::vector<ChatMessage>& messages, bool gen) {
  std::string out;
  if (!messages.empty() && messages[0].role != "system") {
    out += StrCat("<|im_start|>system\n", kSmolLmDefaultSystem, "<|im_end|>\n");
  }
  for (const ChatMessage& m : messages) out += StrCat("<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

// Meta's template starts with bos_token; it is left out here because the tokenizer adds BOS
// (add_bos is true for Llama-3), which keeps the prompt from carrying two of them.
std::string Llama3(const std::vector<ChatMessage>& messages, bool gen) {
  std::string out;
  for (const ChatMessage& m : messages) {
    out += StrCat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n", Trim(m.content), "<|eot_id|>");
  }
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Meta's Llama-2 format: the system prompt is folded into the first user turn inside <<SYS>>;
// every later user turn opens with <s> (the first one gets BOS from the tokenizer).
Result<std::string> Llama2(const std::vector<ChatMessage>& messages) {
  std::string out, system;
  bool first_user = true;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") {
      if (i != 0) return InvalidArgument("chat: Llama-2 accepts a system message only first");
      system = Trim(m.content);
    } else if (m.role == "user") {
      std::string content = Trim(m.content);
      if (first_user && !system.empty()) content = StrCat("<<SYS>>\n", system, "\n<</SYS>>\n\n", content);
      out += StrCat(first_user ? "" : "<s>", "[INST] ", content, " [/INST]");
      first_user = false;
    } else if (m.role == "assistant") {
      out += StrCat(" ", Trim(m.content), " </s>");
    } else {
      return InvalidArgument(StrCat("chat: Llama-2 has no role '", m.role, "'"));
    }
  }
  return out;
}

// Gemma: "assistant" is spelled "model"; there is no system role, so (as Gemma-2/3 templates do)
// a system message is prepended to the first user turn. BOS comes from the tokenizer.
Result<std::string> Gemma(const std::vector<ChatMessage>& messages, bool gen) {
  std::string out, system;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") {
      if (i != 0) return InvalidArgument("chat: Gemma accepts a system message only first");
      system = Trim(m.content) + "\n\n";
      continue;
    }
    if (m.role != "user" && m.role != "assistant") return InvalidArgument(StrCat("chat: Gemma has no role '", m.role, "'"));
    const char* role = m.role == "assistant" ? "model" : "user";
    out += StrCat("<start_of_turn>", role, "\n", system, Trim(m.content), "<end_of_turn>\n");
    system.clear();
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace

ChatFormat DetectChatFormat(const std::string& jinja) {
  if (jinja.find("<|im_start|>") != std::string::npos) return ChatFormat::kChatML;
  if (jinja.find("<|start_header_id|>") != std::string::npos) return ChatFormat::kLlama3;
  if (jinja.find("<start_of_turn>") != std::string::npos) return ChatFormat::kGemma;
  if (jinja.find("[INST]") != std::string::npos) return ChatFormat::kLlama2;
  return ChatFormat::kNone;
}

Result<std::string> ApplyChatTemplate(ChatFormat format, const std::vector<ChatMessage>& messages,
                                      bool add_generation_prompt) {
  switch (format) {
    case ChatFormat::kChatML: return ChatMl(messages, add_generation_prompt);
    case ChatFormat::kLlama3: return Llama3(messages, add_generation_prompt);
    case ChatFormat::kLlama2: return Llama2(messages);
    case ChatFormat::kGemma: return Gemma(messages, add_generation_prompt);
    case ChatFormat::kNone: break;
  }
  return Unsupported("chat: the model carries no chat template this build recognises; hint: use plain generation");
}

}  // namespace lm
