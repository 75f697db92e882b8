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

// Scores `keys` of `job` (at most kKeyBlock) against its rows [row0, row0 + n_rows) and folds the scores into
// those rows' running top-k (bs, bi). `next`: the keys the task scores after these (empty at its end), which the
// few-rows kernel prefetches as these run out: block selection's ranges are often single 32-key blocks, too
// short for a prefetch inside the range to run ahead of the loads.
void TopKScorer::ScoreKeys(const ScoreJob& job, int64_t row0, int64_t n_rows, KeyRange keys, KeyRange next,
                           int64_t head_dim, int64_t k, Scratch& sc, float* bs, int32_t* bi) {
  const auto at = [&](int64_t j) {
    return static_cast<const uint8_t*>(job.keys) + ops::KvBytes(job.type, j * head_dim);
  };
  const void* kb = at(keys.begin);
  const int64_t j0 = keys.begin, nk = keys.n;
  if (n_rows <= kFewRows) {
    const float* q = job.q + row0 * head_dim;
    if (job.type == ops::KvDType::kQ8_0)
      RowDotsQ8(q, n_rows, kb, nk, head_dim, sc.scores.data(), at(next.begin), next.n);
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

// Appends to pieces_ the next n named keys of `job` (its ranges, or all its keys), from the cursor (ri, off),
// which it advances.
void TopKScorer::TakeKeys(const ScoreJob& job, int64_t n, size_t& ri, int64_t& off) {
  const KeyRange whole{0, job.n_keys};
  const auto ranges = job.ranges.empty() ? std::span<const KeyRange>(&whole, 1) : job.ranges;
  while (n > 0 && ri < ranges.size()) {
    const int64_t take = std::min(n, ranges[ri].n - off);
    if (take > 0) pieces_.push_back({ranges[ri].begin + off, take});
    n -= take;
    off += take;
    if (off >= ranges[ri].n) ++ri, off = 0;
  }
}

void TopKScorer::Run(std::span<const ScoreJob> jobs, int64_t head_dim, int64_t k) {
  ThreadPool& pool = GlobalPool();
  const int n_threads = pool.n_threads();
  if (static_cast<int>(scratch_.size()) < n_threads) scratch_.resize(static_cast<size_t>(n_threads));
  int64_t row_tasks = 0, total_keys = 0, max_rows = 0;
  job_keys_.resize(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    const ScoreJob& job = jobs[j];
    LM_CHECK(job.type == ops::KvDType::kF16 || (job.type == ops::KvDType::kQ8_0 && head_dim % 32 == 0),
             "top-k scorer: keys must be f16, or q8_0 with head_dim % 32 == 0 (head_dim ", head_dim, ")");
    row_tasks += (job.n_rows + kRowGroup - 1) / kRowGroup;
    job_keys_[j] = ScoredKeys(job);
    total_keys += job_keys_[j];
    max_rows = std::max(max_rows, job.n_rows);
  }
  tasks_.clear();
  pieces_.clear();
  slot_first_.assign(1, 0);
  job_task0_.assign(jobs.size(), 0);
  job_n_seg_.assign(jobs.size(), 0);
  int64_t buf = 0;  // top-k slots handed out so far
  // A task for rows [r0, r0 + nr) of job j over its next n_keys named keys (cursor ri, off).
  const auto add_task = [&](size_t j, int64_t r0, int64_t nr, int64_t n_keys, size_t& ri, int64_t& off) {
    const auto piece0 = static_cast<int64_t>(pieces_.size());
    TakeKeys(jobs[j], n_keys, ri, off);
    if (job_n_seg_[j]++ == 0) job_task0_[j] = static_cast<int64_t>(tasks_.size());
    tasks_.push_back({static_cast<int32_t>(j), static_cast<int32_t>(r0), static_cast<int32_t>(nr), piece0,
                      static_cast<int64_t>(pieces_.size()) - piece0, buf});
    buf += nr * k;
  };
  const bool few_rows = row_tasks < 2 * n_threads && max_rows <= kRowGroup;
  if (few_rows) {
    // Few rows (decode): the named keys of all jobs, in job order, are cut into one equal share per thread
    // (a share may end one job and begin the next), so the threads finish together even where block
    // selection names more keys for one KV head than for another. A job's shares are its key segments.
    size_t j = 0, ri = 0;
    int64_t used = 0, off = 0;  // named keys of job j already given out; its range cursor
    for (int t = 0; t < n_threads; ++t) {
      int64_t left = (t + 1) * total_keys / n_threads - t * total_keys / n_threads;
      while (left > 0 && j < jobs.size()) {
        const int64_t take = std::min(left, job_keys_[j] - used);
        if (take > 0) add_task(j, 0, jobs[j].n_rows, take, ri, off);
        left -= take;
        used += take;
        if (used == job_keys_[j]) ++j, used = 0, ri = 0, off = 0;
      }
      slot_first_.push_back(static_cast<int64_t>(tasks_.size()));
    }
  } else {
    // Many rows (prefill): one task per (job, row group) over all its named keys.
    for (size_t j = 0; j < jobs.size(); ++j) {
      for (int64_t r0 = 0; r0 < jobs[j].n_rows; r0 += kRowGroup) {
        size_t ri = 0;
        int64_t off = 0;
        add_task(j, r0, std::min(kRowGroup, jobs[j].n_rows - r0), job_keys_[j], ri, off);
        slot_first_.push_back(static_cast<int64_t>(tasks_.size()));
      }
    }
  }
  seg_s_.resize(static_cast<size_t>(buf));
  seg_i_.resize(seg_s_.size());
  const auto n_slots = static_cast<int64_t>(slot_first_.size()) - 1;
  pool.ParallelFor(n_slots, [&](int64_t s0, int64_t s1, int tid) {
    Scratch& sc = scratch_[static_cast<size_t>(tid)];
    sc.scores.resize(static_cast<size_t>(kRowBlock * kKeyBlock));
    sc.keys.resize(static_cast<size_t>(kKeyBlock * head_dim));
    for (int64_t t = slot_first_[static_cast<size_t>(s0)]; t < slot_first_[static_cast<size_t>(s1)]; ++t) {
      const Task& task = tasks_[static_cast<size_t>(t)];
      const ScoreJob& job = jobs[static_cast<size_t>(task.job)];
      float* bs = seg_s_.data() + task.buf;
      int32_t* bi = seg_i_.data() + task.buf;
      for (int64_t r = 0; r < task.n_rows; ++r) ResetTopK(bs + r * k, bi + r * k, k);
      const int64_t p_end = task.piece0 + task.n_pieces;
      for (int64_t p = task.piece0; p < p_end; ++p) {
        const KeyRange piece = pieces_[static_cast<size_t>(p)];
        const int64_t end = piece.begin + piece.n;
        for (int64_t j0 = piece.begin; j0 < end; j0 += kKeyBlock) {
          const KeyRange keys{j0, std::min(kKeyBlock, end - j0)};
          KeyRange next{keys.begin + keys.n, std::min(kKeyBlock, end - keys.begin - keys.n)};  // rest of the piece
          if (next.n == 0 && p + 1 < p_end) next = pieces_[static_cast<size_t>(p + 1)];   // else the next piece
          ScoreKeys(job, task.row0, task.n_rows, keys, next, head_dim, k, sc, bs, bi);
        }
      }
    }
  });
  // Merge each row's segments in key order, so ties still go to the earlier key. A job's tasks are
  // consecutive: its key segments in the few-rows layout (every row), its row groups in the other.
  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t n_tasks = job_n_seg_[j];
    for (int64_t r = 0; r < jobs[j].n_rows; ++r) {
      float* out_s = jobs[j].best_s + r * k;
      int32_t* out_i = jobs[j].best_i + r * k;
      ResetTopK(out_s, out_i, k);
      const int64_t first = few_rows ? 0 : r / kRowGroup, last = few_rows ? n_tasks : first + 1;
      for (int64_t sg = first; sg < last && sg < n_tasks; ++sg) {
        const Task& task = tasks_[static_cast<size_t>(job_task0_[j] + sg)];
        const int64_t base = task.buf + (r - task.row0) * k;
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
