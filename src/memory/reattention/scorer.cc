// TopKScorer: f16 / q8_0 key blocks widened once for blocked sgemm (row dots for few rows) + running top-k,
// split into tasks, segment results merged per row.
#include "memory/reattention/scorer.h"

#include <algorithm>

#include "backend/cpu/blas.h"
#include "core/check.h"
#include "core/thread_pool.h"
#include "memory/reattention/row_dots.h"
#include "memory/reattention/selection.h"
#include "ops/attention.h"

namespace lm::reattention {

namespace {
constexpr int64_t kRowBlock = 64;    // query rows per sgemm
constexpr int64_t kRowGroup = 512;   // query rows per task: a widened key block serves all of them
constexpr int64_t kKeyBlock = 1024;  // keys per sgemm: 64 x 1024 scores = 256 KiB, stays in L2
constexpr int64_t kMinSegKeys = 4096;
// Up to this many rows (a decode step's query heads of one KV head) the products are SIMD row dots: sgemm's
// packing would cost more than the products, and the sweep is then bound by reading the keys.
constexpr int64_t kFewRows = 16;

int64_t ScoredKeys(const ScoreJob& job) {
  if (job.ranges.empty()) return job.n_keys;
  int64_t n = 0;
  for (const KeyRange& r : job.ranges) n += r.n;
  return n;
}
}  // namespace

// Scores keys [j0, j0 + nk) of `job` (nk <= kKeyBlock) against its rows [row0, row0 + n_rows) and folds the
// scores into those rows' running top-k (bs, bi).
void TopKScorer::ScoreKeys(const ScoreJob& job, int64_t row0, int64_t n_rows, int64_t j0, int64_t nk,
                           int64_t head_dim, int64_t k, Scratch& sc, float* bs, int32_t* bi) {
  const void* kb = static_cast<const uint8_t*>(job.keys) + ops::KvBytes(job.type, j0 * head_dim);
  if (n_rows <= kFewRows) {
    const float* q = job.q + row0 * head_dim;
    if (job.type == ops::KvDType::kQ8_0)
      RowDotsQ8(q, n_rows, kb, nk, head_dim, sc.keys.data(), sc.scores.data());
    else
      RowDotsF16(q, n_rows, static_cast<const uint16_t*>(kb), head_dim, nk, head_dim, sc.scores.data());
    for (int64_t r = 0; r < n_rows; ++r)
      PushTopK(bs + r * k, bi + r * k, k, sc.scores.data() + r * nk, nk, static_cast<int32_t>(j0));
    return;
  }
  ops::LoadKvRow(job.type, kb, sc.keys.data(), nk * head_dim);
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRowBlock) {
    const int64_t nr = std::min(kRowBlock, n_rows - r0);
    SgemmNT(nr, nk, head_dim, job.q + (row0 + r0) * head_dim, sc.keys.data(), sc.scores.data());
    for (int64_t r = 0; r < nr; ++r)
      PushTopK(bs + (r0 + r) * k, bi + (r0 + r) * k, k, sc.scores.data() + r * nk, nk, static_cast<int32_t>(j0));
  }
}

void TopKScorer::Run(std::span<const ScoreJob> jobs, int64_t head_dim, int64_t k) {
  ThreadPool& pool = GlobalPool();
  const int n_threads = pool.n_threads();
  if (static_cast<int>(scratch_.size()) < n_threads) scratch_.resize(static_cast<size_t>(n_threads));
  int64_t total_rows = 0, row_tasks = 0, max_keys = 0;
  row_offset_.resize(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    LM_CHECK(jobs[j].type == ops::KvDType::kF16 || (jobs[j].type == ops::KvDType::kQ8_0 && head_dim % 32 == 0),
             "top-k scorer: keys must be f16, or q8_0 with head_dim % 32 == 0 (head_dim ", head_dim, ")");
    row_offset_[j] = total_rows;
    total_rows += jobs[j].n_rows;
    row_tasks += (jobs[j].n_rows + kRowGroup - 1) / kRowGroup;
    max_keys = std::max(max_keys, ScoredKeys(jobs[j]));
  }
  // Enough tasks for every thread twice over; split keys only when rows alone do not provide them.
  int64_t n_seg = 1;
  if (row_tasks < 2 * n_threads)
    n_seg = std::max<int64_t>(1, std::min((2 * n_threads + row_tasks - 1) / row_tasks, max_keys / kMinSegKeys));
  tasks_.clear();
  pieces_.clear();
  for (size_t j = 0; j < jobs.size(); ++j) {
    const ScoreJob& job = jobs[j];
    const KeyRange whole{0, job.n_keys};
    const std::span<const KeyRange> ranges = job.ranges.empty() ? std::span<const KeyRange>(&whole, 1) : job.ranges;
    const int64_t seg_len = (ScoredKeys(job) + n_seg - 1) / n_seg;
    size_t ri = 0;
    int64_t off = 0;  // keys of ranges[ri] already given to earlier segments
    for (int64_t s = 0; s < n_seg; ++s) {
      // This segment's next seg_len named keys, as pieces of the ranges (in key order).
      seg_pieces_.clear();
      for (int64_t left = seg_len; left > 0 && ri < ranges.size();) {
        const int64_t take = std::min(left, ranges[ri].n - off);
        if (take > 0) seg_pieces_.push_back({ranges[ri].begin + off, take});
        left -= take;
        off += take;
        if (off >= ranges[ri].n) ++ri, off = 0;
      }
      for (int64_t r0 = 0; r0 < job.n_rows; r0 += kRowGroup) {
        tasks_.push_back({static_cast<int32_t>(j), static_cast<int32_t>(r0),
                          static_cast<int32_t>(std::min(kRowGroup, job.n_rows - r0)), static_cast<int32_t>(s),
                          static_cast<int64_t>(pieces_.size()), static_cast<int64_t>(seg_pieces_.size())});
        pieces_.insert(pieces_.end(), seg_pieces_.begin(), seg_pieces_.end());
      }
    }
  }
  seg_s_.resize(static_cast<size_t>(n_seg * total_rows * k));
  seg_i_.resize(seg_s_.size());
  pool.ParallelFor(static_cast<int64_t>(tasks_.size()), [&](int64_t t0, int64_t t1, int tid) {
    Scratch& sc = scratch_[static_cast<size_t>(tid)];
    sc.scores.resize(static_cast<size_t>(kRowBlock * kKeyBlock));
    sc.keys.resize(static_cast<size_t>(kKeyBlock * head_dim));
    for (int64_t t = t0; t < t1; ++t) {
      const Task& task = tasks_[static_cast<size_t>(t)];
      const ScoreJob& job = jobs[static_cast<size_t>(task.job)];
      const int64_t base = (task.seg * total_rows + row_offset_[static_cast<size_t>(task.job)] + task.row0) * k;
      float* bs = seg_s_.data() + base;
      int32_t* bi = seg_i_.data() + base;
      for (int64_t r = 0; r < task.n_rows; ++r) ResetTopK(bs + r * k, bi + r * k, k);
      for (int64_t p = task.piece0; p < task.piece0 + task.n_pieces; ++p) {
        const KeyRange piece = pieces_[static_cast<size_t>(p)];
        for (int64_t j0 = piece.begin; j0 < piece.begin + piece.n; j0 += kKeyBlock)
          ScoreKeys(job, task.row0, task.n_rows, j0, std::min(kKeyBlock, piece.begin + piece.n - j0), head_dim, k,
                    sc, bs, bi);
      }
    }
  });
  // Merge segments in key order, so ties still go to the earlier key.
  for (size_t j = 0; j < jobs.size(); ++j) {
    for (int64_t r = 0; r < jobs[j].n_rows; ++r) {
      float* out_s = jobs[j].best_s + r * k;
      int32_t* out_i = jobs[j].best_i + r * k;
      ResetTopK(out_s, out_i, k);
      for (int64_t s = 0; s < n_seg; ++s) {
        const int64_t base = (s * total_rows + row_offset_[j] + r) * k;
        for (int64_t e = 0; e < k; ++e) {
          const int32_t idx = seg_i_[static_cast<size_t>(base + e)];
          if (idx < 0) break;
          // Insert one (score, index): PushTopK over a single element with idx0 = idx.
          PushTopK(out_s, out_i, k, &seg_s_[static_cast<size_t>(base + e)], 1, idx);
        }
      }
    }
  }
}

}  // namespace lm::reattention
