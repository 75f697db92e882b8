// Memory bank file tests: bit-exact round trip, every truncation, every flipped byte, version and geometry checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("lm_membank_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<char> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const char* data, size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(n));
}

// A bank that has evicted (so the counts are not trivial), filled with normal data.
std::unique_ptr<MemoryBank> FilledBank(const MemoryBankConfig& c, int n_adds, int64_t tokens_per_add, uint32_t seed) {
  auto bank = MemoryBank::Create(c);
  EXPECT_TRUE(bank.ok()) << bank.status().ToString();
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> k(tokens_per_add * c.n_head_kv * c.head_dim), v(k.size());
  for (int i = 0; i < n_adds; ++i) {
    for (float& x : k) x = dist(rng);
    for (float& x : v) x = dist(rng);
    EXPECT_TRUE((*bank)->Add(k.data(), v.data(), tokens_per_add).ok());
  }
  return std::move(*bank);
}

void ExpectSameBank(const MemoryBank& a, const MemoryBank& b) {
  ASSERT_EQ(a.n_chunks(), b.n_chunks());
  EXPECT_EQ(a.tokens_written(), b.tokens_written());
  EXPECT_EQ(a.chunks_evicted(), b.chunks_evicted());
  const MemoryBankConfig& c = a.config();
  const size_t token_bytes = static_cast<size_t>(a.n_tokens() * c.head_dim) * sizeof(float);
  for (int64_t g = 0; g < c.n_head_kv; ++g) {
    EXPECT_EQ(std::memcmp(a.keys() + g * a.kv_stride(), b.keys() + g * b.kv_stride(), token_bytes), 0);
    EXPECT_EQ(std::memcmp(a.values() + g * a.kv_stride(), b.values() + g * b.kv_stride(), token_bytes), 0);
    EXPECT_EQ(std::memcmp(a.chunk_keys(g), b.chunk_keys(g), static_cast<size_t>(a.n_chunks() * c.head_dim) * 4), 0);
  }
}

TEST(MemoryBankFile, RoundTripIsBitExact) {
  const MemoryBankConfig c{
      .n_head_kv = 3, .head_dim = 16, .chunk_size = 4, .capacity_tokens = 256, .eviction = EvictionRule::kExact};
  auto bank = FilledBank(c, 5, 60, 1);
  ASSERT_GT(bank->chunks_evicted(), 0);
  const std::string path = TempPath("roundtrip.lmbank");
  ASSERT_TRUE(bank->Save(path).ok());
  auto loaded = MemoryBank::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameBank(*bank, **loaded);
  EXPECT_EQ((*loaded)->config().eviction, EvictionRule::kExact);
  // Header + trailer + K, V and chunk keys of what is stored (not the whole capacity).
  EXPECT_EQ(std::filesystem::file_size(path), 136 + 8 + 3u * (2 * bank->n_tokens() + bank->n_chunks()) * 16 * 4);

  // Same answers to the same queries, and the loaded bank keeps working (evicts the same way).
  std::vector<float> q(2 * 6 * 16, 0.25f);
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.1f * static_cast<float>(i));
  std::vector<int32_t> sa, sb;
  int64_t ka = 0, kb = 0;
  ASSERT_TRUE(bank->Retrieve(q.data(), 2, 6, 8, &sa, &ka).ok());
  ASSERT_TRUE((*loaded)->Retrieve(q.data(), 2, 6, 8, &sb, &kb).ok());
  EXPECT_EQ(sa, sb);
  EXPECT_EQ(ka, kb);

  // Saving again gives the same bytes.
  const std::string path2 = TempPath("roundtrip2.lmbank");
  ASSERT_TRUE((*loaded)->Save(path2).ok());
  EXPECT_EQ(ReadAll(path), ReadAll(path2));

  // An empty bank round-trips too.
  bank->Reset();
  ASSERT_TRUE(bank->Save(path).ok());
  loaded = MemoryBank::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->n_chunks(), 0);
  std::filesystem::remove(path);
  std::filesystem::remove(path2);
}

TEST(MemoryBankFile, EveryTruncationAndEveryFlippedByteFails) {
  const MemoryBankConfig c{.n_head_kv = 1, .head_dim = 2, .chunk_size = 2, .capacity_tokens = 16};
  auto bank = FilledBank(c, 1, 6, 2);  // 3 chunks: 144 + 2 * 6 * 2 * 4 + 3 * 2 * 4 = 264 bytes
  const std::string path = TempPath("small.lmbank"), bad = TempPath("bad.lmbank");
  ASSERT_TRUE(bank->Save(path).ok());
  const std::vector<char> bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), 264u);
  for (size_t n = 0; n < bytes.size(); ++n) {
    WriteAll(bad, bytes.data(), n);
    auto r = MemoryBank::Load(bad);
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes loaded";
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << r.status().ToString();
    if (n >= 8) {
      EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
    }
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<char> flipped = bytes;
    flipped[i] ^= 0x10;
    WriteAll(bad, flipped.data(), flipped.size());
    auto r = MemoryBank::Load(bad);
    ASSERT_FALSE(r.ok()) << "byte " << i << " flipped still loads";
    // Data and trailer bytes can only be caught by the checksum.
    if (i >= 136) {
      EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << i << ": " << r.status().message();
    }
  }
  // A version from the future is named as such.
  std::vector<char> v2 = bytes;
  v2[8] = 2;
  WriteAll(bad, v2.data(), v2.size());
  auto r = MemoryBank::Load(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("version 2"), std::string::npos) << r.status().message();
  // Not a bank at all; a missing file.
  WriteAll(bad, "GGUF\3\0\0\0", 8);
  EXPECT_NE(MemoryBank::Load(bad).status().message().find("not a memory bank"), std::string::npos);
  EXPECT_EQ(MemoryBank::Load(TempPath("missing.lmbank")).status().code(), StatusCode::kNotFound);
  std::filesystem::remove(path);
  std::filesystem::remove(bad);
}

TEST(MemoryBankFile, ExpectedGeometryIsChecked) {
  const MemoryBankConfig c{.n_head_kv = 2, .head_dim = 8, .chunk_size = 4, .capacity_tokens = 64};
  auto bank = FilledBank(c, 2, 12, 3);
  const std::string path = TempPath("geometry.lmbank");
  ASSERT_TRUE(bank->Save(path).ok());
  MemoryBankConfig other = c;
  other.head_dim = 16;
  auto r = MemoryBank::Load(path, other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("head_dim 8"), std::string::npos) << r.status().message();
  // Same geometry, other eviction rule: the caller's settings win.
  MemoryBankConfig same = c;
  same.eviction = EvictionRule::kExact;
  r = MemoryBank::Load(path, same);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->config().eviction, EvictionRule::kExact);
  ExpectSameBank(*bank, **r);
  // Saving into a directory that does not exist is an I/O error, and leaves nothing behind.
  EXPECT_EQ(bank->Save(TempPath("no_such_dir/x.lmbank")).code(), StatusCode::kIoError);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace lm::membank
