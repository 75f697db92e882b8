// ReAttentionKv (LongCache / ReAttention, spec A): every token's key is kept before RoPE, and each prefill
// chunk or decode step attends, per layer, over [global; selected; local] with positions re-assigned to
// 0..L-1, so a model with an 8K window reads any length with relative distances it was trained on.
// Selection is "position-agnostic top-k attention": raw pre-RoPE q.k scores of every query of the chunk
// and every query head against the middle keys (query head h reads KV head h / G, the correct GQA map,
// not the reference decode path's h % Hkv), exact top-k per row, a vote clipped to recall_clip anchors,
// 32-token spans around them. One token set is shared by all heads of a layer, as in the reference.
//
// Two paths compute the same thing:
// - prefill chunks: the top-k is one sgemm sweep over the middle keys (TopKScorer); the selected keys are
//   gathered and moved to their new positions, then attended (the work is shared by the chunk's queries);
// - decode steps (at most decode_max queries): the same exact sweep (few rows: SIMD row dots instead of
//   sgemm), and attention leaves every key where it is. Keys are also stored rotated at their own
//   positions; because a RoPE score depends only on the query-key position difference, a span moved from
//   position a to b is attended by rotating the query by a - b instead of re-rotating the span's keys
//   (ops::AttentionRuns), and the local window needs no shift at all.
// Memory: pre-RoPE keys in select_type (selection), rotated keys and values in kv_type (attention, f16 by
// default): with f16 selection keys 6 bytes per K/V element pair against dense f16's 4, for an attention
// scope that never outgrows the window. q8_0 selection keys (about 1.06 bytes per element: 5.06 bytes per
// pair) trade memory for exactness: the top-k is exact over the quantised keys, approximate against the f16
// ones. They do not make decode faster: widening the int8 values costs what reading half the bytes saves
// (docs/long_context.md has the measurements).
#pragma once

#include <vector>

#include "memory/memory.h"
#include "memory/reattention/block_summaries.h"
#include "memory/reattention/positions.h"
#include "memory/reattention/scorer.h"
#include "memory/reattention/selection.h"
#include "memory/rope_table.h"
#include "ops/attention.h"

namespace lm {

struct ReAttentionParams {
  int64_t n_global = 32;   // attention-sink tokens at the start, always attended
  int64_t n_local = 4096;  // most recent tokens (including the chunk), always attended
  int64_t chunk = 512;     // queries that share one selection (prefill); decode selects per token
  reattention::SelectionParams selection;
  int64_t max_tokens = 0;  // 0: unlimited; else CanAppend refuses past it
  ops::KvDType kv_type = ops::KvDType::kF32;      // rotated keys and values: f32, f16 or q8_0
  ops::KvDType select_type = ops::KvDType::kF16;  // pre-RoPE selection keys: f16 or q8_0
  int64_t decode_max = 8;  // chunks of at most this many queries attend by key runs; 0: never
  int64_t select_blocks = 0;   // decode: middle keys per block summary; 0: every key is scored (exact top-k)
  double select_share = 0.2;   // decode with select_blocks: share of blocks each query row scores exactly
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
  bool scope_depends_on_step() const override { return true; }
  int64_t AttendedByLastStep(int layer, int64_t begin, int64_t end) const override;

  // Stores c tokens' pre-RoPE keys [c, Hkv, D] and values for `layer` without attending: loads a long cache
  // fast for benchmarks and tests (Attend calls it first, then attends).
  void Append(int layer, const float* k, const float* v, int64_t c);

  const ReAttentionParams& params() const { return p_; }
  // Keys attended by the last step of `layer` (for tests and reports).
  int64_t last_scope(int layer) const { return last_scope_[static_cast<size_t>(layer)]; }
  // Middle-region indices (0 = the first token after the global ones) the last step of `layer` (by default
  // the last layer) selected, sorted (for tests and reports).
  const std::vector<int32_t>& last_selected(int layer = -1) const {
    return last_selected_[static_cast<size_t>(layer < 0 ? g_.n_layer - 1 : layer)];
  }

 private:
  void AttendChunk(int layer, float* q, const float* k, const float* v, int64_t c, float* out);
  void Select(int layer, const float* q, int64_t c, int64_t n_mid, bool decode);
  void AttendGathered(int layer, float* q, int64_t c, float* out);
  void AttendRuns(int layer, const float* q, int64_t c, float* out);

  MemoryGeometry g_;
  ReAttentionParams p_;
  RopeTable rope_;                            // positions [0, max(scope, tokens stored)), grows
  std::vector<std::vector<uint8_t>> k_;       // per (layer, kv head): [S, D] select_type pre-RoPE (selection)
  std::vector<std::vector<uint8_t>> k_rot_;   // per layer: [S, Hkv, D] kv_type, rotated at own position
  std::vector<std::vector<uint8_t>> v_;       // per layer: [S, Hkv, D] kv_type
  std::vector<int64_t> n_;                    // per layer: tokens stored
  std::vector<int64_t> last_scope_;           // per layer
  std::vector<std::vector<int32_t>> last_selected_;  // per layer: the last step's selected middle indices
  std::vector<int32_t> pos_;                  // 0, 1, 2, ...: the stored keys' own positions
  std::vector<reattention::BlockSummaries> blocks_;  // per (layer, kv head) with select_blocks; else empty
  // Scratch reused across steps.
  reattention::TopKScorer scorer_;
  std::vector<reattention::ScoreJob> jobs_;
  reattention::SelectionScratch sel_scratch_;
  reattention::Scope scope_;
  std::vector<float> q_rows_;    // [Hkv, c*G, D] pre-RoPE queries grouped by KV head
  std::vector<float> best_s_;    // [Hkv, c*G, k]
  std::vector<int32_t> best_i_;  // [Hkv, c*G, k]
  std::vector<std::vector<reattention::KeyRange>> ranges_;      // per kv head: block selection's candidates
  reattention::CandidateScratch candidate_scratch_;
  std::vector<float> row_;            // one f32 row being rotated
  std::vector<uint8_t> k_sel_, v_sel_;  // [L, Hkv, D] f32 (f32 caches) or f16: gathered scope (prefill path)
  std::vector<float> q_var_;          // [runs, c, H, D] queries rotated per run (decode path)
  std::vector<ops::KeyRun> runs_;
  std::vector<int32_t> q_abs_;        // [c] the chunk's own positions
};

}  // namespace lm
