// PCRE2 pre-tokenizers against HF tokenizers' pre_tokenize_str splits for each byte-level family.
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"

namespace lm {
namespace {

// HF hands pieces over in GPT-2's byte alphabet; map ours the same way to compare.
std::string ToAlphabet(std::string_view raw) {
  std::string out;
  for (char c : raw) out += ByteToUnicode()[static_cast<unsigned char>(c)];
  return out;
}

class PreTokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(PreTokenizerGolden, SplitsMatchHf) {
  const nlohmann::json golden = test::LoadJson(test::DataPath("goldens/tokenizer_pretok.json"));
  auto pre = PreTokenizer::Create(GetParam());
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  const auto& texts = golden["texts"];
  const auto& expected = golden["families"][GetParam()];
  ASSERT_EQ(texts.size(), expected.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i];
    std::vector<std::string> got;
    std::string joined;
    for (std::string_view piece : (*pre)->Split(text)) {
      got.push_back(ToAlphabet(piece));
      joined += piece;
    }
    EXPECT_EQ(got, expected[i].get<std::vector<std::string>>()) << GetParam() << " on " << nlohmann::json(text).dump();
    EXPECT_EQ(joined, text);  // pieces cover the text exactly
  }
}

INSTANTIATE_TEST_SUITE_P(Families, PreTokenizerGolden, ::testing::Values("gpt-2", "smollm", "llama-bpe", "qwen2"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST(PreTokenizer, UnknownFamilyIsUnsupported) {
  auto pre = PreTokenizer::Create("no-such-family");
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.status().code(), StatusCode::kUnsupported);
}

TEST(PreTokenizer, InvalidUtf8StaysInOnePiece) {
  auto pre = PreTokenizer::Create("gpt-2");
  ASSERT_TRUE(pre.ok());
  const std::string bad = "ab \xff\xfe cd";
  std::string joined;
  for (std::string_view p : (*pre)->Split(bad)) joined += p;
  EXPECT_EQ(joined, bad);
}

TEST(PreTokenizer, FamilyForSplitRegex) {
  EXPECT_EQ(PreTokenizer::FamilyForSplitRegex(
                R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"),
            "llama-bpe");
  EXPECT_EQ(PreTokenizer::FamilyForSplitRegex("x+"), "");
}

}  // namespace
}  // namespace lm
