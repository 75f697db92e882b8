// ChunkIndex: the interface of an approximate per-kv-head chunk index behind the memory bank (faiss IVF or
// HNSW, faiss_index.h; longmem's own int8 IVF, ivf_int8_index.h). Ids are absolute chunk ids (chunks ever
// written before the chunk), never slots, so the bank's left shift on eviction changes only the id of slot 0
// (first_id) and an answer's slot is id - first_id.
#pragma once

#include <cstdint>
#include <memory>

#include "core/status.h"
#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {

class ChunkIndex {
 public:
  virtual ~ChunkIndex() = default;
  // The bank wrote n_new chunks; all_keys: [n_stored, D] f32 are all stored chunk keys, the new ones last,
  // and first_id is the absolute id of row 0.
  virtual void Append(const float* all_keys, int64_t n_stored, int64_t n_new, int64_t first_id) = 0;
  // The bank evicted every chunk with id < first_id; all_keys: [n_stored, D] f32 are the survivors.
  virtual void Evict(const float* all_keys, int64_t n_stored, int64_t first_id) = 0;
  // False while an IVF index is untrained: the bank searches exactly instead.
  virtual bool ready() const = 0;
  // queries: [n, D] f32; all_keys: the bank's [n_stored, D] chunk keys (slot order), for indexes that re-rank
  // their candidates exactly; out: [n, k] chunk slots (id - first_id), best first, -1 where fewer than k were
  // found. Called concurrently from pool threads on disjoint row blocks; single-threaded inside.
  virtual void Search(const float* queries, int64_t n, int64_t k, const float* all_keys, int64_t n_stored,
                      int64_t first_id, int64_t* out) const = 0;
  virtual uint64_t bytes() const = 0;  // vectors, codes, ids and links held by the index (estimate)
};

// One index of c.index's kind for vectors of c.head_dim (c.index must not be kExact): longmem's int8 IVF, or a
// faiss index (Unavailable when the build has no faiss).
Result<std::unique_ptr<ChunkIndex>> MakeChunkIndex(const MemoryBankConfig& c);

}  // namespace lm::membank
