// Block summaries for cheaper decode selection (on by default in the memory factory): the mean pre-RoPE key
// of every `block` consecutive middle keys of one KV head, InfLLM's "representative key" in its simplest form.
// A decode step ranks the blocks by q . mean for each query row, keeps each row's top share of them, and
// scores exactly only the keys of the union (TopKScorer ranges), so the sweep reads a share of the keys
// instead of all. The top-k is then exact over the candidates and approximate against the whole middle: an
// anchor in a block whose mean ranks low is missed. Quest's per-channel min/max bound was measured first and
// ranks worse at every share on real keys (docs/long_context.md); as an exact pruning bound it prunes nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/reattention/scorer.h"

namespace lm::reattention {

class BlockSummaries {
 public:
  BlockSummaries(int64_t block, int64_t head_dim) : block_(block), d_(head_dim) {}

  // Appends n keys (f32, D values each, `stride` floats apart) after those added before.
  void Add(const float* keys, int64_t stride, int64_t n);
  int64_t block() const { return block_; }
  int64_t head_dim() const { return d_; }
  int64_t n_blocks() const { return static_cast<int64_t>(means_.size()) / d_; }  // complete blocks
  const uint16_t* means() const { return means_.data(); }  // [n_blocks, D] IEEE f16
  uint64_t bytes() const { return means_.size() * sizeof(uint16_t) + sum_.size() * sizeof(float); }
  void Clear();

 private:
  int64_t block_, d_;
  int64_t filled_ = 0;       // keys in the block being summed
  std::vector<float> sum_;   // [D] that block's running sum
  std::vector<uint16_t> means_;
};

struct CandidateScratch {
  std::vector<float> scores, thresholds, kth;
  std::vector<uint8_t> keep;
};

// What a step ranks: the nb complete blocks inside the middle [0, n_mid), of which each row keeps its top
// `keep` = ceil(share * nb) (at least 1 when nb > 0).
struct BlockPlan {
  int64_t nb = 0, keep = 0;
};
BlockPlan PlanBlocks(const BlockSummaries& s, int64_t n_mid, double share);

// Rows q [n_rows, D] against blocks [b0, b0 + n): out[r * out_stride + j] = q_r . mean_(b0 + j). A step
// splits the blocks of each KV head across the threads, then takes each row's threshold, its plan.keep-th
// largest score (KthLargest): every block scoring at least that is kept, ties included.
void BlockScores(const float* q, int64_t n_rows, const BlockSummaries& s, int64_t b0, int64_t n, float* out,
                 int64_t out_stride);

// The ranges from n_rows rows' scores [n_rows, plan.nb] and thresholds: the union of each row's kept blocks,
// merged where they touch, plus the keys after the last complete block (up to n_mid), which are always scored.
void RangesFromScores(const float* scores, const float* thresholds, int64_t n_rows, const BlockPlan& plan,
                      int64_t block, int64_t n_mid, std::vector<uint8_t>& keep, std::vector<KeyRange>* out);

// The key ranges of the middle [0, n_mid) a step with query rows q [n_rows, D] scores exactly: for every row
// the ceil(share * nb) blocks (of the nb complete blocks inside the middle) whose mean scores highest (ties: all
// of the tied ones), unioned over the rows and merged into ranges, plus the keys after the last complete block.
// The functions above in turn, on one thread.
void CandidateRanges(const float* q, int64_t n_rows, const BlockSummaries& s, int64_t n_mid, double share,
                     CandidateScratch& scratch, std::vector<KeyRange>* out);

}  // namespace lm::reattention
