// safetensors reader: single images of every dtype, __metadata__, sharded sets via the index, HF folders,
// and bad headers (lengths, JSON, dtypes, offsets, duplicates, truncation at every byte).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/half.h"
#include "io_test_helpers.h"
#include "test_util.h"

namespace lm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::ParseSt;

// header length | JSON | data
std::vector<uint8_t> Image(const json& header, const std::vector<uint8_t>& data) {
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');  // writers pad with spaces; readers must accept it
  test::RawBytes r;
  r.Put<uint64_t>(h.size()).Bytes(std::vector<uint8_t>(h.begin(), h.end())).Bytes(data);
  return r.bytes();
}

template <class T>
void Append(std::vector<uint8_t>* data, const std::vector<T>& xs) {
  const auto* p = reinterpret_cast<const uint8_t*>(xs.data());
  data->insert(data->end(), p, p + xs.size() * sizeof(T));
}

// Two f32 tensors and metadata; used by most tests.
std::vector<uint8_t> SmallImage() {
  std::vector<uint8_t> data;
  Append<float>(&data, {1, 2, 3, 4, 5, 6});
  Append<float>(&data, {7, 8});
  json h = {{"__metadata__", {{"format", "pt"}}},
            {"w", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}}},
            {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {24, 32}}}}};
  return Image(h, data);
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}
void WriteText(const std::string& path, const std::string& s) { std::ofstream(path) << s; }

class TempDir {
 public:
  explicit TempDir(const std::string& stem) : path_(test::TempFile(stem).path()) { fs::create_directories(path_); }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void ExpectError(const Status& s, StatusCode code, std::initializer_list<std::string> fragments) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  for (const std::string& f : fragments) EXPECT_NE(s.message().find(f), std::string::npos) << s.ToString();
}

TEST(Safetensors, EveryDtypeAndMetadata) {
  std::vector<uint8_t> data;
  json h = json::object();
  auto add = [&](const std::string& name, const std::string& dtype, json shape, size_t nbytes) {
    h[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + nbytes}}};
    for (size_t i = 0; i < nbytes; ++i) data.push_back(static_cast<uint8_t>(i + 1));
  };
  add("f32", "F32", {2, 2}, 16);
  add("f16", "F16", {3}, 6);
  add("bf16", "BF16", {1, 1, 2}, 4);
  add("f64", "F64", {1}, 8);
  add("i8", "I8", {5}, 5);
  add("i16", "I16", {2}, 4);
  add("i32", "I32", {1}, 4);
  add("i64", "I64", {1}, 8);
  add("scalar", "F32", json::array(), 4);
  add("empty", "F32", {0, 7}, 0);
  h["__metadata__"] = {{"a", "1"}, {"b", "two"}};
  auto s = ParseSt(Image(h, data));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->tensors().size(), 10u);
  EXPECT_EQ((*s)->metadata().at("b"), "two");
  EXPECT_EQ((*s)->Find("f16")->dtype, DType::kF16);
  EXPECT_EQ((*s)->Find("bf16")->shape, (Shape{1, 1, 2}));
  EXPECT_EQ((*s)->Find("i64")->dtype, DType::kI64);
  EXPECT_EQ((*s)->Find("scalar")->shape, Shape{1});
  EXPECT_EQ((*s)->Find("empty")->nbytes, 0u);
  EXPECT_EQ((*s)->Find("missing"), nullptr);
  const Tensor t = (*s)->View(*(*s)->Find("i8"));
  EXPECT_EQ(t.data<uint8_t>()[4], 5);
  EXPECT_EQ(t.shape(), Shape{5});
  // Tensors come in data order.
  EXPECT_EQ((*s)->tensors()[0].name, "f32");
}

TEST(Safetensors, OpenFileFolderIndexAndShards) {
  TempDir dir("io-st");
  WriteBytes(dir / "model.safetensors", SmallImage());
  for (const std::string& p : {dir / "model.safetensors", dir.path()}) {
    auto s = SafetensorsSet::Open(p);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->View(*(*s)->Find("b")).data<float>()[1], 8.0f);
    EXPECT_EQ((*s)->metadata().at("format"), "pt");
  }
  // Sharded: the index takes precedence over model.safetensors in a folder.
  std::vector<uint8_t> d2;
  Append<uint16_t>(&d2, {F32ToF16(0.5f), F32ToF16(-1.0f)});
  WriteBytes(dir / "model-00002-of-00002.safetensors",
             Image({{"lm_head", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}}}, d2));
  WriteBytes(dir / "model-00001-of-00002.safetensors", SmallImage());
  json index = {{"metadata", {{"total_size", 36}}},
                {"weight_map",
                 {{"lm_head", "model-00002-of-00002.safetensors"},
                  {"w", "model-00001-of-00002.safetensors"},
                  {"b", "model-00001-of-00002.safetensors"}}}};
  WriteText(dir / "model.safetensors.index.json", index.dump());
  for (const std::string& p : {dir.path(), dir / "model.safetensors.index.json"}) {
    auto s = SafetensorsSet::Open(p);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ((*s)->tensors().size(), 3u);
    EXPECT_EQ((*s)->Find("w")->shard, 0);
    EXPECT_EQ((*s)->Find("lm_head")->shard, 1);
    EXPECT_EQ(F16ToF32((*s)->View(*(*s)->Find("lm_head")).data<uint16_t>()[1]), -1.0f);
    EXPECT_EQ((*s)->View(*(*s)->Find("w")).data<float>()[5], 6.0f);
  }
  // Index naming a tensor its shard lacks.
  index["weight_map"]["ghost"] = "model-00002-of-00002.safetensors";
  WriteText(dir / "model.safetensors.index.json", index.dump());
  ExpectError(SafetensorsSet::Open(dir.path()).status(), StatusCode::kCorrupt, {"'ghost'", "no such tensor"});
  // Index naming a shard that is not there.
  index["weight_map"]["ghost"] = "model-00003-of-00002.safetensors";
  WriteText(dir / "model.safetensors.index.json", index.dump());
  EXPECT_EQ(SafetensorsSet::Open(dir.path()).status().code(), StatusCode::kNotFound);
  // Shard path escaping the folder.
  index["weight_map"]["ghost"] = "../elsewhere.safetensors";
  WriteText(dir / "model.safetensors.index.json", index.dump());
  ExpectError(SafetensorsSet::Open(dir.path()).status(), StatusCode::kCorrupt, {"leaves the model folder"});
  // The same tensor in two shards.
  index["weight_map"].erase("ghost");
  WriteBytes(dir / "model-00002-of-00002.safetensors",
             Image({{"lm_head", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}},
                    {"w", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {4, 8}}}}},
                   std::vector<uint8_t>(8)));
  WriteText(dir / "model.safetensors.index.json", index.dump());
  ExpectError(SafetensorsSet::Open(dir.path()).status(), StatusCode::kCorrupt, {"appears twice"});
  WriteText(dir / "model.safetensors.index.json", "{\"weight_map\": 3}");
  ExpectError(SafetensorsSet::Open(dir.path()).status(), StatusCode::kCorrupt, {"weight_map"});
}

TEST(Safetensors, MissingPaths) {
  EXPECT_EQ(SafetensorsSet::Open("/nonexistent/model.safetensors").status().code(), StatusCode::kNotFound);
  TempDir empty("io-st-empty");
  ExpectError(SafetensorsSet::Open(empty.path()).status(), StatusCode::kNotFound, {"model.safetensors"});
}

TEST(Safetensors, BadHeaders) {
  ExpectError(ParseSt({1, 2, 3}).status(), StatusCode::kCorrupt, {"too short"});
  ExpectError(ParseSt(test::RawBytes().Put<uint64_t>(1000).Bytes({'{', '}'}).bytes()).status(), StatusCode::kCorrupt,
              {"header length 1000 exceeds the 2 bytes"});
  ExpectError(ParseSt(test::RawBytes().Put<uint64_t>(uint64_t{1} << 40).bytes()).status(), StatusCode::kCorrupt,
              {"exceeds the 104857600-byte cap"});
  const std::string bad = "{\"w\": [";
  ExpectError(ParseSt(test::RawBytes().Put<uint64_t>(bad.size()).Bytes({bad.begin(), bad.end()}).bytes()).status(),
              StatusCode::kCorrupt, {"not valid JSON"});
  const std::string dup = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                              "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
  ExpectError(ParseSt(test::RawBytes().Put<uint64_t>(dup.size()).Bytes({dup.begin(), dup.end()}).Put<float>(1).bytes())
                  .status(),
              StatusCode::kCorrupt, {"duplicate key 'w'"});
  std::string deep(200, '[');
  ExpectError(ParseSt(test::RawBytes().Put<uint64_t>(deep.size()).Bytes({deep.begin(), deep.end()}).bytes()).status(),
              StatusCode::kCorrupt, {"nesting deeper"});
  ExpectError(ParseSt(Image(json::array({1}), {})).status(), StatusCode::kCorrupt, {"not a JSON object"});

  const std::vector<uint8_t> data(16);
  auto one = [&](const json& entry) { return ParseSt(Image({{"t", entry}}, data), "x.safetensors").status(); };
  ExpectError(one({{"dtype", "U8"}, {"shape", {1}}, {"data_offsets", {0, 1}}}), StatusCode::kUnsupported,
              {"tensor 't' has dtype U8"});
  ExpectError(one({{"dtype", "F8_E4M3"}, {"shape", {1}}, {"data_offsets", {0, 1}}}), StatusCode::kUnsupported,
              {"F8_E4M3"});
  ExpectError(one({{"shape", {1}}, {"data_offsets", {0, 4}}}), StatusCode::kCorrupt, {"dtype"});
  ExpectError(one({{"dtype", "F32"}, {"data_offsets", {0, 4}}}), StatusCode::kCorrupt, {"shape"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {1}}}), StatusCode::kCorrupt, {"data_offsets"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, -4}}}), StatusCode::kCorrupt,
              {"data_offsets"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 4}}}), StatusCode::kCorrupt,
              {"negative dimension"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {8, 4}}}), StatusCode::kCorrupt,
              {"outside the 16-byte data section"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {8}}, {"data_offsets", {0, 32}}}), StatusCode::kCorrupt,
              {"safetensors: x.safetensors: tensor 't' data_offsets [0, 32] fall outside", "truncated?"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 12}}}), StatusCode::kCorrupt,
              {"span 12 bytes but [2] F32 needs 8"});
  ExpectError(one({{"dtype", "F32"}, {"shape", {uint64_t{1} << 40, uint64_t{1} << 40}}, {"data_offsets", {0, 4}}}),
              StatusCode::kCorrupt, {"overflows"});
  ExpectError(one("not an object"), StatusCode::kCorrupt, {"not an object"});
  ExpectError(ParseSt(Image({{"__metadata__", {{"k", 1}}}}, {})).status(), StatusCode::kCorrupt,
              {"__metadata__ value of 'k' is not a string"});
  json overlap = {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                  {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}};
  ExpectError(ParseSt(Image(overlap, data)).status(), StatusCode::kCorrupt, {"overlap"});
}

TEST(Safetensors, TruncatedAtEveryByte) {
  const std::vector<uint8_t> full = SmallImage();
  ASSERT_TRUE(ParseSt(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    auto s = ParseSt(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    ASSERT_FALSE(s.ok()) << "prefix of " << n << " bytes parsed";
  }
}

TEST(HfModelDir, ConfigWeightsTokenizer) {
  TempDir dir("io-hf");
  ExpectError(OpenHfModelDir(dir.path()).status(), StatusCode::kNotFound, {"config.json"});
  EXPECT_EQ(OpenHfModelDir(dir / "nope").status().code(), StatusCode::kNotFound);
  WriteText(dir / "config.json", R"({"hidden_size": 576, "model_type": "llama")");
  ExpectError(OpenHfModelDir(dir.path()).status(), StatusCode::kCorrupt, {"config.json", "not valid JSON"});
  WriteText(dir / "config.json", R"({"hidden_size": 576, "model_type": "llama"})");
  EXPECT_EQ(OpenHfModelDir(dir.path()).status().code(), StatusCode::kNotFound);  // no weights yet
  WriteBytes(dir / "model.safetensors", SmallImage());
  auto m = OpenHfModelDir(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m->config)["hidden_size"], 576);
  EXPECT_EQ(m->weights->tensors().size(), 2u);
  EXPECT_TRUE(m->tokenizer_json_path.empty());
  WriteText(dir / "tokenizer.json", "{}");
  EXPECT_EQ(OpenHfModelDir(dir.path())->tokenizer_json_path, dir / "tokenizer.json");
}

}  // namespace
}  // namespace lm
