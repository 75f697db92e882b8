// MemoryBankConfig: validation with actionable messages, enum names, and the "0 = auto" faiss parameters.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/str.h"
#include "memory/memory_bank/faiss_index.h"
#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {

const char* EvictionRuleName(EvictionRule r) {
  switch (r) {
    case EvictionRule::kSpec:
      return "spec";
    case EvictionRule::kExact:
      return "exact";
  }
  return "?";
}

const char* IndexKindName(IndexKind k) {
  switch (k) {
    case IndexKind::kExact:
      return "exact";
    case IndexKind::kFaissIvf:
      return "faiss_ivf";
    case IndexKind::kFaissHnsw:
      return "faiss_hnsw";
    case IndexKind::kIvfInt8:
      return "ivf_int8";
  }
  return "?";
}

FaissParams ResolvedFaissParams(const MemoryBankConfig& c) {
  const int64_t cap = std::max<int64_t>(c.capacity_chunks(), 1);
  FaissParams p;
  // ~4 sqrt(n) lists is faiss's usual advice for n vectors; at most cap/8 so a full bank has >= 8 per list.
  const auto auto_nlist = static_cast<int64_t>(std::lround(4.0 * std::sqrt(static_cast<double>(cap))));
  p.nlist = c.faiss_nlist > 0 ? c.faiss_nlist : std::clamp<int64_t>(auto_nlist, 1, std::max<int64_t>(1, cap / 8));
  p.nprobe = c.faiss_nprobe > 0 ? c.faiss_nprobe : std::max<int64_t>(1, p.nlist / 8);
  // k-means wants ~39 points per centroid (faiss warns below that); half the capacity is always reached,
  // whatever the add size, even under the spec's eviction rule that never fills the bank.
  p.train_chunks = c.faiss_train_chunks > 0 ? c.faiss_train_chunks : std::max(p.nlist, std::min(39 * p.nlist, cap / 2));
  p.hnsw_m = c.hnsw_m;
  p.hnsw_ef_construction = c.hnsw_ef_construction;
  p.hnsw_ef_search = c.hnsw_ef_search;
  return p;
}

Status ValidateConfig(const MemoryBankConfig& c) {
  auto bad = [](const std::string& what, const std::string& hint) {
    return InvalidArgument(StrCat("memory_bank: ", what, "; hint: ", hint));
  };
  if (c.n_head_kv < 1 || c.head_dim < 1)
    return bad(StrCat("n_head_kv = ", c.n_head_kv, ", head_dim = ", c.head_dim, " must both be >= 1"),
               "set them from the backbone layer whose K/V the bank stores");
  if (c.chunk_size < 1)
    return bad(StrCat("chunk_size = ", c.chunk_size, " must be >= 1"), "LongMem uses 4 (2 for ICL)");
  if (c.capacity_tokens < c.chunk_size || c.capacity_tokens % c.chunk_size != 0)
    return bad(
        StrCat("capacity_tokens = ", c.capacity_tokens, " must be a positive multiple of chunk_size = ", c.chunk_size),
        StrCat("e.g. ", std::max<int64_t>(1, c.capacity_tokens / c.chunk_size) * c.chunk_size));
  // Retrieve returns int32 token slots.
  if (c.capacity_tokens > std::numeric_limits<int32_t>::max())
    return bad(StrCat("capacity_tokens = ", c.capacity_tokens, " exceeds the int32 slot range"), "use < 2^31 tokens");
  // Keeps every size product below int64 overflow (the allocation itself reports a too-large bank).
  const double floats =
      static_cast<double>(c.n_head_kv) * static_cast<double>(c.capacity_tokens) * static_cast<double>(c.head_dim);
  if (floats > 0x1p56)
    return bad(StrCat("n_head_kv x capacity_tokens x head_dim = ", c.n_head_kv, " x ", c.capacity_tokens, " x ",
                      c.head_dim, " is beyond any memory"),
               "lower capacity_tokens");
  if (c.eviction != EvictionRule::kSpec && c.eviction != EvictionRule::kExact)
    return bad(StrCat("eviction = ", static_cast<int>(c.eviction), " is not an EvictionRule"), "use kSpec or kExact");
  if (c.index == IndexKind::kExact) return OkStatus();
  if (c.index != IndexKind::kFaissIvf && c.index != IndexKind::kFaissHnsw && c.index != IndexKind::kIvfInt8)
    return bad(StrCat("index = ", static_cast<int>(c.index), " is not an IndexKind"),
               "use kExact, kIvfInt8, kFaissIvf or kFaissHnsw");
  if (c.index == IndexKind::kIvfInt8 && c.head_dim % 4 != 0)
    return bad(StrCat("head_dim = ", c.head_dim, " is not a multiple of 4, which the ivf-int8 codes need"),
               "use the exact index (or faiss) for this model");

  const int64_t cap = c.capacity_chunks();
  if (c.faiss_nlist < 0 || c.faiss_nprobe < 0 || c.faiss_train_chunks < 0)
    return bad(StrCat("faiss_nlist = ", c.faiss_nlist, ", faiss_nprobe = ", c.faiss_nprobe,
                      ", faiss_train_chunks = ", c.faiss_train_chunks, " must be >= 0"),
               "0 picks the automatic value");
  const FaissParams p = ResolvedFaissParams(c);
  if (c.index == IndexKind::kFaissIvf || c.index == IndexKind::kIvfInt8) {
    if (p.nlist > cap)
      return bad(StrCat("faiss_nlist = ", p.nlist, " exceeds the capacity of ", cap, " chunks"),
                 "use ~4 sqrt(capacity_chunks), or 0 for auto");
    if (p.nprobe > p.nlist)
      return bad(StrCat("faiss_nprobe = ", p.nprobe, " exceeds faiss_nlist = ", p.nlist), "probe at most every list");
    if (p.train_chunks < p.nlist || p.train_chunks > cap)
      return bad(StrCat("faiss_train_chunks = ", p.train_chunks, " must lie in [faiss_nlist = ", p.nlist,
                        ", capacity_chunks = ", cap, "]"),
                 "k-means needs at least one chunk per list, and the bank must be able to hold them");
  }
  if (c.index == IndexKind::kFaissHnsw) {
    if (c.hnsw_m < 2 || c.hnsw_m > 512)
      return bad(StrCat("hnsw_m = ", c.hnsw_m, " must lie in [2, 512]"), "16-64 is usual");
    if (c.hnsw_ef_construction < 1 || c.hnsw_ef_search < 1)
      return bad(StrCat("hnsw_ef_construction = ", c.hnsw_ef_construction, ", hnsw_ef_search = ", c.hnsw_ef_search,
                        " must be >= 1"),
                 "64 and 128 are reasonable");
  }
  return OkStatus();
}

}  // namespace lm::membank
