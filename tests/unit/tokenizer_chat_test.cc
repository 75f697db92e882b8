// Chat templates: format detection and the Llama-3 / Llama-2 / Gemma / ChatML renderings.
#include <gtest/gtest.h>

#include "tokenizer/chat_template.h"

namespace lm {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hi! "}, {"assistant", "Hello."}, {"user", "Bye"}};

TEST(ChatTemplate, Detect) {
  EXPECT_EQ(DetectChatFormat("{{'<|im_start|>' + message['role']}}"), ChatFormat::kChatML);
  EXPECT_EQ(DetectChatFormat("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}"),
            ChatFormat::kLlama3);
  EXPECT_EQ(DetectChatFormat("{{ bos_token + '[INST] ' + content + ' [/INST]' }}"), ChatFormat::kLlama2);
  EXPECT_EQ(DetectChatFormat("{{ '<start_of_turn>' + role + '\n' }}"), ChatFormat::kGemma);
  EXPECT_EQ(DetectChatFormat(""), ChatFormat::kNone);
  EXPECT_EQ(DetectChatFormat("{{ messages }}"), ChatFormat::kNone);
}

TEST(ChatTemplate, ChatMlKeepsGivenSystemAndContentVerbatim) {
  auto out = ApplyChatTemplate(ChatFormat::kChatML, kConversation, true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi! <|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  auto empty = ApplyChatTemplate(ChatFormat::kChatML, {}, true);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "<|im_start|>assistant\n");  // SmolLM2's template adds no system turn to nothing
}

TEST(ChatTemplate, Llama3) {
  auto out = ApplyChatTemplate(ChatFormat::kLlama3, kConversation, true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, Llama2) {
  auto out = ApplyChatTemplate(ChatFormat::kLlama2, kConversation, true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Bye [/INST]");
  EXPECT_FALSE(ApplyChatTemplate(ChatFormat::kLlama2, {{"user", "a"}, {"system", "b"}}, false).ok());
}

TEST(ChatTemplate, Gemma) {
  auto out = ApplyChatTemplate(ChatFormat::kGemma, kConversation, true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "<start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, NoneIsUnsupported) {
  auto out = ApplyChatTemplate(ChatFormat::kNone, kConversation, true);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace lm
