// The faiss chunk indexes behind the memory bank (IVF-Flat or HNSW-Flat; interface in chunk_index.h).
// This header names no faiss type, so the bank compiles the same with and without faiss.
//
// How an index follows the bank's FIFO. faiss ids are absolute chunk ids (chunks ever written before the
// chunk), never slots, so the bank's left shift on eviction changes only the id of slot 0 (first_id) and the
// answer's slot is id - first_id:
//  - IVF-Flat: add_with_ids; eviction is remove_ids(range [.., first_id)), one pass over the inverted lists
//    (O(stored)), the same order of cost as the bank's own shift. It needs k-means training: the index stays
//    untrained, and Retrieve stays exact, until faiss_train_chunks chunks are stored; it then trains once on
//    all stored chunk keys (those of the first batches, so the lists reflect early data; Reset or Load
//    retrains) and answers from then on.
//  - HNSW-Flat cannot remove vectors. Evicted chunks stay in the graph as tombstones that the search skips
//    (an IDSelectorRange), and when tombstones outnumber live chunks the graph is rebuilt from the live
//    chunk keys: an O(n log n) rebuild at most once per n evictions, so O(log n) per chunk amortised, but the
//    rebuild itself is a pause: inserts cost ~0.2-0.3 ms each (D = 64, M = 32, efConstruction = 64, Debian's
//    SSE-only faiss 1.7.3 on a shared 2-core EPYC), i.e. ~25 s per 100k chunks per kv head on one core.
//    faiss 1.7.3 ignores a per-call efSearch and does not widen the beam to k, so hnsw_ef_search is set on
//    the index once, and a Retrieve asking for more than hnsw_ef_search chunks is answered exactly.
//    The graph stores keys minus a fixed mean (ranking unchanged; see KeyOffset in faiss_index.cc): real
//    attention keys share a dominant direction that an inner-product graph otherwise collapses onto.
// A row for which faiss finds fewer than k live chunks (a small IVF probe, a sparse filtered HNSW
// neighbourhood) comes back with -1 entries; the bank re-ranks such rows exactly.
//
// Threads: faiss would parallelise with OpenMP, whose idle workers spin after every parallel region; next to
// lm::GlobalPool's own spinning workers that slowed the faiss tests on a 2-core machine up to ~8x. So every
// faiss call runs with an OpenMP team of one (omp_set_num_threads(1) on the calling thread) and the bank
// supplies the parallelism from the pool: Append, Evict, training and rebuilds run one kv head per pool
// item, and Search is called on blocks of query rows from pool threads (const faiss searches are thread-safe).
// The cost: a bank with a single kv head trains and builds its index on one core.
#pragma once

#include <cstdint>
#include <memory>

#include "core/status.h"
#include "memory/memory_bank/chunk_index.h"
#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {

// The IVF and HNSW parameters with every "0 = auto" resolved against the capacity (the IVF ones serve
// faiss IVF and longmem's ivf-int8 alike).
struct FaissParams {
  int64_t nlist = 0, nprobe = 0, train_chunks = 0;
  int64_t hnsw_m = 0, hnsw_ef_construction = 0, hnsw_ef_search = 0;
};
FaissParams ResolvedFaissParams(const MemoryBankConfig& c);

// True when this build has faiss (LM_HAVE_FAISS).
bool HaveFaiss();

// One faiss index of c.index's kind (kFaissIvf or kFaissHnsw) for vectors of c.head_dim. Unavailable when the
// build has no faiss.
Result<std::unique_ptr<ChunkIndex>> MakeFaissIndex(const MemoryBankConfig& c);

}  // namespace lm::membank
