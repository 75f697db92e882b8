// MemoryBank: chunked writes with the spec's FIFO eviction, and per-kv-head top-k retrieval (exact or faiss).
#include "memory/memory_bank/memory_bank.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "core/str.h"
#include "core/thread_pool.h"
#include "memory/memory_bank/exact_search.h"
#include "memory/memory_bank/faiss_index.h"

namespace lm::membank {

MemoryBank::MemoryBank(const MemoryBankConfig& c) : config_(c) {}
MemoryBank::~MemoryBank() = default;

Result<std::unique_ptr<MemoryBank>> MemoryBank::Create(const MemoryBankConfig& c) {
  LM_RETURN_IF_ERROR(ValidateConfig(c));
  if (IndexNeedsFaiss(c.index) && !HaveFaiss())
    return Unavailable(StrCat("memory_bank: index '", IndexKindName(c.index),
                              "' needs faiss, and this build has none; hint: install libfaiss-dev "
                              "(scripts/setup.sh) and reconfigure, or use IndexKind::kExact or kIvfInt8"));
  std::unique_ptr<MemoryBank> bank(new MemoryBank(c));
  LM_RETURN_IF_ERROR(bank->Allocate());
  LM_RETURN_IF_ERROR(bank->BuildIndexes());
  return bank;
}

Status MemoryBank::Allocate() {
  const int64_t token_floats = config_.n_head_kv * kv_stride();
  const int64_t chunk_floats = config_.n_head_kv * config_.capacity_chunks() * config_.head_dim;
  // Uninitialised on purpose: pages are touched only as the bank fills, and nothing reads past n_tokens().
  keys_.reset(new (std::nothrow) float[token_floats]);
  values_.reset(new (std::nothrow) float[token_floats]);
  chunk_keys_.reset(new (std::nothrow) float[chunk_floats]);
  packed_.resize(static_cast<size_t>(config_.n_head_kv));
  bool packed_ok = true;
  for (PackedKeys& p : packed_) packed_ok = packed_ok && p.Reserve(config_.capacity_chunks(), config_.head_dim);
  if (!keys_ || !values_ || !chunk_keys_ || !packed_ok) {
    keys_.reset();
    values_.reset();
    chunk_keys_.reset();
    packed_.clear();
    return OutOfMemory(StrCat("memory_bank: cannot allocate ", HumanBytes(bytes()), " for ", config_.n_head_kv,
                              " kv heads x ", config_.capacity_tokens, " tokens x ", config_.head_dim,
                              " dims (K, V and chunk keys, f32); hint: lower capacity_tokens"));
  }
  return OkStatus();
}

Status MemoryBank::BuildIndexes() {
  GlobalPool().ParallelFor(config_.n_head_kv, [&](int64_t begin, int64_t end, int) {
    for (int64_t g = begin; g < end; ++g) packed_[g].Update(head_chunk_keys(g), n_chunks_, 0);
  });
  indexes_.clear();
  if (config_.index == IndexKind::kExact) return OkStatus();
  for (int64_t g = 0; g < config_.n_head_kv; ++g) {
    auto index = MakeChunkIndex(config_);
    if (!index.ok()) return index.status();
    indexes_.push_back(std::move(*index));
  }
  if (n_chunks_ > 0)
    ForEachIndex([&](int64_t g, ChunkIndex* index) {
      index->Append(head_chunk_keys(g), n_chunks_, n_chunks_, first_chunk_id());
    });
  return OkStatus();
}

void MemoryBank::ForEachIndex(const std::function<void(int64_t, ChunkIndex*)>& fn) {
  // One kv head per item: the indexes are independent and faiss runs single-threaded inside the pool.
  GlobalPool().ParallelFor(static_cast<int64_t>(indexes_.size()), [&](int64_t begin, int64_t end, int) {
    for (int64_t g = begin; g < end; ++g) fn(g, indexes_[g].get());
  });
}

const float* MemoryBank::chunk_keys(int64_t g) const {
  LM_CHECK(g >= 0 && g < config_.n_head_kv, "memory_bank: kv head ", g, " of ", config_.n_head_kv);
  return chunk_keys_.get() + g * config_.capacity_chunks() * config_.head_dim;
}

uint64_t MemoryBank::bytes() const {
  const auto Hkv = static_cast<uint64_t>(config_.n_head_kv), D = static_cast<uint64_t>(config_.head_dim);
  uint64_t b = (2 * static_cast<uint64_t>(config_.capacity_tokens) + static_cast<uint64_t>(config_.capacity_chunks())) *
               Hkv * D * sizeof(float);
  for (const PackedKeys& p : packed_) b += p.bytes();
  for (const auto& index : indexes_) b += index->bytes();
  return b;
}

uint64_t MemoryBank::stored_bytes() const {
  const uint64_t row = static_cast<uint64_t>(config_.n_head_kv * config_.head_dim) * sizeof(float);
  return row * (2 * static_cast<uint64_t>(n_tokens()) + static_cast<uint64_t>(n_chunks_));
}

bool MemoryBank::index_ready() const {
  if (indexes_.empty()) return false;
  return std::all_of(indexes_.begin(), indexes_.end(), [](const auto& i) { return i->ready(); });
}

void MemoryBank::Reset() {
  n_chunks_ = 0;
  // A fresh index (and, for IVF, fresh training on whatever is written next). Cannot fail: the same
  // config built the indexes before.
  const Status s = BuildIndexes();
  LM_CHECK(s.ok(), s.ToString());
}

void MemoryBank::Evict(int64_t n_new) {
  const int64_t cap = config_.capacity_chunks();
  int64_t drop = 0;
  if (config_.eviction == EvictionRule::kSpec) {
    // `if dstore_idx + n >= capacity: remove 2n` (note >=, and 2n): the bank never fills. The official code
    // would go negative when 2n exceeds what is stored; we drop everything instead.
    if (n_chunks_ + n_new >= cap) drop = std::min(2 * n_new, n_chunks_);
  } else {
    drop = std::max<int64_t>(0, n_chunks_ + n_new - cap);
  }
  if (drop == 0) return;
  const int64_t keep = n_chunks_ - drop, csz = config_.chunk_size, D = config_.head_dim;
  // The left shift costs O(stored) per eviction, like the official code; kSpec's 2n amortises it over n
  // adds, while kExact with small adds into a full bank pays it on every add.
  GlobalPool().ParallelFor(config_.n_head_kv, [&](int64_t begin, int64_t end, int) {
    for (int64_t g = begin; g < end; ++g) {
      const size_t token_bytes = static_cast<size_t>(keep * csz * D) * sizeof(float);
      std::memmove(head_keys(g), head_keys(g) + drop * csz * D, token_bytes);
      std::memmove(head_values(g), head_values(g) + drop * csz * D, token_bytes);
      std::memmove(head_chunk_keys(g), head_chunk_keys(g) + drop * D, static_cast<size_t>(keep * D) * sizeof(float));
    }
  });
  n_chunks_ = keep;
  chunks_evicted_ += drop;
  ForEachIndex([&](int64_t g, ChunkIndex* index) { index->Evict(head_chunk_keys(g), n_chunks_, first_chunk_id()); });
}

Result<int64_t> MemoryBank::Add(const float* k, const float* v, int64_t N) {
  const int64_t csz = config_.chunk_size, D = config_.head_dim, Hkv = config_.n_head_kv;
  if (N < 0) return InvalidArgument(StrCat("memory_bank: Add of N = ", N, " tokens; hint: N counts tokens, >= 0"));
  const int64_t n_new = N / csz;  // the tail of N % csz tokens is dropped, as in the official code
  if (n_new == 0) return int64_t{0};
  if (k == nullptr || v == nullptr)
    return InvalidArgument(StrCat("memory_bank: Add of ", N, " tokens with null k or v"));
  if (n_new > config_.capacity_chunks())
    return InvalidArgument(StrCat("memory_bank: Add of ", N, " tokens makes ", n_new, " chunks of ", csz,
                                  ", more than the capacity of ", config_.capacity_chunks(),
                                  " chunks; hint: add at most ", config_.capacity_tokens,
                                  " tokens at a time or raise capacity_tokens"));
  const int64_t evicted_before = chunks_evicted_;
  Evict(n_new);
  const int64_t first = n_chunks_;
  // An eviction shifted every stored chunk, so the packed keys are rebuilt; otherwise only the new ones.
  const int64_t repack_from = chunks_evicted_ != evicted_before ? 0 : first;
  // One item = one chunk of one kv head: copy its csz tokens' K and V, and average the keys.
  GlobalPool().ParallelFor(Hkv * n_new, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t g = item / n_new, c = item % n_new;
      float* ck = head_chunk_keys(g) + (first + c) * D;
      std::fill(ck, ck + D, 0.0f);
      for (int64_t j = 0; j < csz; ++j) {
        const int64_t tok = c * csz + j, slot = (first + c) * csz + j;
        const float* src_k = k + (tok * Hkv + g) * D;  // k: [N, Hkv, D]
        std::memcpy(head_keys(g) + slot * D, src_k, static_cast<size_t>(D) * sizeof(float));
        std::memcpy(head_values(g) + slot * D, v + (tok * Hkv + g) * D, static_cast<size_t>(D) * sizeof(float));
        for (int64_t d = 0; d < D; ++d) ck[d] += src_k[d];
      }
      // Sum then divide, like torch's mean in fp32.
      for (int64_t d = 0; d < D; ++d) ck[d] /= static_cast<float>(csz);
    }
  });
  n_chunks_ += n_new;
  tokens_written_ += n_new * csz;
  GlobalPool().ParallelFor(Hkv, [&](int64_t begin, int64_t end, int) {
    for (int64_t g = begin; g < end; ++g) packed_[g].Update(head_chunk_keys(g), n_chunks_, repack_from);
  });
  ForEachIndex(
      [&](int64_t g, ChunkIndex* index) { index->Append(head_chunk_keys(g), n_chunks_, n_new, first_chunk_id()); });
  return n_new * csz;
}

Status MemoryBank::Retrieve(const float* q, int64_t T, int64_t H, int64_t n_chunks, std::vector<int32_t>* slots,
                            int64_t* k_out) const {
  LM_CHECK(slots != nullptr && k_out != nullptr, "memory_bank: Retrieve needs slots and k_out");
  const int64_t Hkv = config_.n_head_kv, D = config_.head_dim, csz = config_.chunk_size;
  if (T < 0 || n_chunks < 1)
    return InvalidArgument(StrCat("memory_bank: Retrieve with T = ", T, ", n_chunks = ", n_chunks,
                                  "; hint: T >= 0 query tokens, n_chunks >= 1 (LongMem: k / chunk_size = 16)"));
  if (H < 1 || H % Hkv != 0)
    return InvalidArgument(StrCat("memory_bank: Retrieve with H = ", H, " query heads, not a multiple of n_head_kv = ",
                                  Hkv, "; hint: q is [T, H, D] with H the SideNet's query heads"));
  if (T > 0 && q == nullptr) return InvalidArgument(StrCat("memory_bank: Retrieve of T = ", T, " with null q"));
  const int64_t k = std::min(n_chunks, n_chunks_);
  *k_out = k;
  slots->resize(static_cast<size_t>(T * H * k * csz));
  if (k == 0 || T == 0) return OkStatus();

  const int64_t r = H / Hkv, rows = T * r;                         // rows of kv head g: (t, j) -> query head g * r + j
  std::vector<float> q_by_head(static_cast<size_t>(Hkv * rows * D));  // [Hkv, rows, D]
  for (int64_t t = 0; t < T; ++t)
    for (int64_t g = 0; g < Hkv; ++g)
      std::memcpy(q_by_head.data() + (g * rows + t * r) * D, q + (t * H + g * r) * D,
                  static_cast<size_t>(r * D) * sizeof(float));
  std::vector<int32_t> top(static_cast<size_t>(Hkv * rows * k));  // [Hkv, rows, k] chunk slots

  // Index heads: blocks of rows searched on the pool's threads (each search is single-threaded inside, see
  // chunk_index.h), so decode (few rows) still spreads over the kv heads. About two equal blocks per thread,
  // their count a multiple of the threads: ivf-int8 gains from large blocks (more rows share each list it
  // reads), and 9 equal items on 2 threads would leave one idle for a ninth of the time.
  std::vector<char> by_index(static_cast<size_t>(Hkv), 0);
  for (int64_t g = 0; g < static_cast<int64_t>(indexes_.size()); ++g) by_index[g] = indexes_[g]->ready();
  if (std::find(by_index.begin(), by_index.end(), 1) != by_index.end()) {
    std::vector<int64_t> approx(static_cast<size_t>(Hkv * rows * k));
    const int64_t threads = GlobalPool().n_threads();
    int64_t per_head = (2 * threads + Hkv - 1) / Hkv;
    while ((Hkv * per_head) % threads != 0) ++per_head;
    const int64_t block = std::max<int64_t>(32, (rows + per_head - 1) / per_head);
    const int64_t n_blocks = (rows + block - 1) / block;
    GlobalPool().ParallelFor(Hkv * n_blocks, [&](int64_t begin, int64_t end, int) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t g = item / n_blocks, r0 = (item % n_blocks) * block;
        if (!by_index[g]) continue;
        indexes_[g]->Search(q_by_head.data() + (g * rows + r0) * D, std::min(block, rows - r0), k, chunk_keys(g),
                            n_chunks_, first_chunk_id(),
                            approx.data() + (g * rows + r0) * k);
      }
    });
    // Rows with a -1 (the index found fewer than k live chunks) are re-ranked exactly.
    std::vector<int64_t> redo;
    std::vector<float> redo_q;
    std::vector<int32_t> redo_top;
    for (int64_t g = 0; g < Hkv; ++g) {
      if (!by_index[g]) continue;
      redo.clear();
      for (int64_t row = g * rows; row < (g + 1) * rows; ++row) {
        bool full = true;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t s = approx[row * k + j];
          LM_CHECK(s < n_chunks_, "memory_bank: the index returned chunk slot ", s, " of ", n_chunks_);
          full = full && s >= 0;
          top[row * k + j] = static_cast<int32_t>(s);
        }
        if (!full) redo.push_back(row);
      }
      if (redo.empty()) continue;
      const auto n_redo = static_cast<int64_t>(redo.size());
      exact_fallback_rows_.fetch_add(n_redo, std::memory_order_relaxed);
      redo_q.resize(static_cast<size_t>(n_redo * D));
      redo_top.resize(static_cast<size_t>(n_redo * k));
      for (int64_t i = 0; i < n_redo; ++i)
        std::memcpy(redo_q.data() + i * D, q_by_head.data() + redo[i] * D, static_cast<size_t>(D) * sizeof(float));
      ExactTopK(redo_q.data(), n_redo, packed_[g], k, redo_top.data());
      for (int64_t i = 0; i < n_redo; ++i) std::copy_n(redo_top.data() + i * k, k, top.data() + redo[i] * k);
    }
  }
  // Exact heads (ExactTopK parallelises inside).
  for (int64_t g = 0; g < Hkv; ++g) {
    if (by_index[g]) continue;
    ExactTopK(q_by_head.data() + g * rows * D, rows, packed_[g], k, top.data() + g * rows * k);
  }

  // Expand chunk slots to token slots: [T, H, k * csz].
  int32_t* out = slots->data();
  GlobalPool().ParallelFor(Hkv * rows, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t g = item / rows, row = item % rows, t = row / r, h = g * r + row % r;
      int32_t* dst = out + (t * H + h) * k * csz;
      for (int64_t j = 0; j < k; ++j) {
        const int32_t base = top[item * k + j] * static_cast<int32_t>(csz);
        for (int64_t e = 0; e < csz; ++e) dst[j * csz + e] = base + static_cast<int32_t>(e);
      }
    }
  });
  return OkStatus();
}

}  // namespace lm::membank
