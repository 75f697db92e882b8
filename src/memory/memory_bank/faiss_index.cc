// ChunkIndex over faiss (built only when CMake found faiss): IVF-Flat and HNSW-Flat, inner product, absolute ids.
#include "memory/memory_bank/faiss_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <omp.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <vector>

#include "backend/cpu/blas.h"
#include "core/str.h"

namespace lm::membank {
namespace {

using FaissId = faiss::Index::idx_t;

// faiss reports misuse by throwing; with parameters ValidateConfig accepted, a throw is a bug here (or an
// allocation failure inside faiss), so it ends as a failed check that says which call and why.
template <class Fn>
void Guarded(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    LM_CHECK(false, "memory_bank: faiss ", what, " failed: ", e.what());
  }
}

// See faiss_index.h: faiss runs with an OpenMP team of one on whichever pool thread calls it. The empty
// sgemm applies longmem's one-thread OpenBLAS default before faiss's first BLAS call (k-means, IVF assignment);
// faiss links the same OpenBLAS.
void PrepareThreads() {
  SgemmNT(0, 0, 0, nullptr, nullptr, nullptr);
  omp_set_num_threads(1);  // per calling thread in libgomp
}

// Keys of one attention layer share a large common component (SmolLM2-135M block 21 on KJV text: the mean key
// has norm ~17.6 against ~18.8 for a key), and an inner-product graph built on them is ruled by that
// direction: HNSW found 9% of the exact top-16 chunks. Subtracting a fixed vector mu from every indexed key
// leaves each query's ranking unchanged (q·(k − mu) = q·k − q·mu, a constant per query), so the graph stores
// k − mu, with mu the mean of the keys it was started from, and queries go in as they are (0.90 recall). IVF
// does not need it: its k-means lists and probe order are the same up to that constant (measured: 0.947
// without, 0.934 with).
class KeyOffset {
 public:
  // Sets mu to the mean of keys [n, d].
  void Fit(const float* keys, int64_t n, int64_t d) {
    mu_.assign(static_cast<size_t>(d), 0.0f);
    std::vector<double> sum(static_cast<size_t>(d), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) sum[j] += keys[i * d + j];
    for (int64_t j = 0; j < d; ++j) mu_[j] = n > 0 ? static_cast<float>(sum[j] / static_cast<double>(n)) : 0.0f;
  }
  // keys [n, d] − mu, into a buffer that lives until the next call.
  const float* Apply(const float* keys, int64_t n) {
    const int64_t d = static_cast<int64_t>(mu_.size());
    buf_.resize(static_cast<size_t>(n * d));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) buf_[i * d + j] = keys[i * d + j] - mu_[j];
    return buf_.data();
  }

 private:
  std::vector<float> mu_, buf_;
};

class IvfIndex final : public ChunkIndex {
 public:
  IvfIndex(int64_t d, const FaissParams& p)
      : d_(d),
        p_(p),
        quantizer_(static_cast<int>(d)),
        index_(&quantizer_, static_cast<size_t>(d), static_cast<size_t>(p.nlist), faiss::METRIC_INNER_PRODUCT) {
    // We may knowingly train with fewer than faiss's 39 points per list (small banks); skip its warning.
    index_.cp.min_points_per_centroid = 1;
  }

  void Append(const float* all_keys, int64_t n_stored, int64_t n_new, int64_t first_id) override {
    if (!index_.is_trained) {
      if (n_stored < p_.train_chunks) return;
      PrepareThreads();
      Guarded("IVF train", [&] { index_.train(n_stored, all_keys); });
      AddRange(all_keys, 0, n_stored, first_id);
      return;
    }
    AddRange(all_keys, n_stored - n_new, n_stored, first_id);
  }

  void Evict(const float*, int64_t, int64_t first_id) override {
    if (!index_.is_trained || index_.ntotal == 0) return;
    // One pass over all inverted lists; ids are absolute, so the survivors keep theirs.
    faiss::IDSelectorRange evicted(std::numeric_limits<FaissId>::min(), first_id);
    Guarded("IVF remove_ids", [&] { index_.remove_ids(evicted); });
  }

  bool ready() const override { return index_.is_trained; }

  void Search(const float* queries, int64_t n, int64_t k, const float* /*all_keys*/, int64_t /*n_stored*/,
              int64_t first_id, int64_t* out) const override {
    faiss::SearchParametersIVF sp;
    sp.nprobe = static_cast<size_t>(p_.nprobe);
    std::vector<float> dist(static_cast<size_t>(n * k));
    std::vector<FaissId> labels(static_cast<size_t>(n * k));
    PrepareThreads();
    Guarded("IVF search", [&] { index_.search(n, queries, k, dist.data(), labels.data(), &sp); });
    for (int64_t i = 0; i < n * k; ++i) out[i] = labels[i] < 0 ? -1 : labels[i] - first_id;
  }

  uint64_t bytes() const override {
    // Vectors and ids in the lists, plus the centroids.
    return static_cast<uint64_t>(index_.ntotal) * (d_ * sizeof(float) + sizeof(FaissId)) +
           static_cast<uint64_t>(p_.nlist * d_) * sizeof(float);
  }

 private:
  void AddRange(const float* all_keys, int64_t begin, int64_t end, int64_t first_id) {
    if (end <= begin) return;
    std::vector<FaissId> ids(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) ids[i - begin] = first_id + i;
    PrepareThreads();
    Guarded("IVF add", [&] { index_.add_with_ids(end - begin, all_keys + begin * d_, ids.data()); });
  }

  int64_t d_;
  FaissParams p_;
  faiss::IndexFlatIP quantizer_;  // declared before index_, which borrows it
  faiss::IndexIVFFlat index_;
};

class HnswIndex final : public ChunkIndex {
 public:
  HnswIndex(int64_t d, const FaissParams& p) : d_(d), p_(p) { Clear(); }

  void Append(const float* all_keys, int64_t n_stored, int64_t n_new, int64_t first_id) override {
    if (n_new <= 0) return;
    // HNSW numbers vectors 0, 1, ... in insertion order; internal id i is absolute id graph_first_id_ + i.
    const float* added = all_keys + (n_stored - n_new) * d_;
    if (index_->ntotal == 0) {
      graph_first_id_ = first_id + n_stored - n_new;
      offset_.Fit(added, n_new, d_);
    }
    LM_CHECK(graph_first_id_ + index_->ntotal == first_id + n_stored - n_new, "memory_bank: HNSW ids out of step");
    PrepareThreads();
    const float* centred = offset_.Apply(added, n_new);
    Guarded("HNSW add", [&] { index_->add(n_new, centred); });
  }

  void Evict(const float* all_keys, int64_t n_stored, int64_t first_id) override {
    const int64_t dead = first_id - graph_first_id_;
    if (n_stored == 0) {
      Clear();
    } else if (dead > n_stored) {
      // Tombstones outnumber live chunks: rebuild from the survivors (amortised over the evictions since).
      Clear();
      graph_first_id_ = first_id;
      PrepareThreads();
      offset_.Fit(all_keys, n_stored, d_);
      const float* centred = offset_.Apply(all_keys, n_stored);
      Guarded("HNSW rebuild", [&] { index_->add(n_stored, centred); });
    }
  }

  bool ready() const override { return true; }

  void Search(const float* queries, int64_t n, int64_t k, const float* /*all_keys*/, int64_t /*n_stored*/,
              int64_t first_id, int64_t* out) const override {
    // faiss 1.7.3 ignores SearchParametersHNSW::efSearch (it reads hnsw.efSearch, set at construction) and
    // does not widen the beam to k, so recall collapses when k > ef. Such rows go to the exact fallback
    // instead of returning poor neighbours; raise hnsw_ef_search to use HNSW for them.
    if (k > p_.hnsw_ef_search) {
      std::fill(out, out + n * k, int64_t{-1});
      return;
    }
    faiss::SearchParametersHNSW sp;
    sp.efSearch = static_cast<int>(p_.hnsw_ef_search);  // honoured by newer faiss; same value as the member
    // Skip tombstones: internal ids below the first live chunk.
    faiss::IDSelectorRange live(first_id - graph_first_id_, index_->ntotal);
    if (first_id > graph_first_id_) sp.sel = &live;
    std::vector<float> dist(static_cast<size_t>(n * k));
    std::vector<FaissId> labels(static_cast<size_t>(n * k));
    PrepareThreads();
    Guarded("HNSW search", [&] { index_->search(n, queries, k, dist.data(), labels.data(), &sp); });
    for (int64_t i = 0; i < n * k; ++i) out[i] = labels[i] < 0 ? -1 : graph_first_id_ + labels[i] - first_id;
  }

  uint64_t bytes() const override {
    const faiss::HNSW& h = index_->hnsw;
    return static_cast<uint64_t>(index_->ntotal * d_) * sizeof(float) + h.neighbors.size() * sizeof(h.neighbors[0]) +
           h.levels.size() * sizeof(h.levels[0]) + h.offsets.size() * sizeof(h.offsets[0]);
  }

 private:
  void Clear() {
    index_ = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(d_), static_cast<int>(p_.hnsw_m),
                                                    faiss::METRIC_INNER_PRODUCT);
    index_->hnsw.efConstruction = static_cast<int>(p_.hnsw_ef_construction);
    index_->hnsw.efSearch = static_cast<int>(p_.hnsw_ef_search);
    graph_first_id_ = 0;
  }

  int64_t d_;
  FaissParams p_;
  std::unique_ptr<faiss::IndexHNSWFlat> index_;
  int64_t graph_first_id_ = 0;  // absolute id of internal id 0
  KeyOffset offset_;            // fitted when the graph is (re)started
};

}  // namespace

bool HaveFaiss() { return true; }

Result<std::unique_ptr<ChunkIndex>> MakeFaissIndex(const MemoryBankConfig& c) {
  const FaissParams p = ResolvedFaissParams(c);
  switch (c.index) {
    case IndexKind::kFaissIvf:
      return std::unique_ptr<ChunkIndex>(new IvfIndex(c.head_dim, p));
    case IndexKind::kFaissHnsw:
      return std::unique_ptr<ChunkIndex>(new HnswIndex(c.head_dim, p));
    case IndexKind::kExact:
    case IndexKind::kIvfInt8:
      break;
  }
  return InvalidArgument(StrCat("memory_bank: index '", IndexKindName(c.index), "' has no faiss index"));
}

}  // namespace lm::membank
