// GGUF writer -> reader round trips (v2 and v3): every metadata value type, nested arrays, typed getters,
// tensors of every dtype at the right aligned offsets, and views that outlive the file object.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <vector>

#include "core/quant.h"
#include "io/gguf_writer.h"
#include "io_test_helpers.h"
#include "test_util.h"

namespace lm::gguf {
namespace {

using test::ParseGguf;

Value Make(ValueType t) {
  Value v;
  v.type = t;
  return v;
}
Value U(ValueType t, uint64_t x) {
  Value v = Make(t);
  v.u = x;
  return v;
}
Value I(ValueType t, int64_t x) {
  Value v = Make(t);
  v.i = x;
  return v;
}
Value F(ValueType t, double x) {
  Value v = Make(t);
  v.f = x;
  return v;
}
Value Arr(ValueType elem, std::vector<Value> xs) {
  Value v = Make(ValueType::kArray);
  v.elem_type = elem;
  v.array = std::move(xs);
  return v;
}

// One key per scalar type at its extremes, plus arrays (empty, of strings, of arrays of arrays).
GgufWriter AllTypesWriter(uint32_t version) {
  GgufWriter w(version);
  w.SetValue("t.u8", U(ValueType::kU8, 255));
  w.SetValue("t.i8", I(ValueType::kI8, -128));
  w.SetValue("t.u16", U(ValueType::kU16, 65535));
  w.SetValue("t.i16", I(ValueType::kI16, -32768));
  w.SetU32("t.u32", 4294967295u);
  w.SetI32("t.i32", std::numeric_limits<int32_t>::min());
  w.SetU64("t.u64", std::numeric_limits<uint64_t>::max());
  w.SetValue("t.i64", I(ValueType::kI64, std::numeric_limits<int64_t>::min()));
  w.SetF32("t.f32", 0.1f);
  w.SetValue("t.f64", F(ValueType::kF64, 0.1));
  w.SetBool("t.bool", true);
  w.SetString("t.string", std::string("h\xC3\xA9llo\0world", 12));
  w.SetString("t.empty_string", "");
  w.SetStringArray("t.strings", {"a", "", "ccc"});
  w.SetF32Array("t.f32s", {1.5f, -2.25f});
  w.SetI32Array("t.i32s", {-1, 0, 7});
  w.SetValue("t.empty_array", Arr(ValueType::kU8, {}));
  Value inner1 = Arr(ValueType::kU16, {U(ValueType::kU16, 1), U(ValueType::kU16, 2)});
  Value inner2 = Arr(ValueType::kU16, {});
  Value mid = Arr(ValueType::kArray, {inner1, inner2});
  w.SetValue("t.nested", Arr(ValueType::kArray, {mid, Arr(ValueType::kArray, {})}));
  w.SetValue("t.bools", Arr(ValueType::kBool, {U(ValueType::kBool, 0), U(ValueType::kBool, 1)}));
  w.SetValue("t.u64s", Arr(ValueType::kU64, {U(ValueType::kU64, 1), U(ValueType::kU64, 1ull << 40)}));
  return w;
}

class GgufRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufRoundTrip, EveryValueType) {
  const std::vector<uint8_t> bytes = AllTypesWriter(GetParam()).Serialize();
  auto f = ParseGguf(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), GetParam());
  EXPECT_EQ(g.alignment(), 32u);
  ASSERT_EQ(g.metadata().size(), 20u);
  EXPECT_EQ(g.metadata()[0].first, "t.u8");  // insertion order kept
  EXPECT_EQ(g.metadata()[19].first, "t.u64s");

  EXPECT_EQ(*g.GetInt("t.u8"), 255);
  EXPECT_EQ(*g.GetInt("t.i8"), -128);
  EXPECT_EQ(*g.GetInt("t.u16"), 65535);
  EXPECT_EQ(*g.GetInt("t.i16"), -32768);
  EXPECT_EQ(*g.GetInt("t.u32"), 4294967295);
  EXPECT_EQ(*g.GetInt("t.i32"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(g.Find("t.u64")->u, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(g.GetInt("t.u64").status().code(), StatusCode::kOutOfRange);  // refused, not wrapped
  EXPECT_EQ(*g.GetInt("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*g.GetFloat("t.f32"), static_cast<double>(0.1f));
  EXPECT_EQ(*g.GetFloat("t.f64"), 0.1);
  EXPECT_EQ(*g.GetFloat("t.u8"), 255.0);
  EXPECT_TRUE(*g.GetBool("t.bool"));
  EXPECT_EQ(*g.GetString("t.string"), std::string("h\xC3\xA9llo\0world", 12));
  EXPECT_EQ(*g.GetString("t.empty_string"), "");
  EXPECT_EQ(*g.GetStringArray("t.strings"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(*g.GetFloatArray("t.f32s"), (std::vector<double>{1.5, -2.25}));
  EXPECT_EQ(*g.GetIntArray("t.i32s"), (std::vector<int64_t>{-1, 0, 7}));
  EXPECT_EQ(*g.GetFloatArray("t.i32s"), (std::vector<double>{-1, 0, 7}));
  EXPECT_TRUE(g.GetIntArray("t.empty_array")->empty());
  EXPECT_EQ(*g.GetIntArray("t.u64s"), (std::vector<int64_t>{1, int64_t{1} << 40}));

  const Value* nested = g.Find("t.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->elem_type, ValueType::kArray);
  ASSERT_EQ(nested->array.size(), 2u);
  const Value& mid = nested->array[0];
  ASSERT_EQ(mid.elem_type, ValueType::kArray);
  ASSERT_EQ(mid.array.size(), 2u);
  EXPECT_EQ(mid.array[0].elem_type, ValueType::kU16);
  ASSERT_EQ(mid.array[0].array.size(), 2u);
  EXPECT_EQ(mid.array[0].array[1].u, 2u);
  EXPECT_TRUE(mid.array[1].array.empty());
  EXPECT_TRUE(nested->array[1].array.empty());
  const Value* bools = g.Find("t.bools");
  ASSERT_NE(bools, nullptr);
  EXPECT_EQ(bools->array[1].u, 1u);

  // Re-serialising what was read gives the same bytes.
  GgufWriter again(GetParam());
  for (const auto& [k, v] : g.metadata()) again.SetValue(k, v);
  EXPECT_EQ(again.Serialize(), bytes);
}

TEST_P(GgufRoundTrip, TensorsOfEveryDtype) {
  GgufWriter w(GetParam(), 64);
  std::vector<std::vector<uint8_t>> payloads;
  const DType types[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                         DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kI8,
                         DType::kI16,  DType::kI32,  DType::kI64,  DType::kF64};
  int k = 0;
  for (DType t : types) {
    const Shape shape = {3, 2, Info(t).block_elems * 2};
    std::vector<uint8_t> data(*BytesFor(t, 3 * 2 * Info(t).block_elems * 2));
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + k);
    w.AddTensor(StrCat("t", k++, ".", Name(t)), t, shape, data.data());
    payloads.push_back(std::move(data));
  }
  w.AddTensor("one_dim", DType::kF32, {5}, std::vector<float>{1, 2, 3, 4, 5}.data());
  w.AddTensor("four_dim", DType::kF32, {1, 2, 1, 3}, std::vector<float>(6, 0.5f).data());
  w.AddTensor("empty", DType::kF32, {0, 4}, nullptr);

  std::shared_ptr<const GgufFile> g;
  {
    auto f = ParseGguf(w.Serialize());
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    g = *f;
  }
  EXPECT_EQ(g->alignment(), 64u);
  EXPECT_EQ(*g->GetInt("general.alignment"), 64);  // recorded because it is not the default
  EXPECT_EQ(g->data_offset() % 64, 0u);
  ASSERT_EQ(g->tensors().size(), std::size(types) + 3);
  Tensor view;
  for (size_t i = 0; i < std::size(types); ++i) {
    const TensorInfo& ti = g->tensors()[i];
    EXPECT_EQ(ti.dtype, types[i]);
    EXPECT_EQ(ti.shape, (Shape{3, 2, Info(types[i]).block_elems * 2}));
    EXPECT_EQ(ti.offset % 64, 0u);
    ASSERT_EQ(ti.nbytes, payloads[i].size());
    const Tensor t = g->View(ti);
    EXPECT_EQ(std::memcmp(t.raw(), payloads[i].data(), ti.nbytes), 0) << ti.name;
    if (i == 0) view = t;
  }
  EXPECT_EQ(g->FindTensor("one_dim")->shape, Shape{5});
  EXPECT_EQ(g->FindTensor("four_dim")->shape, (Shape{1, 2, 1, 3}));
  EXPECT_EQ(g->FindTensor("empty")->nbytes, 0u);
  EXPECT_EQ(g->View(*g->FindTensor("one_dim")).data<float>()[4], 5.0f);
  EXPECT_EQ(g->FindTensor("nope"), nullptr);
  // The view keeps the bytes alive after the file object is gone.
  g.reset();
  EXPECT_EQ(view.data<uint8_t>()[1], 7);
}

INSTANTIATE_TEST_SUITE_P(Versions, GgufRoundTrip, ::testing::Values(2u, 3u));

TEST(GgufGetters, ErrorsNameKeyAndTypes) {
  GgufWriter w;
  w.SetF32("x.f", 1.0f);
  w.SetString("x.s", "s");
  w.SetStringArray("x.sa", {"a"});
  auto f = ParseGguf(w.Serialize(), "getters.gguf");
  ASSERT_TRUE(f.ok());
  const GgufFile& g = **f;
  const Status missing = g.GetString("x.nope").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("'x.nope'"), std::string::npos);
  const Status mistyped = g.GetString("x.f").status();
  EXPECT_EQ(mistyped.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mistyped.message(), "gguf: getters.gguf: key 'x.f' is f32, expected string");
  EXPECT_EQ(g.GetInt("x.f").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.GetBool("x.s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.GetFloatArray("x.sa").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.GetIntArray("x.sa").status().message().find("array<string>"), std::string::npos);
  EXPECT_EQ(g.GetStringArray("x.s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(g.Has("x.s"));
  EXPECT_FALSE(g.Has("x"));
}

TEST(GgufWriter, SetTwiceReplacesInPlace) {
  GgufWriter w;
  w.SetU32("a", 1);
  w.SetU32("b", 2);
  w.SetString("a", "again");
  auto f = ParseGguf(w.Serialize());
  ASSERT_TRUE(f.ok());
  ASSERT_EQ((*f)->metadata().size(), 2u);
  EXPECT_EQ((*f)->metadata()[0].first, "a");
  EXPECT_EQ(*(*f)->GetString("a"), "again");
}

TEST(GgufWriter, WriteFileThenOpen) {
  test::TempFile tmp("io-gguf-write");
  GgufWriter w(3);
  w.SetString("general.architecture", "llama");
  const float x[32] = {1.0f};
  w.AddTensor("w", DType::kF32, {32}, x);
  ASSERT_TRUE(w.WriteFile(tmp.path()).ok());
  auto f = GgufFile::Open(tmp.path());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->path(), tmp.path());
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ((*f)->View((*f)->tensors()[0]).data<float>()[0], 1.0f);
  EXPECT_EQ(w.WriteFile("/nonexistent-dir/x.gguf").code(), StatusCode::kIoError);
}

// A lazily filled tensor writes the same file as an eager one; a failing fill leaves the old file in place.
TEST(GgufWriter, LazyTensorsStreamAndFailAtomically) {
  test::TempFile tmp("io-gguf-lazy");
  std::vector<float> x(96);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i);
  GgufWriter eager(3, 64), lazy(3, 64);
  eager.AddTensor("a", DType::kF32, {3, 32}, x.data());
  eager.AddTensor("b", DType::kF32, {5}, x.data());
  lazy.AddTensorLazy("a", DType::kF32, {3, 32}, [&](uint8_t* dst, uint64_t n) {
    EXPECT_EQ(n, 96u * sizeof(float));
    std::memcpy(dst, x.data(), n);
    return OkStatus();
  });
  lazy.AddTensor("b", DType::kF32, {5}, x.data());
  ASSERT_TRUE(lazy.WriteFile(tmp.path()).ok());
  std::ifstream in(tmp.path(), std::ios::binary);
  const std::vector<uint8_t> written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, eager.Serialize());
  EXPECT_EQ(lazy.Serialize(), eager.Serialize());

  GgufWriter failing;
  failing.AddTensorLazy("bad", DType::kF32, {32}, [](uint8_t*, uint64_t) { return Corrupt("source went away"); });
  const Status s = failing.WriteFile(tmp.path());
  EXPECT_EQ(s.code(), StatusCode::kCorrupt);
  EXPECT_NE(s.message().find("tensor 'bad': source went away"), std::string::npos) << s.message();
  std::ifstream again(tmp.path(), std::ios::binary);
  const std::vector<uint8_t> kept((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, written);  // the earlier file is untouched, and no temp file is left beside it
  const auto dir = std::filesystem::path(tmp.path()).parent_path();
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().string().find(tmp.path() + ".tmp."), std::string::npos) << e.path();
}

TEST(GgufValue, DebugString) {
  GgufWriter w;
  w.SetI32Array("ids", {1, 2, 3, 4, 5});
  w.SetString("s", "hi");
  w.SetBool("b", false);
  auto f = ParseGguf(w.Serialize());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Find("ids")->DebugString(2), "[1, 2, ... (5 items)]");
  EXPECT_EQ((*f)->Find("s")->DebugString(), "\"hi\"");
  EXPECT_EQ((*f)->Find("b")->DebugString(), "false");
  EXPECT_EQ(ValueTypeName(ValueType::kF64), "f64");
}

}  // namespace
}  // namespace lm::gguf
