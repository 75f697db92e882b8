// Chat templates: renders a conversation to the prompt text the model was tuned on.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lm {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant"
  std::string content;
};

enum class ChatFormat { kChatML, kLlama3, kLlama2, kGemma, kNone };

// Recognises the family from the Jinja source carried by the model (or kNone when there is none).
ChatFormat DetectChatFormat(const std::string& jinja_template);

// Renders messages; add_generation_prompt appends the assistant header. SmolLM2 is ChatML and, like its
// template, inserts the default system prompt when the conversation has none.
Result<std::string> ApplyChatTemplate(ChatFormat format, const std::vector<ChatMessage>& messages,
                                      bool add_generation_prompt);

}  // namespace lm
