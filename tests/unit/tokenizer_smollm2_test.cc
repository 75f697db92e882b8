// SmolLM2 tokenizer from the default model GGUF against HF goldens: ids, decodes, chat renderings.
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "io/gguf_reader.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace lm {
namespace {

class SmolLm2Tokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = test::DefaultModelPath();
    ASSERT_TRUE(std::filesystem::exists(path)) << "missing " << path << "; hint: run scripts/setup.sh";
    auto file = gguf::GgufFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    auto vocab = VocabFromGguf(**file);
    ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
    auto tok = Tokenizer::Create(std::move(vocab).value());
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = std::move(tok).value().release();
    golden_ = new nlohmann::json(test::LoadJson(test::DataPath("goldens/tokenizer_smollm2.json")));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete golden_;
  }
  void SetUp() override { ASSERT_NE(tok_, nullptr) << "tokenizer failed to load (see the first failure)"; }

  static std::string Show(const std::string& s) { return nlohmann::json(s).dump().substr(0, 80); }

  static inline Tokenizer* tok_ = nullptr;
  static inline nlohmann::json* golden_ = nullptr;
};

TEST_F(SmolLm2Tokenizer, VocabMetadata) {
  const VocabData& v = tok_->vocab();
  EXPECT_EQ(v.kind, TokenizerKind::kByteLevelBpe);
  EXPECT_EQ(v.pre, "smollm");
  EXPECT_EQ(tok_->n_vocab(), 49152);
  EXPECT_EQ(tok_->bos(), (*golden_)["bos_id"].get<int>());
  EXPECT_EQ(tok_->eos(), (*golden_)["eos_id"].get<int>());
  EXPECT_EQ(v.add_bos, (*golden_)["add_bos"].get<bool>());
  EXPECT_EQ(v.chat_template, (*golden_)["chat_template"].get<std::string>());
  EXPECT_EQ(tok_->FindToken("<|im_end|>"), 2);
  EXPECT_EQ(tok_->FindToken("<|im_start|>"), 1);
  EXPECT_EQ(tok_->FindToken("no such piece"), -1);
  EXPECT_TRUE(tok_->IsEndOfGeneration(2));
  EXPECT_TRUE(tok_->IsEndOfGeneration(0));  // <|endoftext|> ends a base-model document
  EXPECT_FALSE(tok_->IsEndOfGeneration(1));
  EXPECT_FALSE(tok_->IsEndOfGeneration(tok_->FindToken("Hello")));
}

TEST_F(SmolLm2Tokenizer, EncodeMatchesHf) {
  int n = 0;
  for (const auto& c : (*golden_)["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(tok_->Encode(text), c["ids"].get<std::vector<int32_t>>()) << Show(text);
    EXPECT_EQ(tok_->Encode(text, {.parse_special = false}), c["ids_no_special"].get<std::vector<int32_t>>())
        << Show(text);
    ++n;
  }
  EXPECT_GE(n, 40);
}

TEST_F(SmolLm2Tokenizer, DecodeMatchesHfAndRoundTrips) {
  for (const auto& c : (*golden_)["cases"]) {
    const std::string text = c["text"];
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->Decode(ids), c["decoded"].get<std::string>()) << Show(text);
    EXPECT_EQ(tok_->Decode(ids, /*skip_special=*/true), c["decoded_skip_special"].get<std::string>()) << Show(text);
    EXPECT_EQ(tok_->Decode(tok_->Encode(text)), text) << Show(text);
    EXPECT_EQ(tok_->Decode(tok_->Encode(text, {.parse_special = false})), text) << Show(text);
    std::string streamed;  // TokenBytes pieces concatenate to the decoded bytes
    for (int32_t id : ids) streamed += tok_->TokenBytes(id);
    EXPECT_EQ(streamed, tok_->Decode(ids)) << Show(text);
  }
}

TEST_F(SmolLm2Tokenizer, BosHonouredOnlyWhenVocabAsks) {
  // The GGUF says add_bos_token = false, and HF adds nothing either.
  EXPECT_EQ(tok_->Encode("hi", {.add_bos = true}), tok_->Encode("hi", {.add_bos = false}));
}

TEST_F(SmolLm2Tokenizer, ChatTemplateMatchesHf) {
  const ChatFormat format = DetectChatFormat(tok_->vocab().chat_template);
  ASSERT_EQ(format, ChatFormat::kChatML);
  for (const auto& chat : (*golden_)["chats"]) {
    std::vector<ChatMessage> messages;
    for (const auto& m : chat["messages"]) messages.push_back({m["role"], m["content"]});
    auto text = ApplyChatTemplate(format, messages, chat["add_generation_prompt"].get<bool>());
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    EXPECT_EQ(*text, chat["text"].get<std::string>()) << chat["name"];
  }
}

// A megabyte with 20k-character runs round-trips. (Encoding speed is measured in bench/, not asserted here.)
TEST_F(SmolLm2Tokenizer, MegabyteWithLongRunsRoundTrips) {
  std::string text;
  const auto& cases = (*golden_)["cases"];
  while (text.size() < (1u << 20)) {
    for (const auto& c : cases) text += c["text"].get<std::string>();
  }
  text += std::string(20000, ' ') + std::string(20000, 'a') + std::string(5000, '7');  // long runs
  const auto ids = tok_->Encode(text);
  EXPECT_GT(ids.size(), text.size() / 16);
  EXPECT_EQ(tok_->Decode(ids), text);
}

}  // namespace
}  // namespace lm
