// LongMem's cached memory bank (spec §5): a FIFO store of a frozen backbone layer's per-token keys and values,
// grouped into chunks of csz consecutive tokens, searched per kv head by the mean key of each chunk.
//
// Storage is f32 (the official code keeps fp16 K/V; chunk keys are fp32 in both) and is shifted left on
// eviction exactly like the official code, so chunk slot i is always the i-th oldest stored chunk and token
// slot s = chunk_slot * csz + j. The search is exact inner product by default (a fused SIMD
// score-and-threshold kernel, exact_search.h; deterministic tie-break on the lower slot). Approximate: longmem's
// int8 IVF (ivf_int8_index.h), or faiss IVF or HNSW when the build found faiss (LM_HAVE_FAISS). See
// chunk_index.h, ivf_int8_index.h and faiss_index.h for how the approximate indexes follow the FIFO.
//
// Thread safety: const members (Retrieve, accessors, Save) may run concurrently with each other; Add, Reset and
// Load need exclusive access. Retrieve and Add parallelise over lm::GlobalPool().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "memory/memory_bank/exact_search.h"

namespace lm::membank {

enum class EvictionRule {
  kSpec,   // the official code's rule: before adding n new chunks, if stored + n >= capacity_chunks, drop the
           // oldest 2*n chunks (all of them when fewer are stored), so the bank never fills (spec §5, §10.12)
  kExact,  // cleaner: drop only the oldest chunks needed so stored + n <= capacity_chunks
};

enum class IndexKind {
  kExact,      // inner products with every stored chunk (exact_search.h), like the spec's faiss IndexFlatIP
               // (same ranking up to float rounding of the scores and the order of ties)
  kFaissIvf,   // faiss IndexIVFFlat per kv head (approximate); exact until enough chunks exist to train it
  kFaissHnsw,  // faiss IndexHNSWFlat per kv head (approximate); evicted chunks are filtered, then compacted
  kIvfInt8,    // longmem's own IVF per kv head (approximate, ivf_int8_index.h): int8 residual codes scanned
               // list-major for a whole block of queries, candidates re-ranked exactly; no faiss needed
};

const char* EvictionRuleName(EvictionRule r);
const char* IndexKindName(IndexKind k);
// True for the kinds that exist only in builds with faiss (faiss_index.h: HaveFaiss).
inline bool IndexNeedsFaiss(IndexKind k) { return k == IndexKind::kFaissIvf || k == IndexKind::kFaissHnsw; }

struct MemoryBankConfig {
  int64_t n_head_kv = 0, head_dim = 0;
  int64_t chunk_size = 4;           // csz: consecutive tokens per chunk
  int64_t capacity_tokens = 65536;  // M (must be a multiple of chunk_size)
  EvictionRule eviction = EvictionRule::kSpec;
  IndexKind index = IndexKind::kExact;
  // IVF (faiss IVF and ivf-int8). 0 means auto; the auto values are resolved by ResolvedFaissParams (faiss_index.h).
  int64_t faiss_nlist = 0;         // inverted lists; auto: 4 * sqrt(capacity_chunks), at most capacity/8
  int64_t faiss_nprobe = 0;        // lists probed per query; auto: nlist / 8, at least 1
  int64_t faiss_train_chunks = 0;  // stored chunks that trigger training; auto: min(39 * nlist, capacity/2)
  // HNSW.
  int64_t hnsw_m = 32;                // graph degree (faiss M)
  int64_t hnsw_ef_construction = 64;  // build-time beam
  int64_t hnsw_ef_search = 128;       // search-time beam; must be >= n_chunks, else Retrieve searches exactly

  int64_t capacity_chunks() const { return chunk_size > 0 ? capacity_tokens / chunk_size : 0; }
};

// Checks a config; the message names the field, its value and a hint.
Status ValidateConfig(const MemoryBankConfig& c);

class ChunkIndex;  // chunk_index.h

class MemoryBank {
 public:
  // Validates c (InvalidArgument), allocates the token store for the whole capacity (OutOfMemory), and for a
  // faiss index kind fails with Unavailable when the build has no faiss.
  static Result<std::unique_ptr<MemoryBank>> Create(const MemoryBankConfig& c);
  ~MemoryBank();
  MemoryBank(const MemoryBank&) = delete;
  MemoryBank& operator=(const MemoryBank&) = delete;

  const MemoryBankConfig& config() const { return config_; }

  // k, v: [N, Hkv, D] f32, the frozen backbone layer's keys (pre-RoPE) and values for N consecutive tokens.
  // Tokens are grouped into chunks of csz consecutive tokens; a tail of N % csz tokens is dropped (spec rule).
  // Chunk key = mean of its csz token keys, per kv head. Eviction (per the rule) happens before writing.
  // Returns the tokens written. InvalidArgument when N / csz exceeds the capacity in chunks.
  Result<int64_t> Add(const float* k, const float* v, int64_t N);

  // q: [T, H, D] f32 (unscaled queries; H a multiple of Hkv; query head h searches kv head h / (H / Hkv)).
  // For every (t, h): the top *k_out chunks by inner product q·chunk_key (exact: ties go to the lower slot),
  // best first, expanded to their csz token slots. *k_out = min(n_chunks, stored chunks) (0 when empty), and
  // slots is resized to [T, H, *k_out * csz] int32; an entry s addresses keys() + g * kv_stride() + s * D.
  Status Retrieve(const float* q, int64_t T, int64_t H, int64_t n_chunks, std::vector<int32_t>* slots,
                  int64_t* k_out) const;

  // Token storage: one contiguous f32 buffer [Hkv, capacity_tokens, D]; kv head g starts at keys() + g * kv_stride().
  // Only the first n_tokens() slots of each head hold data. Valid until the next Add / Reset.
  const float* keys() const { return keys_.get(); }
  const float* values() const { return values_.get(); }
  int64_t kv_stride() const { return config_.capacity_tokens * config_.head_dim; }
  const float* chunk_keys(int64_t g) const;  // [n_chunks(), D] f32, chunk slot order

  int64_t n_chunks() const { return n_chunks_; }
  int64_t n_tokens() const { return n_chunks_ * config_.chunk_size; }
  // Lifetime counters for reports; Reset does not clear them (so ids of chunks stay unique, see below).
  int64_t tokens_written() const { return tokens_written_; }  // total ever written
  int64_t chunks_evicted() const { return chunks_evicted_; }  // total ever dropped by eviction
  // Bytes held: the token K/V and chunk-key buffers as allocated (whole capacity; chunk keys twice: row-major
  // and in the search kernel's layout) plus the faiss indexes' vectors and links (estimated from their sizes).
  uint64_t bytes() const;
  // Bytes of what is stored now: the n_tokens() token keys and values and the n_chunks() chunk keys (f32).
  uint64_t stored_bytes() const;
  // True when an approximate index answers Retrieve (IVF reports false until it has trained).
  bool index_ready() const;
  // Query rows (one per (t, h)) the approximate index under-filled and exact search re-ranked, ever; for reports.
  int64_t exact_fallback_rows() const { return exact_fallback_rows_.load(std::memory_order_relaxed); }

  // Empties the bank (keeps the allocation); faiss indexes are dropped, so IVF trains again on new data.
  void Reset();

  // Versioned, checksummed file, written atomically (temp file, fsync, rename). Layout in memory_bank_file.cc.
  Status Save(const std::string& path) const;
  // Verifies magic, version, size and checksum (Corrupt with what failed), then rebuilds the index.
  static Result<std::unique_ptr<MemoryBank>> Load(const std::string& path);
  // As Load, but the file's geometry (n_head_kv, head_dim, chunk_size, capacity_tokens) must equal expected's
  // (InvalidArgument otherwise), and the bank takes expected's eviction and index settings, so a bank saved
  // with one index kind can be loaded with another.
  static Result<std::unique_ptr<MemoryBank>> Load(const std::string& path, const MemoryBankConfig& expected);

 private:
  explicit MemoryBank(const MemoryBankConfig& c);
  Status Allocate();
  Status BuildIndexes();  // repacks the stored chunk keys, (re)creates the faiss indexes (if any) and feeds them
  void Evict(int64_t n_new_chunks);  // applies the eviction rule before n_new_chunks are written
  void ForEachIndex(const std::function<void(int64_t g, ChunkIndex* index)>& fn);  // parallel over kv heads
  float* head_keys(int64_t g) { return keys_.get() + g * kv_stride(); }
  float* head_values(int64_t g) { return values_.get() + g * kv_stride(); }
  float* head_chunk_keys(int64_t g) { return chunk_keys_.get() + g * config_.capacity_chunks() * config_.head_dim; }
  // Absolute id of chunk slot 0 (chunks ever written before it); faiss ids are absolute, so a left shift of
  // the store is a change of this number, not a renumbering of the index.
  int64_t first_chunk_id() const { return tokens_written_ / config_.chunk_size - n_chunks_; }
  static Result<std::unique_ptr<MemoryBank>> LoadImpl(const std::string& path, const MemoryBankConfig* expected);

  MemoryBankConfig config_;
  std::unique_ptr<float[]> keys_;        // [Hkv, capacity_tokens, D] f32
  std::unique_ptr<float[]> values_;      // [Hkv, capacity_tokens, D] f32
  std::unique_ptr<float[]> chunk_keys_;  // [Hkv, capacity_chunks, D] f32
  std::vector<PackedKeys> packed_;       // per kv head: the chunk keys in the exact search kernel's layout
  int64_t n_chunks_ = 0;
  int64_t tokens_written_ = 0;
  int64_t chunks_evicted_ = 0;
  mutable std::atomic<int64_t> exact_fallback_rows_{0};  // Retrieve is const and may run concurrently
  std::vector<std::unique_ptr<ChunkIndex>> indexes_;     // one per kv head, empty for IndexKind::kExact
};

}  // namespace lm::membank
