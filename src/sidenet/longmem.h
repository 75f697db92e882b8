// LongMem end to end over segments (spec §4–5): the frozen backbone reads a segment on its own (positions
// 0..T−1, no cache across segments), the SideNet retrieves from the memory bank and predicts, then the
// cached block's keys and values of that segment are written to the bank. Retrieve-then-write: a segment
// never retrieves itself; it sees itself only through local attention.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "memory/dense_kv.h"
#include "memory/memory_bank/memory_bank.h"
#include "model/forward.h"
#include "model/model.h"
#include "sidenet/sidenet.h"

namespace lm::sidenet {

struct SegmentOptions {
  std::span<const int32_t> labels;  // [T] next-token targets (-100 ignored); empty: no loss
  bool backward = false;            // accumulate SideNet gradients of loss_scale · loss
  float loss_scale = 1.0f;
  bool use_memory = true;           // false: the SideNet sees an empty memory (local attention only)
  bool write_memory = true;         // false: the bank is left as it was (ICL test items)
  train::ComputeOptions compute;
  float* final_hidden = nullptr;    // optional [T, C] SideNet final-normed states (for logits)
  // Optional observer of what the memory layer retrieved: slots [T, H, K] (bank token slots, K tokens per
  // query and head; K = 0 for an empty bank). The view is valid only during the call. Evaluation uses it to
  // ask whether a query retrieved the chunk that holds its answer.
  std::function<void(std::span<const int32_t> slots, int64_t T, int64_t H, int64_t K)> on_retrieve;
};

struct SegmentStats {
  double loss = 0;
  int64_t retrieved = 0;            // tokens retrieved per query and head (0: memory was empty)
  double backbone_seconds = 0;      // frozen backbone forward
  double sidenet_seconds = 0;       // SideNet forward (+ backward), retrieval included
  double write_seconds = 0;         // writing the segment into the bank
};

class LongMem {
 public:
  static Result<std::unique_ptr<LongMem>> Create(std::shared_ptr<const Model> backbone, SideNet* side,
                                                 const MemoryConfig& memory);
  // One segment of at most the backbone's context. Tokens are validated before anything changes.
  Result<SegmentStats> Segment(std::span<const int32_t> tokens, const SegmentOptions& o);
  // Writes a segment to the bank without running the SideNet (reading input into memory needs only the
  // backbone up to the cached block).
  Status Memorize(std::span<const int32_t> tokens);

  membank::MemoryBank& bank() { return *bank_; }
  const membank::MemoryBank& bank() const { return *bank_; }
  void ResetMemory() { bank_->Reset(); }
  // Replaces the bank (one loaded from disk); its geometry must match the backbone.
  Status SetBank(std::unique_ptr<membank::MemoryBank> bank);
  SideNet& side() { return *side_; }
  const Model& backbone() const { return *backbone_; }

 private:
  LongMem() = default;
  Status Backbone(std::span<const int32_t> tokens, bool need_hidden);
  std::shared_ptr<const Model> backbone_;
  SideNet* side_ = nullptr;
  MemoryConfig memory_;
  std::unique_ptr<membank::MemoryBank> bank_;
  std::unique_ptr<DenseKv> kv_;  // the backbone's per-segment cache
  ForwardScratch scratch_;
  std::vector<float> hidden_, final_residual_, mid_, k_, v_;  // [L+1, T, C], [T, C] ×2, [T, Hkv, D] ×2
  std::vector<float> q_centred_;                              // [T, H, D] search queries (RetrievalQuery::kCentred)
  std::vector<int32_t> slots_, pos_;
};

}  // namespace lm::sidenet
