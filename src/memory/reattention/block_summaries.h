// Block summaries for cheaper decode selection (on by default in the memory factory): the mean pre-RoPE key
// of every `block` consecutive middle keys of one KV head, InfLLM's "representative key" in its simplest form.
// A decode step ranks the blocks by q . mean for each query row, keeps each row's top share of them, and
// scores exactly only the keys of the union (TopKScorer ranges), so the sweep reads a share of the keys
// instead of all. The top-k is then exact over the candidates and approximate against the whole middle: an
// anchor in a block whose mean ranks low is missed. Quest's per-channel min/max bound was measured first and
// ranks worse at every share on real keys (docs/long_context.md); as an exact pruning bound it prunes nothing.
#pragma once

#include <cstdint>
#include <span>
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

// Buffers a decode step reuses (it allocates nothing after warm-up).
struct CandidateScratch {
  std::vector<float> scores;      // [heads, n_rows, blocks] q . mean
  std::vector<float> thresholds;  // [heads, n_rows] each row's keep threshold
  std::vector<uint8_t> keep;      // [blocks] one head's kept blocks
  std::vector<std::vector<float>> kth;  // per thread: KthLargest's
};

// The key ranges of the middle [0, n_mid) a step scores exactly, for each of s.size() KV heads: head h's query
// rows q[h] [n_rows, D] (the heads' rows consecutive) against its summaries s[h]. For every row the
// ceil(share * nb) blocks (of the nb complete blocks inside the middle) whose mean scores highest (ties: all of
// the tied ones), unioned over the head's rows and merged into ranges out[h], plus the keys after the last
// complete block. Runs over GlobalPool(): the scores in one slice of each head's blocks per thread (per head
// alone the tasks would be 3 on 2 threads), then one task per row for its threshold (KthLargest).
void CandidateRanges(const float* q, int64_t n_rows, std::span<const BlockSummaries> s, int64_t n_mid,
                     double share, CandidateScratch& scratch, std::span<std::vector<KeyRange>> out);

}  // namespace lm::reattention
