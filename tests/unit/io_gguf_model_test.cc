// Reads the real default model (SmolLM2-135M-Instruct, q4_1) and checks its header, vocabulary and
// tensor table. The model is a required test asset: if it is missing this test fails (run scripts/setup.sh).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/quant.h"
#include "io/gguf_reader.h"
#include "test_util.h"

namespace lm::gguf {
namespace {

std::shared_ptr<const GgufFile> OpenDefaultModel() {
  const std::string path = test::DefaultModelPath();
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "default model " << path << " is missing; run scripts/setup.sh to download it";
    return nullptr;
  }
  auto f = GgufFile::Open(path);
  if (!f.ok()) {
    ADD_FAILURE() << f.status().ToString();
    return nullptr;
  }
  return *f;
}

TEST(GgufModel, HeaderAndMetadata) {
  auto g = OpenDefaultModel();
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->version(), 3u);
  EXPECT_EQ(g->alignment(), 32u);
  EXPECT_EQ(*g->GetString("general.architecture"), "llama");
  EXPECT_EQ(*g->GetInt("llama.block_count"), 30);
  EXPECT_EQ(*g->GetInt("llama.embedding_length"), 576);
  EXPECT_EQ(*g->GetInt("llama.attention.head_count"), 9);
  EXPECT_EQ(*g->GetInt("llama.attention.head_count_kv"), 3);
  EXPECT_GT(*g->GetFloat("llama.rope.freq_base"), 0.0);
  EXPECT_EQ(*g->GetString("tokenizer.ggml.model"), "gpt2");
  const auto tokens = g->GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), 49152u);
  EXPECT_EQ(g->GetIntArray("tokenizer.ggml.token_type")->size(), 49152u);
  EXPECT_GT(g->GetStringArray("tokenizer.ggml.merges")->size(), 40000u);
  EXPECT_FALSE(g->GetString("tokenizer.chat_template")->empty());
}

TEST(GgufModel, TensorTable) {
  auto g = OpenDefaultModel();
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->tensors().size(), 272u);
  const TensorInfo* emb = g->FindTensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dtype, DType::kQ8_0);
  EXPECT_EQ(emb->shape, (Shape{49152, 576}));
  EXPECT_EQ(emb->nbytes, 49152u * 576 / 32 * 34);
  const TensorInfo* q = g->FindTensor("blk.29.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype, DType::kQ4_1);
  EXPECT_EQ(q->shape, (Shape{576, 576}));
  EXPECT_EQ(g->FindTensor("blk.0.attn_k.weight")->shape, (Shape{192, 576}));
  EXPECT_EQ(g->FindTensor("blk.0.ffn_down.weight")->shape, (Shape{576, 1536}));
  EXPECT_EQ(g->FindTensor("output_norm.weight")->dtype, DType::kF32);
  EXPECT_EQ(g->FindTensor("blk.30.attn_q.weight"), nullptr);

  uint64_t total = 0;
  for (const TensorInfo& t : g->tensors()) {
    EXPECT_EQ(t.offset % g->alignment(), 0u) << t.name;
    EXPECT_GE(t.offset, g->data_offset()) << t.name;
    total += t.nbytes;
  }
  EXPECT_LE(g->data_offset() + total, std::filesystem::file_size(test::DefaultModelPath()));

  // Dequantise the first embedding row and a norm weight: finite, not all zero.
  const Tensor e = g->View(*emb);
  std::vector<float> row(576);
  DequantizeRow(DType::kQ8_0, e.raw(), row.data(), 576);
  double sum_abs = 0;
  for (float x : row) {
    ASSERT_TRUE(std::isfinite(x));
    sum_abs += std::fabs(x);
  }
  EXPECT_GT(sum_abs, 0.0);
  const Tensor norm = g->View(*g->FindTensor("output_norm.weight"));
  EXPECT_TRUE(std::isfinite(norm.data<float>()[0]));
}

}  // namespace
}  // namespace lm::gguf
