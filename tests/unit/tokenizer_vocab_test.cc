// Vocabulary loading: GGUF keys (built with GgufWriter) and HF tokenizer.json, including error paths.
#include <filesystem>

#include <gtest/gtest.h>

#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "test_util.h"
#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer.h"

namespace lm {
namespace {

// A toy byte-level vocabulary: the 256 byte pieces, three merges and one control token.
struct Toy {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges = {"h e", "l l", "he ll"};
  Toy() {
    for (const auto& b : ByteToUnicode()) tokens.push_back(b);
    for (const char* t : {"he", "ll", "hell", "<|endoftext|>"}) tokens.push_back(t);
    types.assign(tokens.size(), 1);
    types.back() = 3;
  }
  int32_t eot() const { return static_cast<int32_t>(tokens.size()) - 1; }
};

gguf::GgufWriter ToyWriter(const Toy& toy) {
  gguf::GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "gpt-2");
  w.SetStringArray("tokenizer.ggml.tokens", toy.tokens);
  w.SetI32Array("tokenizer.ggml.token_type", toy.types);
  w.SetStringArray("tokenizer.ggml.merges", toy.merges);
  w.SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(toy.eot()));
  w.SetBool("tokenizer.ggml.add_bos_token", false);
  w.SetString("tokenizer.chat_template", "{{ '<|im_start|>' }}");
  return w;
}

Result<VocabData> Load(const gguf::GgufWriter& w) {
  const auto bytes = std::make_shared<std::vector<uint8_t>>(w.Serialize());
  auto file = gguf::GgufFile::Parse(bytes->data(), bytes->size(), bytes, "toy.gguf");
  if (!file.ok()) return file.status();
  return VocabFromGguf(**file);
}

TEST(VocabFromGguf, LoadsToyByteLevelVocab) {
  const Toy toy;
  auto v = Load(ToyWriter(toy));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->kind, TokenizerKind::kByteLevelBpe);
  EXPECT_EQ(v->pre, "gpt-2");
  EXPECT_EQ(v->eos_id, toy.eot());
  EXPECT_EQ(v->chat_template, "{{ '<|im_start|>' }}");
  auto tok = Tokenizer::Create(std::move(v).value());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const int32_t hell = (*tok)->FindToken("hell");
  EXPECT_EQ((*tok)->Encode("hello<|endoftext|>"), (std::vector<int32_t>{hell, 'o', toy.eot()}));
  EXPECT_EQ((*tok)->Decode((*tok)->Encode("hello<|endoftext|>"), true), "hello");
  EXPECT_TRUE((*tok)->IsEndOfGeneration(toy.eot()));
}

TEST(VocabFromGguf, MissingKeysAreClearErrors) {
  const Toy toy;
  gguf::GgufWriter no_tokens;
  no_tokens.SetString("tokenizer.ggml.model", "gpt2");
  auto v = Load(no_tokens);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_NE(v.status().message().find("tokenizer.ggml.tokens"), std::string::npos) << v.status().message();

  gguf::GgufWriter no_model;
  no_model.SetStringArray("tokenizer.ggml.tokens", toy.tokens);
  v = Load(no_model);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("tokenizer.ggml.model"), std::string::npos);

  gguf::GgufWriter no_merges;
  no_merges.SetString("tokenizer.ggml.model", "gpt2");
  no_merges.SetStringArray("tokenizer.ggml.tokens", toy.tokens);
  v = Load(no_merges);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("tokenizer.ggml.merges"), std::string::npos);

  gguf::GgufWriter no_scores;
  no_scores.SetString("tokenizer.ggml.model", "llama");
  no_scores.SetStringArray("tokenizer.ggml.tokens", toy.tokens);
  v = Load(no_scores);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("tokenizer.ggml.scores"), std::string::npos);

  gguf::GgufWriter bert;
  bert.SetString("tokenizer.ggml.model", "bert");
  bert.SetStringArray("tokenizer.ggml.tokens", toy.tokens);
  v = Load(bert);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnsupported);

  gguf::GgufWriter bad_id = ToyWriter(toy);
  bad_id.SetU32("tokenizer.ggml.bos_token_id", 1u << 20);
  v = Load(bad_id);
  EXPECT_FALSE(v.ok());
}

TEST(VocabFromGguf, UnknownPreTokenizerIsUnsupported) {
  const Toy toy;
  gguf::GgufWriter w = ToyWriter(toy);
  w.SetString("tokenizer.ggml.pre", "mystery");
  auto v = Load(w);
  ASSERT_TRUE(v.ok());
  auto tok = Tokenizer::Create(std::move(v).value());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kUnsupported);
}

TEST(VocabFromTokenizerJson, BothMergeSpellingsAndAddedTokens) {
  const Toy toy;
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i + 1 < toy.tokens.size(); ++i) vocab[toy.tokens[i]] = i;
  for (const bool pairs : {false, true}) {
    nlohmann::json merges = nlohmann::json::array();
    for (const auto& m : toy.merges) {
      const size_t sp = m.find(' ');
      if (pairs) merges.push_back({m.substr(0, sp), m.substr(sp + 1)});
      else merges.push_back(m);
    }
    const nlohmann::json doc = {
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
        {"added_tokens", {{{"id", toy.eot()}, {"content", "<|endoftext|>"}, {"special", true}}}},
        {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers",
                           {{{"type", "Digits"}, {"individual_digits", true}},
                            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}}}},
        {"decoder", {{"type", "ByteLevel"}}}};
    const auto dir = std::filesystem::temp_directory_path() / ("lm-tokjson-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "tokenizer.json").string();
    std::ofstream(path) << doc.dump();
    auto v = VocabFromTokenizerJson(path);
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->pre, "smollm");
    EXPECT_EQ(v->merges, toy.merges);
    ASSERT_EQ(v->types.size(), toy.tokens.size());
    EXPECT_EQ(v->types.back(), TokenType::kControl);
    EXPECT_EQ(v->eos_id, toy.eot());
    auto tok = Tokenizer::Create(std::move(v).value());
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    EXPECT_EQ((*tok)->Encode("hell<|endoftext|>"), (std::vector<int32_t>{(*tok)->FindToken("hell"), toy.eot()}));
  }
}

TEST(VocabFromTokenizerJson, MissingFileIsNotFound) {
  auto v = VocabFromTokenizerJson("/nonexistent/tokenizer.json");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lm
