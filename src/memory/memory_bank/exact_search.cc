// ExactTopK's driver: packed-key storage, row blocks × L2-sized key tiles handed to the fused kernel, and the
// merge of per-range candidates when the keys are split across threads.
#include "memory/memory_bank/exact_search.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "memory/memory_bank/row_topk.h"
#include "memory/memory_bank/topk_scan.h"

namespace lm::membank {
namespace {

constexpr std::align_val_t kAlignment{64};
// Rows per work item: a multiple of every kernel's block (12, 6, 4), large enough that a key tile read from
// L3 is reused by many rows, small enough to leave work for every thread.
constexpr int64_t kRowBlock = 96;
// Keys per tile: 2048 × 64 dims × 4 bytes = 512 KiB, so the tile stays in L2 while all rows pass over it.
constexpr int64_t kKeyTileBytes = 512 * 1024;
// A key range smaller than this is not worth a thread of its own (the merge would cost more than it saves).
constexpr int64_t kMinKeysPerPart = 4096;

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

void PackedKeys::AlignedDelete::operator()(float* p) const { ::operator delete[](p, kAlignment); }

bool PackedKeys::Reserve(int64_t capacity, int64_t head_dim) {
  LM_CHECK(capacity >= 0 && head_dim > 0, "PackedKeys: capacity ", capacity, " head_dim ", head_dim);
  const int64_t cap = RoundUp(std::max<int64_t>(capacity, 1), kAlign);
  data_.reset(static_cast<float*>(
      ::operator new[](static_cast<size_t>(cap * head_dim) * sizeof(float), kAlignment, std::nothrow)));
  if (!data_) {
    cap_ = n_ = 0;
    return false;
  }
  cap_ = cap;
  d_ = head_dim;
  n_ = 0;
  return true;
}

void PackedKeys::Update(const float* keys, int64_t n, int64_t from) {
  LM_CHECK(n >= 0 && n <= cap_ && from >= 0 && from <= n_, "PackedKeys: update to ", n, " keys from ", from, " with ",
           n_, " packed, capacity ", cap_);
  const int64_t D = d_;
  // Whole panels from the one `from` falls in, up to the padded end: keys < n copied, the rest zero.
  const int64_t p_begin = std::min(from, n) / kPanel, p_end = RoundUp(n, kAlign) / kPanel;
  for (int64_t p = p_begin; p < p_end; ++p) {
    float* dst = data_.get() + p * kPanel * D;
    for (int64_t lane = 0; lane < kPanel; ++lane) {
      const int64_t j = p * kPanel + lane;
      if (j < n) {
        const float* src = keys + j * D;
        for (int64_t d = 0; d < D; ++d) dst[d * kPanel + lane] = src[d];
      } else {
        for (int64_t d = 0; d < D; ++d) dst[d * kPanel + lane] = 0.0f;
      }
    }
  }
  n_ = n;
}

void ExactTopK(const float* queries, int64_t n_rows, const PackedKeys& keys, int64_t k, int32_t* out) {
  const int64_t D = keys.head_dim(), n_keys = keys.size();
  LM_CHECK(n_rows >= 0 && D > 0 && k >= 1 && k <= n_keys, "ExactTopK: n_rows ", n_rows, " D ", D, " k ", k,
           " n_keys ", n_keys);
  LM_CHECK(n_keys <= std::numeric_limits<int32_t>::max(), "ExactTopK: n_keys ", n_keys, " exceeds int32");
  if (n_rows == 0) return;
  const int64_t rows_b = std::min(n_rows, kRowBlock);
  const int64_t n_row_blocks = (n_rows + rows_b - 1) / rows_b;
  const int64_t tile = std::max<int64_t>(PackedKeys::kAlign,
                                         kKeyTileBytes / (D * static_cast<int64_t>(sizeof(float))) /
                                             PackedKeys::kAlign * PackedKeys::kAlign);

  // Few rows (decode: T = 1) would leave threads idle, so the keys are split into parts, each searched for
  // its own top-k, and the parts merged. Every part holds at least k keys, so each yields k candidates.
  ThreadPool& pool = GlobalPool();
  int64_t n_parts = 1;
  if (n_row_blocks < pool.n_threads()) {
    const int64_t want = (pool.n_threads() + n_row_blocks - 1) / n_row_blocks;
    n_parts = std::max<int64_t>(1, std::min(want, n_keys / (std::max(k, kMinKeysPerPart) + PackedKeys::kAlign)));
  }
  // Part boundaries on the kernel's alignment; each part still has >= k keys by the bound above.
  auto part_begin = [&](int64_t part) {
    return part == n_parts ? n_keys : n_keys * part / n_parts / PackedKeys::kAlign * PackedKeys::kAlign;
  };
  std::vector<Cand> parts(n_parts > 1 ? static_cast<size_t>(n_rows * n_parts * k) : 0);

  pool.ParallelFor(n_row_blocks * n_parts, [&](int64_t begin, int64_t end, int) {
    std::vector<RowTopK> tops(static_cast<size_t>(rows_b));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r0 = (item / n_parts) * rows_b, part = item % n_parts;
      const int64_t nr = std::min(rows_b, n_rows - r0);
      const int64_t k0 = part_begin(part), k1 = part_begin(part + 1);
      for (int64_t i = 0; i < nr; ++i) tops[i].Init(k);
      for (int64_t c0 = k0; c0 < k1; c0 += tile)
        TopKScan({.queries = queries + r0 * D,
                  .n_rows = nr,
                  .head_dim = D,
                  .packed = keys.data(),
                  .j0 = c0,
                  .j1 = std::min(c0 + tile, k1),
                  .tops = tops.data()});
      for (int64_t i = 0; i < nr; ++i) {
        const std::vector<Cand>& best = tops[i].Finish();
        LM_CHECK(static_cast<int64_t>(best.size()) == k, "ExactTopK: part yielded ", best.size(), " of ", k);
        if (n_parts == 1) {
          for (int64_t j = 0; j < k; ++j) out[(r0 + i) * k + j] = best[j].idx;
        } else {
          std::copy(best.begin(), best.end(), parts.begin() + ((r0 + i) * n_parts + part) * k);
        }
      }
    }
  });
  if (n_parts == 1) return;

  pool.ParallelFor(n_rows, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const auto first = parts.begin() + r * n_parts * k;
      std::partial_sort(first, first + k, first + n_parts * k, Better);
      for (int64_t j = 0; j < k; ++j) out[r * k + j] = first[j].idx;
    }
  });
}

void ExactTopK(const ExactSearchParams& p) {
  LM_CHECK(p.head_dim > 0 && p.n_keys >= 0, "ExactTopK: D ", p.head_dim, " n_keys ", p.n_keys);
  PackedKeys packed;
  LM_CHECK(packed.Reserve(p.n_keys, p.head_dim), "ExactTopK: cannot allocate packed keys for ", p.n_keys, " x ",
           p.head_dim);
  packed.Update(p.keys, p.n_keys, 0);
  ExactTopK(p.queries, p.n_rows, packed, p.k, p.out);
}

const char* ExactSearchTargetName() { return TopKScanTargetName(); }

}  // namespace lm::membank
