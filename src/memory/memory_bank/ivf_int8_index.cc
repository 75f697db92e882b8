// The ivf-int8 chunk index: k-means lists of int8 residual codes, searched list-major and re-ranked exactly.
#include "memory/memory_bank/ivf_int8_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "memory/memory_bank/exact_search.h"
#include "memory/memory_bank/faiss_index.h"
#include "memory/memory_bank/ivf_scan.h"
#include "memory/memory_bank/kmeans.h"
#include "memory/memory_bank/topk_scan.h"

namespace lm::membank {
namespace {

constexpr int kKMeansIterations = 10;
constexpr uint64_t kKMeansSeed = 0x1f2e3d4c5b6a7988ULL;

class IvfInt8Index final : public ChunkIndex {
 public:
  IvfInt8Index(int64_t d, const FaissParams& p) : d_(d), p_(p) {}

  void Append(const float* all_keys, int64_t n_stored, int64_t n_new, int64_t first_id) override {
    if (!trained_) {
      if (n_stored < p_.train_chunks) return;
      const std::vector<int32_t> assign = Train(all_keys, n_stored);
      Add(all_keys, 0, n_stored, first_id, assign.data());
      return;
    }
    Add(all_keys, n_stored - n_new, n_stored, first_id);
  }

  void Evict(const float* /*all_keys*/, int64_t /*n_stored*/, int64_t first_id) override {
    if (!trained_) return;
    for (List& l : lists_) {
      // Ids ascend within a list, so the evicted ones are a prefix.
      const auto drop = static_cast<int64_t>(std::lower_bound(l.ids.begin(), l.ids.end(), first_id) - l.ids.begin());
      if (drop == 0) continue;
      l.ids.erase(l.ids.begin(), l.ids.begin() + drop);
      l.codes.erase(l.codes.begin(), l.codes.begin() + drop * d_);
      Pack(&l, 0);
    }
  }

  bool ready() const override { return trained_; }

  void Search(const float* queries, int64_t n, int64_t k, const float* all_keys, int64_t n_stored, int64_t first_id,
              int64_t* out) const override;

  uint64_t bytes() const override {
    uint64_t b = (centroids_.size() + scale_.size()) * sizeof(float) + centroids_packed_.bytes();
    for (const List& l : lists_) b += l.ids.capacity() * sizeof(int64_t) + l.codes.capacity() + l.packed.capacity();
    return b;
  }

 private:
  struct List {
    std::vector<int64_t> ids;      // absolute chunk ids, ascending
    std::vector<uint8_t> codes;    // [n, D] u8, row-major (the master copy eviction edits)
    std::vector<uint8_t> packed;   // the same in IvfScan's group layout
  };

  // Fits the lists and code scales to keys [n, D]; returns each key's list, which Add then reuses.
  std::vector<int32_t> Train(const float* keys, int64_t n);
  // Adds keys [from, to) with ids first_id + i; `assign` (optional): their lists, already computed.
  void Add(const float* keys, int64_t from, int64_t to, int64_t first_id, const int32_t* assign = nullptr);
  void Pack(List* l, int64_t from_key) const;

  int64_t d_;
  FaissParams p_;
  bool trained_ = false;
  int64_t nlist_ = 0;
  std::vector<float> centroids_;  // [nlist, D]
  PackedKeys centroids_packed_;   // the same in the exact kernel's layout, for the probe
  std::vector<float> scale_;      // [D]: residual = code * scale (before the +128 offset)
  std::vector<List> lists_;
};

std::vector<int32_t> IvfInt8Index::Train(const float* keys, int64_t n) {
  nlist_ = std::min(p_.nlist, n);
  centroids_ = KMeans(keys, n, d_, nlist_, kKMeansIterations, kKMeansSeed);
  LM_CHECK(centroids_packed_.Reserve(nlist_, d_), "ivf-int8: cannot allocate ", nlist_, " centroids");
  centroids_packed_.Update(centroids_.data(), nlist_, 0);
  // Per-dimension scales: the largest training residual of each dimension maps to code ±127.
  std::vector<int32_t> assign(static_cast<size_t>(n));
  AssignNearest(keys, n, d_, centroids_.data(), nlist_, assign.data());
  std::vector<float> amax(static_cast<size_t>(d_), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d_; ++j)
      amax[j] = std::max(amax[j], std::fabs(keys[i * d_ + j] - centroids_[assign[i] * d_ + j]));
  scale_.resize(static_cast<size_t>(d_));
  for (int64_t j = 0; j < d_; ++j) scale_[j] = amax[j] > 0 ? amax[j] / 127.0f : 1.0f;
  lists_.assign(static_cast<size_t>(nlist_), List{});
  trained_ = true;
  return assign;
}

void IvfInt8Index::Add(const float* keys, int64_t from, int64_t to, int64_t first_id, const int32_t* given) {
  const int64_t n = to - from;
  if (n <= 0) return;
  std::vector<int32_t> computed;
  const int32_t* assign = given;
  if (assign == nullptr) {
    computed.resize(static_cast<size_t>(n));
    AssignNearest(keys + from * d_, n, d_, centroids_.data(), nlist_, computed.data());
    assign = computed.data();
  }
  std::vector<int64_t> first_new(static_cast<size_t>(nlist_), -1);  // per list: its first new key, or -1
  for (int64_t i = 0; i < n; ++i) {
    List& l = lists_[assign[i]];
    if (first_new[assign[i]] < 0) first_new[assign[i]] = static_cast<int64_t>(l.ids.size());
    l.ids.push_back(first_id + from + i);
    const float* x = keys + (from + i) * d_;
    const float* c = centroids_.data() + assign[i] * d_;
    for (int64_t j = 0; j < d_; ++j) {
      const float q = std::nearbyint((x[j] - c[j]) / scale_[j]);
      l.codes.push_back(static_cast<uint8_t>(std::clamp(q, -127.0f, 127.0f) + 128.0f));
    }
  }
  for (int64_t a = 0; a < nlist_; ++a)
    if (first_new[a] >= 0) Pack(&lists_[a], first_new[a]);
}

// Re-lays out the groups from the one holding key from_key to the end (padding keys: code 128, residual 0).
void IvfInt8Index::Pack(List* l, int64_t from_key) const {
  const auto n = static_cast<int64_t>(l->ids.size());
  const int64_t n_groups = (n + kIvfGroup - 1) / kIvfGroup, dim4 = d_ / 4, group_bytes = dim4 * kIvfGroup * 4;
  l->packed.resize(static_cast<size_t>(n_groups * group_bytes), 128);
  for (int64_t g = from_key / kIvfGroup; g < n_groups; ++g) {
    uint8_t* dst = l->packed.data() + g * group_bytes;
    for (int64_t lane = 0; lane < kIvfGroup; ++lane) {
      const int64_t i = g * kIvfGroup + lane;
      for (int64_t j = 0; j < dim4; ++j)
        for (int b = 0; b < 4; ++b)
          dst[(j * kIvfGroup + lane) * 4 + b] = i < n ? l->codes[i * d_ + j * 4 + b] : 128;
    }
  }
}

// Search's working buffers, one set per thread and reused: allocated per call they cost page faults on every
// block (a few MB of fresh pages), and each row's candidate list its own heap allocations.
struct Scratch {
  std::vector<float> pscore, qscale, qs, base_by_list, exact_score;
  std::vector<Cand> probes, sel, exact;
  std::vector<int32_t> q4, corr, by_list;
  std::vector<int64_t> n_seed, start, fill;
  std::vector<CandList> cands;
};
thread_local Scratch scratch;

void IvfInt8Index::Search(const float* queries, int64_t n, int64_t k, const float* all_keys, int64_t n_stored,
                          int64_t first_id, int64_t* out) const {
  if (n == 0) return;
  const int64_t D = d_, dim4 = D / 4, P = std::min(p_.nprobe, nlist_), R = std::min(kIvfRerank * k, n_stored);

  // 1. Probe: every centroid score of every row, then each row's P best lists.
  Scratch& sc = scratch;
  std::vector<float>& pscore = sc.pscore;
  pscore.resize(static_cast<size_t>(n * nlist_));
  ScoreAll({.queries = queries, .n_rows = n, .head_dim = D, .packed = centroids_packed_.data(), .j0 = 0,
            .j1 = nlist_, .out = pscore.data(), .ldo = nlist_});
  std::vector<Cand>& probes = sc.probes;  // per row: its P lists (idx) and centroid scores
  std::vector<Cand>& sel = sc.sel;
  probes.resize(static_cast<size_t>(n * P));
  sel.resize(static_cast<size_t>(nlist_));
  for (int64_t r = 0; r < n; ++r) {
    SelectTop(pscore.data() + r * nlist_, nlist_, P, sel.data());
    std::copy_n(sel.begin(), P, probes.begin() + r * P);
  }

  // 2. Query codes: q'[d] = q[d] * scale[d], quantised per row to s8 in [-kIvfQueryMax, kIvfQueryMax].
  std::vector<int32_t>& q4 = sc.q4;
  std::vector<float>& qscale = sc.qscale;
  std::vector<int32_t>& corr = sc.corr;
  std::vector<float>& qs = sc.qs;
  q4.resize(static_cast<size_t>(n * dim4));
  qscale.resize(static_cast<size_t>(n));
  corr.resize(static_cast<size_t>(n));
  qs.resize(static_cast<size_t>(D));
  for (int64_t r = 0; r < n; ++r) {
    float amax = 0;
    for (int64_t j = 0; j < D; ++j) {
      qs[j] = queries[r * D + j] * scale_[j];
      amax = std::max(amax, std::fabs(qs[j]));
    }
    const float inv = amax > 0 ? kIvfQueryMax / amax : 0.0f;
    int32_t sum = 0;
    auto* bytes = reinterpret_cast<int8_t*>(q4.data() + r * dim4);
    for (int64_t j = 0; j < D; ++j) {
      const float c = std::clamp(std::nearbyint(qs[j] * inv), -static_cast<float>(kIvfQueryMax),
                                 static_cast<float>(kIvfQueryMax));
      bytes[j] = static_cast<int8_t>(c);
      sum += bytes[j];
    }
    qscale[r] = amax / kIvfQueryMax;
    corr[r] = 128 * sum;
  }

  // 3. Seed each row's candidates from its best lists, scanned row by row until they hold 2R keys, then keep
  // the best R: its threshold then starts near its final value, and the list-major scan below rejects almost
  // every key in registers. (Started empty, every row accepted its first ~2R keys in list order.)
  std::vector<CandList>& cands = sc.cands;
  std::vector<int64_t>& n_seed = sc.n_seed;
  if (cands.size() < static_cast<size_t>(n)) cands.resize(static_cast<size_t>(n));
  n_seed.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    cands[r].Init(R);
    Cand* pr = probes.data() + r * P;
    int64_t keys = 0, i = 0;
    for (; i < P && keys < 2 * R; ++i) {
      // Selection sort, one step: the best remaining list to position i.
      int64_t best = i;
      for (int64_t j = i + 1; j < P; ++j)
        if (pr[j].score > pr[best].score) best = j;
      std::swap(pr[i], pr[best]);
      const List& list = lists_[pr[i].idx];
      if (list.ids.empty()) continue;
      keys += static_cast<int64_t>(list.ids.size());
      const auto row = static_cast<int32_t>(r);
      IvfScan({.rows = &row, .q4 = q4.data(), .scale = qscale.data(), .corr = corr.data(), .cands = cands.data(),
               .base = &pr[i].score, .n_rows = 1, .dim4 = dim4, .codes = list.packed.data(),
               .ids = list.ids.data(), .first_id = first_id, .n_keys = static_cast<int64_t>(list.ids.size())});
    }
    n_seed[r] = i;
    cands[r].Shrink();  // sets the threshold from the seeds
  }

  // 4. Invert the remaining probes: per list, the rows that probed it and their centroid scores.
  std::vector<int64_t>& start = sc.start;
  start.assign(static_cast<size_t>(nlist_ + 1), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = n_seed[r]; i < P; ++i) ++start[probes[r * P + i].idx + 1];
  for (int64_t l = 0; l < nlist_; ++l) start[l + 1] += start[l];
  std::vector<int32_t>& by_list = sc.by_list;
  std::vector<float>& base_by_list = sc.base_by_list;
  by_list.resize(static_cast<size_t>(start[nlist_]));
  base_by_list.resize(by_list.size());
  {
    std::vector<int64_t>& fill = sc.fill;
    fill.assign(start.begin(), start.end() - 1);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = n_seed[r]; i < P; ++i) {
        const Cand& c = probes[r * P + i];
        by_list[fill[c.idx]] = static_cast<int32_t>(r);
        base_by_list[fill[c.idx]++] = c.score;
      }
  }

  // 5. Scan list-major: each list's rows scored against its codes together (in place, by row index).
  for (int64_t l = 0; l < nlist_; ++l) {
    const int64_t rows = start[l + 1] - start[l];
    const List& list = lists_[l];
    if (rows == 0 || list.ids.empty()) continue;
    IvfScan({.rows = by_list.data() + start[l], .q4 = q4.data(), .scale = qscale.data(), .corr = corr.data(),
             .cands = cands.data(), .base = base_by_list.data() + start[l], .n_rows = rows, .dim4 = dim4,
             .codes = list.packed.data(), .ids = list.ids.data(), .first_id = first_id,
             .n_keys = static_cast<int64_t>(list.ids.size())});
  }

  // 6. Re-rank each row's best R candidates with the exact chunk keys; the top k go out in the bank's order
  // (score, then slot).
  std::vector<float>& exact_score = sc.exact_score;
  std::vector<Cand>& exact = sc.exact;
  for (int64_t r = 0; r < n; ++r) {
    CandList& c = cands[r];
    c.Shrink();
    const int64_t m = c.size();
    exact_score.resize(static_cast<size_t>(m));
    GatherDots(queries + r * D, all_keys, D, c.slots(), m, exact_score.data());
    const int64_t got = std::min(k, m);
    exact.resize(static_cast<size_t>(std::max<int64_t>(m, 1)));
    if (got > 0) SelectTop(exact_score.data(), m, got, exact.data());
    for (int64_t j = 0; j < got; ++j) exact[j].idx = c.slots()[exact[j].idx];  // position -> slot
    std::sort(exact.begin(), exact.begin() + got, Better);
    for (int64_t j = 0; j < k; ++j) out[r * k + j] = j < got ? exact[j].idx : -1;
  }
}

}  // namespace

std::unique_ptr<ChunkIndex> MakeIvfInt8Index(const MemoryBankConfig& c) {
  return std::make_unique<IvfInt8Index>(c.head_dim, ResolvedFaissParams(c));
}

}  // namespace lm::membank
