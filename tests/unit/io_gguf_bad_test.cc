// GGUF reader on bad input: missing files, wrong magic and versions, truncation at every byte, hostile
// counts/lengths/nesting, duplicates, bad alignment, tensor offsets and dimensions, unknown types.
// Each must give a non-ok Status with a message naming what failed; none may crash or allocate wildly.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/gguf_writer.h"
#include "io_test_helpers.h"
#include "test_util.h"

namespace lm::gguf {
namespace {

using test::ParseGguf;
using test::RawBytes;

// Expects `code` and every fragment in the message.
void ExpectError(const Status& s, StatusCode code, std::initializer_list<std::string> fragments) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  for (const std::string& f : fragments) EXPECT_NE(s.message().find(f), std::string::npos) << s.ToString();
}

// A small valid v3 file whose last tensor ends exactly at the file end (32-byte f32 payloads, no padding),
// so every proper prefix cuts something the reader needs.
std::vector<uint8_t> SmallValidFile() {
  GgufWriter w(3);
  w.SetString("general.architecture", "llama");
  w.SetU32("llama.block_count", 2);
  w.SetStringArray("tokenizer.ggml.tokens", {"a", "bc"});
  Value nested;
  nested.type = ValueType::kArray;
  nested.elem_type = ValueType::kArray;
  nested.array.resize(1);
  nested.array[0].type = ValueType::kArray;
  nested.array[0].elem_type = ValueType::kI8;
  w.SetValue("x.nested", nested);
  const float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.AddTensor("a", DType::kF32, {2, 4}, a);
  w.AddTensor("b", DType::kF32, {8}, a);
  return w.Serialize();
}

TEST(GgufBad, MissingFileAndDirectory) {
  auto f = GgufFile::Open("/nonexistent/model.gguf");
  ExpectError(f.status(), StatusCode::kNotFound, {"/nonexistent/model.gguf"});
  ExpectError(GgufFile::Open(std::filesystem::temp_directory_path().string()).status(), StatusCode::kIoError,
              {"directory"});
}

TEST(GgufBad, EmptyFileIsTruncated) {
  test::TempFile tmp("io-gguf-empty");
  tmp.Write({});
  ExpectError(GgufFile::Open(tmp.path()).status(), StatusCode::kCorrupt,
              {tmp.path(), "magic at offset 0 needs 1 bytes but only 0 remain", "truncated?"});
}

TEST(GgufBad, WrongMagic) {
  std::vector<uint8_t> b = SmallValidFile();
  b[0] = 'X';
  ExpectError(ParseGguf(b, "m.gguf").status(), StatusCode::kCorrupt, {"gguf: m.gguf: bad magic", "not a GGUF"});
}

TEST(GgufBad, Versions) {
  std::vector<uint8_t> b = SmallValidFile();
  b[4] = 1;
  ExpectError(ParseGguf(b).status(), StatusCode::kUnsupported, {"version 1", "only 2 and 3"});
  b[4] = 4;
  ExpectError(ParseGguf(b).status(), StatusCode::kUnsupported, {"version 4"});
  b[4] = 0;
  b[7] = 3;  // 0x03000000: a big-endian file
  ExpectError(ParseGguf(b).status(), StatusCode::kUnsupported, {"big-endian"});
  b[7] = 0;
  b[4] = 2;  // v2 has the same layout
  EXPECT_TRUE(ParseGguf(b).ok());
}

TEST(GgufBad, TruncatedAtEveryByte) {
  const std::vector<uint8_t> full = SmallValidFile();
  ASSERT_TRUE(ParseGguf(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto f = ParseGguf(prefix);
    ASSERT_FALSE(f.ok()) << "prefix of " << n << " of " << full.size() << " bytes parsed";
    EXPECT_EQ(f.status().code(), StatusCode::kCorrupt) << n << ": " << f.status().ToString();
  }
}

TEST(GgufBad, FlippedBytesNeverCrash) {
  // Every byte of the header replaced by a few nasty values: any Status is fine, a crash is not.
  const std::vector<uint8_t> full = SmallValidFile();
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x7F}, uint8_t{0xFF}}) {
      std::vector<uint8_t> b = full;
      b[i] = v;
      auto f = ParseGguf(b);
      if (f.ok()) {
        EXPECT_LE((*f)->tensors().size(), 2u);
      }
    }
  }
}

TEST(GgufBad, HostileCounts) {
  ExpectError(ParseGguf(RawBytes().Header(3, 0, uint64_t{1} << 60).bytes()).status(), StatusCode::kCorrupt,
              {"metadata entry count 1152921504606846976", "remain"});
  ExpectError(ParseGguf(RawBytes().Header(3, uint64_t{1} << 60, 0).bytes()).status(), StatusCode::kCorrupt,
              {"tensor count 1152921504606846976"});
  // Huge string length (key and value).
  ExpectError(ParseGguf(RawBytes().Header(3, 0, 1).Put<uint64_t>(uint64_t{1} << 60).Put<uint64_t>(0).bytes()).status(),
              StatusCode::kCorrupt, {"metadata key #0 length 1152921504606846976", "exceeds"});
  ExpectError(
      ParseGguf(RawBytes().Header(3, 0, 1).Key("k", ValueType::kString).Put<uint64_t>(~uint64_t{0}).bytes()).status(),
      StatusCode::kCorrupt, {"string value of key 'k' length 18446744073709551615"});
  // Array counts far beyond the bytes left, for fixed-size, string and array elements.
  for (ValueType elem : {ValueType::kU8, ValueType::kU64, ValueType::kString, ValueType::kArray}) {
    RawBytes r;
    r.Header(3, 0, 1).Key("arr", ValueType::kArray).Put(static_cast<uint32_t>(elem)).Put<uint64_t>(uint64_t{1} << 60);
    ExpectError(ParseGguf(r.bytes()).status(), StatusCode::kCorrupt,
                {"key 'arr': array<", "count 1152921504606846976"});
  }
}

TEST(GgufBad, TooManyValuesInTotal) {
  // 16M+1 one-byte values fit in the file, but would cost ~1.6 GB parsed: refused before allocating.
  const uint64_t n = (uint64_t{1} << 24) + 1;
  RawBytes r;
  r.Header(3, 0, 1).Key("big", ValueType::kArray).Put(static_cast<uint32_t>(ValueType::kU8)).Put(n);
  r.Bytes(std::vector<uint8_t>(n));
  ExpectError(ParseGguf(r.bytes()).status(), StatusCode::kCorrupt, {"key 'big'", "more than 16777216"});
}

TEST(GgufBad, DeepNesting) {
  RawBytes r;
  r.Header(3, 0, 1).Key("deep", ValueType::kArray);
  for (int d = 0; d < 100; ++d) r.Put(static_cast<uint32_t>(ValueType::kArray)).Put<uint64_t>(1);
  r.Put(static_cast<uint32_t>(ValueType::kU8)).Put<uint64_t>(0);
  ExpectError(ParseGguf(r.bytes()).status(), StatusCode::kCorrupt, {"key 'deep'", "nested deeper than 8"});
}

TEST(GgufBad, UnknownValueTypesAndBadBool) {
  ExpectError(ParseGguf(RawBytes().Header(3, 0, 1).Str("k").Put<uint32_t>(13).Put<uint8_t>(0).bytes()).status(),
              StatusCode::kCorrupt, {"key 'k' has unknown value type 13"});
  ExpectError(
      ParseGguf(RawBytes().Header(3, 0, 1).Key("k", ValueType::kArray).Put<uint32_t>(99).Put<uint64_t>(0).bytes())
          .status(),
      StatusCode::kCorrupt, {"unknown element type 99"});
  ExpectError(ParseGguf(RawBytes().Header(3, 0, 1).Key("k", ValueType::kBool).Put<uint8_t>(2).bytes()).status(),
              StatusCode::kCorrupt, {"bool value of key 'k' is 2"});
}

TEST(GgufBad, DuplicateKeysAndTensorNames) {
  RawBytes k;
  k.Header(3, 0, 2).Key("dup", ValueType::kU8).Put<uint8_t>(1).Key("dup", ValueType::kU8).Put<uint8_t>(2);
  ExpectError(ParseGguf(k.bytes()).status(), StatusCode::kCorrupt, {"duplicate metadata key 'dup'"});
  RawBytes t;
  t.Header(3, 2, 0).TensorInfo("w", {8}, 0, 0).TensorInfo("w", {8}, 0, 32).Pad(32).Bytes(std::vector<uint8_t>(64));
  ExpectError(ParseGguf(t.bytes()).status(), StatusCode::kCorrupt, {"duplicate tensor name 'w'"});
}

TEST(GgufBad, Alignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    RawBytes r;
    r.Header(3, 0, 1).Key("general.alignment", ValueType::kU32).Put(a);
    ExpectError(ParseGguf(r.bytes()).status(), StatusCode::kCorrupt,
                {StrCat("general.alignment = ", a), "power of two"});
  }
  RawBytes neg;
  neg.Header(3, 0, 1).Key("general.alignment", ValueType::kI32).Put<int32_t>(-32);
  EXPECT_EQ(ParseGguf(neg.bytes()).status().code(), StatusCode::kCorrupt);
  RawBytes str;
  str.Header(3, 0, 1).Key("general.alignment", ValueType::kString).Str("32");
  EXPECT_EQ(ParseGguf(str.bytes()).status().code(), StatusCode::kCorrupt);
  // A valid non-default alignment moves the data section.
  RawBytes ok;
  ok.Header(3, 1, 1).Key("general.alignment", ValueType::kU32).Put<uint32_t>(256).TensorInfo("w", {4}, 0, 0);
  ok.Pad(256).Bytes(std::vector<uint8_t>(16));
  auto f = ParseGguf(ok.bytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->data_offset(), 256u);
  EXPECT_EQ((*f)->tensors()[0].offset, 256u);
}

// One tensor info with the given ne/type/offset followed by `data_bytes` of data.
Result<std::shared_ptr<const GgufFile>> OneTensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type,
                                                  uint64_t offset, size_t data_bytes) {
  RawBytes r;
  r.Header(3, 1, 0).TensorInfo(name, ne, type, offset).Pad(32).Bytes(std::vector<uint8_t>(data_bytes));
  return ParseGguf(r.bytes(), "t.gguf");
}

TEST(GgufBad, TensorData) {
  ASSERT_TRUE(OneTensor("w", {8}, 0, 0, 32).ok());
  ExpectError(OneTensor("blk.3.attn_q.weight", {8}, 0, 32, 32).status(), StatusCode::kCorrupt,
              {"gguf: t.gguf: tensor 'blk.3.attn_q.weight' data [offset 32 + ", "32 bytes] ends past the file end",
               "truncated?"});
  ExpectError(OneTensor("w", {8}, 0, 0, 31).status(), StatusCode::kCorrupt, {"ends past the file end"});
  ExpectError(OneTensor("w", {8}, 0, ~uint64_t{0} - 31, 32).status(), StatusCode::kCorrupt,
              {"ends past the file end"});  // offset + size would wrap
  ExpectError(OneTensor("w", {8}, 0, 8, 64).status(), StatusCode::kCorrupt,
              {"offset 8 is not a multiple of the 32-byte alignment"});
  // Overlap.
  RawBytes r;
  r.Header(3, 2, 0).TensorInfo("a", {16}, 0, 0).TensorInfo("b", {8}, 0, 32).Pad(32).Bytes(std::vector<uint8_t>(64));
  ExpectError(ParseGguf(r.bytes()).status(), StatusCode::kCorrupt, {"'a'", "'b'", "overlap"});
  // Zero-sized tensors are fine anywhere inside the data section.
  EXPECT_TRUE(OneTensor("e", {0, 8}, 0, 0, 0).ok());
}

TEST(GgufBad, TensorDimensions) {
  ExpectError(OneTensor("w", {}, 0, 0, 32).status(), StatusCode::kCorrupt, {"tensor 'w' has n_dims 0"});
  ExpectError(OneTensor("w", {1, 1, 1, 1, 8}, 0, 0, 32).status(), StatusCode::kCorrupt, {"n_dims 5 (must be 1..4)"});
  ExpectError(OneTensor("w", {~uint64_t{0}}, 0, 0, 32).status(), StatusCode::kCorrupt, {"negative as int64"});
  ExpectError(OneTensor("w", {uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0, 32).status(), StatusCode::kCorrupt,
              {"overflow int64"});
  // Fits int64 elements, but not bytes.
  ExpectError(OneTensor("w", {uint64_t{1} << 31, uint64_t{1} << 31}, 0, 0, 32).status(), StatusCode::kCorrupt,
              {"byte size"});
  // Absurd but representable: caught by the file-size check.
  ExpectError(OneTensor("w", {1 << 20, 1 << 20}, 0, 0, 32).status(), StatusCode::kCorrupt, {"past the file end"});
  // q8_0 rows must be whole 32-element blocks.
  ExpectError(OneTensor("q", {16, 2}, 8, 0, 64).status(), StatusCode::kCorrupt,
              {"q8_0 rows of 16 elements are not a whole number of 32-element blocks"});
}

TEST(GgufBad, UnknownTensorType) {
  ExpectError(OneTensor("blk.0.ffn_up.weight", {256}, 11, 0, 256).status(), StatusCode::kUnsupported,
              {"tensor 'blk.0.ffn_up.weight' has GGML type id 11 (q3_K)", "hint"});
  ExpectError(OneTensor("w", {32}, 1000, 0, 256).status(), StatusCode::kUnsupported, {"type id 1000 (unknown)"});
}

}  // namespace
}  // namespace lm::gguf
