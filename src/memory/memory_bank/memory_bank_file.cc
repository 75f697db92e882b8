// MemoryBank::Save / Load: the bank file, written atomically and verified (magic, version, size, checksum).
//
// Byte layout, version 1, little-endian:
//   offset  size  field
//        0     8  magic "LMBANK\0\0"
//        8     4  u32 version = 1
//       12     4  u32 reserved = 0
//       16   8*12 i64 config: n_head_kv, head_dim, chunk_size, capacity_tokens, eviction, index, faiss_nlist,
//                 faiss_nprobe, faiss_train_chunks, hnsw_m, hnsw_ef_construction, hnsw_ef_search
//      112   8*3  i64 counts: n_chunks, tokens_written, chunks_evicted
//      136        f32 token keys   [Hkv, n_tokens, D]   (each head's stored prefix, oldest first)
//                 f32 token values [Hkv, n_tokens, D]
//                 f32 chunk keys   [Hkv, n_chunks, D]
//      end-8   8  u64 FNV-1a 64 of every byte before it
// The faiss indexes are not stored: Load rebuilds them from the chunk keys (IVF retrains on the stored chunks).
#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/str.h"
#include "io/atomic_file.h"
#include "io/mmap_file.h"
#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the bank file is little-endian and written by memcpy");

constexpr char kMagic[8] = {'L', 'M', 'B', 'A', 'N', 'K', 0, 0};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 136, kTrailerBytes = 8;

// FNV-1a 64: no dependency and catches any single flipped byte; ~1 GB/s, so a 512 MiB bank costs ~0.5 s.
class Fnv1a64 {
 public:
  void Update(const void* data, uint64_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    uint64_t h = h_;
    for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    h_ = h;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

template <class T>
void Put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <class T>
T Get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::string Hex(uint64_t v) { return StrCat("0x", std::hex, v); }

}  // namespace

Status MemoryBank::Save(const std::string& path) const {
  const MemoryBankConfig& c = config_;
  std::string header(kMagic, sizeof(kMagic));
  Put<uint32_t>(&header, kVersion);
  Put<uint32_t>(&header, 0);
  for (int64_t v : {c.n_head_kv, c.head_dim, c.chunk_size, c.capacity_tokens, static_cast<int64_t>(c.eviction),
                    static_cast<int64_t>(c.index), c.faiss_nlist, c.faiss_nprobe, c.faiss_train_chunks, c.hnsw_m,
                    c.hnsw_ef_construction, c.hnsw_ef_search, n_chunks_, tokens_written_, chunks_evicted_})
    Put<int64_t>(&header, v);
  LM_CHECK(header.size() == kHeaderBytes, "memory_bank: header is ", header.size(), " bytes");

  // Views straight into the bank's buffers: no copy of the data, however large.
  std::vector<std::string_view> parts{header};
  const auto as_view = [](const float* p, int64_t n) {
    return std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n) * sizeof(float));
  };
  const int64_t D = c.head_dim;
  for (int64_t g = 0; g < c.n_head_kv; ++g) parts.push_back(as_view(keys() + g * kv_stride(), n_tokens() * D));
  for (int64_t g = 0; g < c.n_head_kv; ++g) parts.push_back(as_view(values() + g * kv_stride(), n_tokens() * D));
  for (int64_t g = 0; g < c.n_head_kv; ++g) parts.push_back(as_view(chunk_keys(g), n_chunks_ * D));
  Fnv1a64 sum;
  for (std::string_view part : parts) sum.Update(part.data(), part.size());
  std::string trailer;
  Put<uint64_t>(&trailer, sum.value());
  parts.push_back(trailer);
  return io::WriteFileAtomic(path, parts);
}

Result<std::unique_ptr<MemoryBank>> MemoryBank::Load(const std::string& path) { return LoadImpl(path, nullptr); }

Result<std::unique_ptr<MemoryBank>> MemoryBank::Load(const std::string& path, const MemoryBankConfig& expected) {
  return LoadImpl(path, &expected);
}

Result<std::unique_ptr<MemoryBank>> MemoryBank::LoadImpl(const std::string& path, const MemoryBankConfig* expected) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const uint8_t* data = (*file)->data();
  const uint64_t size = (*file)->size();
  const std::string where = StrCat("memory_bank: '", path, "'");

  if (std::memcmp(data, kMagic, std::min<uint64_t>(size, sizeof(kMagic))) != 0)
    return Corrupt(StrCat(where, " is not a memory bank file (no \"LMBANK\" magic); hint: wrong path?"));
  if (size < kHeaderBytes + kTrailerBytes)
    return Corrupt(StrCat(where, " is truncated: ", size, " bytes, but a bank file has at least ",
                          kHeaderBytes + kTrailerBytes, "; hint: the write was cut short, save the bank again"));
  const auto version = Get<uint32_t>(data + 8);
  if (version != kVersion)
    return Unsupported(StrCat(where, " has format version ", version, "; this build reads version ", kVersion,
                              "; hint: save it again with this build"));

  MemoryBankConfig c;
  int64_t fields[15];
  for (int i = 0; i < 15; ++i) fields[i] = Get<int64_t>(data + 16 + 8 * i);
  c.n_head_kv = fields[0];
  c.head_dim = fields[1];
  c.chunk_size = fields[2];
  c.capacity_tokens = fields[3];
  c.eviction = static_cast<EvictionRule>(fields[4]);
  c.index = static_cast<IndexKind>(fields[5]);
  c.faiss_nlist = fields[6];
  c.faiss_nprobe = fields[7];
  c.faiss_train_chunks = fields[8];
  c.hnsw_m = fields[9];
  c.hnsw_ef_construction = fields[10];
  c.hnsw_ef_search = fields[11];
  const int64_t n_chunks = fields[12], tokens_written = fields[13], chunks_evicted = fields[14];

  // The size the header implies (0 when its numbers are absurd), then the checksum over everything; a size
  // mismatch is reported first because "truncated" is the likelier and more useful diagnosis.
  uint64_t implied = 0;
  const bool sane = c.n_head_kv > 0 && c.head_dim > 0 && c.chunk_size > 0 && n_chunks >= 0 &&
                    static_cast<double>(c.n_head_kv) * static_cast<double>(n_chunks) * static_cast<double>(c.head_dim) *
                            (2.0 * static_cast<double>(c.chunk_size) + 1.0) <
                        0x1p58;
  if (sane)
    implied = kHeaderBytes + kTrailerBytes +
              static_cast<uint64_t>(c.n_head_kv * n_chunks * c.head_dim) * (2 * c.chunk_size + 1) * sizeof(float);
  Fnv1a64 sum;
  sum.Update(data, size - kTrailerBytes);
  const uint64_t stored_sum = Get<uint64_t>(data + size - kTrailerBytes);
  const bool sum_ok = stored_sum == sum.value();
  if (implied != size)
    return Corrupt(StrCat(where, " is truncated or corrupt: ", size, " bytes, but its header implies ",
                          sane ? StrCat(implied) : std::string("nonsense sizes"),
                          sum_ok ? "" : " (and the checksum does not match)",
                          "; hint: the write was cut short or the file was damaged, save the bank again"));
  if (!sum_ok)
    return Corrupt(StrCat(where, " fails its checksum: stored ", Hex(stored_sum), ", computed ", Hex(sum.value()),
                          "; hint: the file was modified or damaged, save the bank again"));

  // The bytes are as written; what remains are files from a buggy writer.
  if (Status s = ValidateConfig(c); !s.ok()) return Corrupt(StrCat(where, " holds an invalid config: ", s.message()));
  if (n_chunks > c.capacity_chunks() || tokens_written < n_chunks * c.chunk_size ||
      tokens_written % c.chunk_size != 0 || chunks_evicted < 0)
    return Corrupt(StrCat(where, " holds inconsistent counts: n_chunks ", n_chunks, " (capacity ", c.capacity_chunks(),
                          "), tokens_written ", tokens_written, ", chunks_evicted ", chunks_evicted,
                          "; hint: the writer was buggy, rebuild the bank"));
  if (expected != nullptr) {
    const MemoryBankConfig& e = *expected;
    if (e.n_head_kv != c.n_head_kv || e.head_dim != c.head_dim || e.chunk_size != c.chunk_size ||
        e.capacity_tokens != c.capacity_tokens)
      return InvalidArgument(StrCat(where, " holds n_head_kv ", c.n_head_kv, ", head_dim ", c.head_dim, ", chunk_size ",
                                    c.chunk_size, ", capacity_tokens ", c.capacity_tokens, "; expected ", e.n_head_kv,
                                    ", ", e.head_dim, ", ", e.chunk_size, ", ", e.capacity_tokens,
                                    "; hint: the bank was saved for another model, layer or memory setting"));
    c = e;  // same geometry; eviction and index settings come from the caller
  }

  auto bank = Create(c);
  if (!bank.ok()) return bank.status();
  MemoryBank& b = **bank;
  const int64_t D = c.head_dim, n_tokens = n_chunks * c.chunk_size;
  const uint8_t* p = data + kHeaderBytes;
  auto copy = [&](float* dst, int64_t n) {
    std::memcpy(dst, p, static_cast<size_t>(n) * sizeof(float));
    p += n * static_cast<int64_t>(sizeof(float));
  };
  for (int64_t g = 0; g < c.n_head_kv; ++g) copy(b.head_keys(g), n_tokens * D);
  for (int64_t g = 0; g < c.n_head_kv; ++g) copy(b.head_values(g), n_tokens * D);
  for (int64_t g = 0; g < c.n_head_kv; ++g) copy(b.head_chunk_keys(g), n_chunks * D);
  LM_CHECK(p == data + size - kTrailerBytes, "memory_bank: load consumed ", p - data, " of ", size, " bytes");
  b.n_chunks_ = n_chunks;
  b.tokens_written_ = tokens_written;
  b.chunks_evicted_ = chunks_evicted;
  LM_RETURN_IF_ERROR(b.BuildIndexes());
  return bank;
}

}  // namespace lm::membank
