// SentencePiece-style BPE against a tiny model trained with Google's sentencepiece (byte fallback on).
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace lm {
namespace {

VocabData TinyVocab(const nlohmann::json& g) {
  VocabData v;
  v.kind = TokenizerKind::kSentencePiece;
  v.tokens = g["tokens"].get<std::vector<std::string>>();
  v.scores = g["scores"].get<std::vector<float>>();
  for (int t : g["types"].get<std::vector<int>>()) v.types.push_back(static_cast<TokenType>(t));
  v.bos_id = g["bos_id"];
  v.eos_id = g["eos_id"];
  v.unk_id = g["unk_id"];
  v.add_bos = true;
  v.add_space_prefix = g["add_space_prefix"];
  return v;
}

class TinySentencePiece : public ::testing::Test {
 protected:
  void SetUp() override {
    golden_ = test::LoadJson(test::DataPath("goldens/tokenizer_spm_tiny.json"));
    auto tok = Tokenizer::Create(TinyVocab(golden_));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = std::move(tok).value();
  }
  nlohmann::json golden_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(TinySentencePiece, EncodeMatchesSentencePiece) {
  // sentencepiece never parses "<s>" in text, so compare with parse_special off and no BOS.
  const EncodeOptions opts{.add_bos = false, .parse_special = false};
  int n = 0;
  for (const auto& c : golden_["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(tok_->Encode(text, opts), c["ids"].get<std::vector<int32_t>>()) << nlohmann::json(text).dump().substr(0, 80);
    ++n;
  }
  EXPECT_GE(n, 40);
}

TEST_F(TinySentencePiece, DecodeMatchesSentencePieceAndRoundTrips) {
  for (const auto& c : golden_["cases"]) {
    const std::string text = c["text"];
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->Decode(ids), c["decoded"].get<std::string>()) << nlohmann::json(text).dump().substr(0, 80);
    // BOS renders as its text unless skipped; then the dummy-prefix space stays (as HF's decoder does).
    EXPECT_EQ(tok_->Decode(tok_->Encode(text)), text.empty() ? "<s>" : "<s> " + text);
    EXPECT_EQ(tok_->Decode(tok_->Encode(text), /*skip_special=*/true), text);
  }
}

TEST_F(TinySentencePiece, BosAndByteFallback) {
  const auto ids = tok_->Encode("hé😀");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], tok_->bos());
  // The emoji is not a piece, so it falls back to its four UTF-8 bytes.
  EXPECT_EQ(tok_->TokenBytes(tok_->FindToken("<0xF0>")), "\xF0");
  std::string streamed;
  for (size_t i = 1; i < ids.size(); ++i) streamed += tok_->TokenBytes(ids[i]);
  EXPECT_EQ(streamed, " hé😀");  // the dummy prefix shows in per-token output
}

TEST_F(TinySentencePiece, UnknownWithoutByteFallback) {
  VocabData v = TinyVocab(golden_);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == TokenType::kByte) v.tokens[i] = "<removed-" + std::to_string(i) + ">";
  }
  auto tok = Tokenizer::Create(std::move(v));
  ASSERT_TRUE(tok.ok());
  const auto ids = (*tok)->Encode("a 😀😀 b", {.add_bos = false});
  int unk = 0;
  for (int32_t id : ids) unk += id == (*tok)->vocab().unk_id;
  EXPECT_EQ(unk, 1) << "a run of unknown characters fuses into one <unk>";
}

}  // namespace
}  // namespace lm
