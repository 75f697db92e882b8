// Exact top-k of raw dot products q.k between query rows and keys, without materialising the whole
// [rows, keys] score matrix: keys are scored in blocks with sgemm and folded into a running top-k per row.
// This is the "QK^T + per-row top-k" of the spec (A.6), exact rather than the reference's one-key-per-
// 128-block approximation. Keys are f16 (half of f32's bytes) or q8_0 (about a quarter); the top-k is exact
// over the keys as stored. Work is split over (job, row group) tasks on the global pool; at decode, where each
// job has only G query rows, the named keys of all jobs are instead cut into one equal share per thread
// (key segments, merged at the end), so both cores finish together.
// A job may name the key ranges to score (the candidates of block selection, block_summaries.h); the top-k
// is then exact over those keys, and the shares split the named keys, not the whole key range.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ops/attention.h"

namespace lm::reattention {

struct KeyRange {
  int64_t begin = 0, n = 0;  // keys [begin, begin + n)
};

struct ScoreJob {
  const float* q = nullptr;  // [n_rows, D] f32
  int64_t n_rows = 0;
  const void* keys = nullptr;  // [n_keys, D] dense rows of type `type` (f16 or q8_0)
  int64_t n_keys = 0;
  ops::KvDType type = ops::KvDType::kF16;
  float* best_s = nullptr;    // [n_rows, k] out: descending scores
  int32_t* best_i = nullptr;  // [n_rows, k] out: key indices (-1 if fewer than k keys)
  std::span<const KeyRange> ranges = {};  // sorted, disjoint, within [0, n_keys); empty: every key
};

class TopKScorer {
 public:
  void Run(std::span<const ScoreJob> jobs, int64_t head_dim, int64_t k);

 private:
  struct Task {
    int32_t job, row0, n_rows;
    int64_t piece0, n_pieces;  // key ranges of this task in pieces_
    int64_t buf;               // its rows' running top-k at seg_s_ / seg_i_ + buf
  };
  void TakeKeys(const ScoreJob& job, int64_t n, size_t& ri, int64_t& off);
  std::vector<Task> tasks_;
  std::vector<KeyRange> pieces_;
  std::vector<int64_t> slot_first_;   // tasks of pool slot s: [slot_first_[s], slot_first_[s + 1])
  struct Scratch {
    std::vector<float> scores;  // [row block, key block]
    std::vector<float> keys;    // [key block, D] widened to f32
  };
  std::vector<Scratch> scratch_;  // per thread
  static void ScoreKeys(const ScoreJob& job, int64_t row0, int64_t n_rows, KeyRange keys, KeyRange next,
                        int64_t head_dim, int64_t k, Scratch& sc, float* bs, int32_t* bi);
  std::vector<float> seg_s_;  // per task: [its rows, k]
  std::vector<int32_t> seg_i_;
  std::vector<int64_t> job_keys_;  // per job: keys it names (ScoredKeys)
  std::vector<int64_t> job_task0_, job_n_seg_;  // per job: its first task, its number of tasks (consecutive)
};

}  // namespace lm::reattention
