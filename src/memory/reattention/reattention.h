// ReAttentionKv (LongCache / ReAttention, spec A): every token's key is kept before RoPE, and each prefill
// chunk or decode step attends, per layer, over [global; selected; local] with positions re-assigned to
// 0..L-1, so a model with an 8K window reads any length with relative distances it was trained on.
// Selection is "position-agnostic top-k attention": raw pre-RoPE q.k scores of every query of the chunk
// and every query head against the middle keys (query head h reads KV head h / G, the correct GQA map,
// not the reference decode path's h % Hkv), exact top-k per row, a vote clipped to recall_clip anchors,
// 32-token spans around them. One token set is shared by all heads of a layer, as in the reference.
// Memory is the full cache (bounded by max_tokens when set); the gain is a bounded attention scope.
#pragma once

#include <vector>

#include "memory/memory.h"
#include "memory/reattention/positions.h"
#include "memory/reattention/scorer.h"
#include "memory/reattention/selection.h"
#include "memory/rope_table.h"

namespace lm {

struct ReAttentionParams {
  int64_t n_global = 32;   // attention-sink tokens at the start, always attended
  int64_t n_local = 4096;  // most recent tokens (including the chunk), always attended
  int64_t chunk = 512;     // queries that share one selection (prefill); decode selects per token
  reattention::SelectionParams selection;
  int64_t max_tokens = 0;  // 0: unlimited; else CanAppend refuses past it
  // Largest attended set: the positions used never reach this, so it must fit the pretrained window.
  int64_t scope() const { return n_global + selection.recall_clip * selection.span + n_local; }
};

class ReAttentionKv final : public Memory {
 public:
  ReAttentionKv(const MemoryGeometry& geometry, const ReAttentionParams& params);

  std::string_view name() const override { return "reattention"; }
  RopeRegime rope_regime() const override { return RopeRegime::kRotateOnRead; }
  Status Attend(const AttendRequest& r) override;
  Status CanAppend(int64_t n_tokens) const override;
  int64_t n_tokens() const override { return n_.empty() ? 0 : n_[0]; }
  uint64_t kv_bytes() const override;
  void Clear() override;
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<ReAttentionKv>(*this); }

  const ReAttentionParams& params() const { return p_; }
  // Keys attended by the last step of `layer` (for tests and reports).
  int64_t last_scope(int layer) const { return last_scope_[static_cast<size_t>(layer)]; }

 private:
  void AttendChunk(int layer, float* q, const float* k, const float* v, int64_t c, float* out);
  void Select(int layer, const float* q, int64_t c, int64_t n_mid);

  MemoryGeometry g_;
  ReAttentionParams p_;
  RopeTable rope_;
  std::vector<std::vector<float>> k_;  // per (layer, kv head): [S, D] f32 pre-RoPE (dense rows for sgemm)
  std::vector<std::vector<float>> v_;  // per layer: [S, Hkv, D] f32
  std::vector<int64_t> n_;             // per layer: tokens stored
  std::vector<int64_t> last_scope_;    // per layer
  // Scratch reused across steps.
  reattention::TopKScorer scorer_;
  std::vector<reattention::ScoreJob> jobs_;
  reattention::SelectionScratch sel_scratch_;
  reattention::Scope scope_;
  std::vector<float> q_rows_;    // [Hkv, c*G, D] pre-RoPE queries grouped by KV head
  std::vector<float> best_s_;    // [Hkv, c*G, k]
  std::vector<int32_t> best_i_;  // [Hkv, c*G, k]
  std::vector<int32_t> selected_;
  std::vector<float> k_sel_, v_sel_;  // [L, Hkv, D] gathered scope
};

}  // namespace lm
