// One Llama block's training forward and backward (pre-norm attention with RoPE/GQA, SwiGLU MLP), shared by
// the whole-model step and LongMem's SideNet. A block may carry LongMem's joint attention: local causal
// attention and attention over tokens retrieved from a memory bank, two softmaxes mixed by a per-head gate.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "model/config.h"
#include "train/ops/memory_attention_train.h"
#include "train/param.h"

namespace lm::train {

// How a step is computed; none of these change the result beyond f32 rounding.
struct ComputeOptions {
  int64_t mlp_chunks = 0;   // MST mini-sequences for the MLP: 0 = off (save [T, I]), -1 = auto (chunks of C tokens)
  int64_t head_chunks = 0;  // MST mini-sequences for LM head + CE: 0 = off ([T, V] logits), -1 = auto (mst.h)
  bool checkpoint_layers = false;  // keep only some blocks' inputs; recompute the blocks in backward
  // Under checkpoint_layers, blocks recomputed together from one saved input: 1 saves every block's input
  // and holds one block's activations in backward; s saves every s-th input and holds s blocks' activations.
  // 0 = auto: the span that holds the fewest floats (CheckpointSpan). Same result for every span.
  int64_t checkpoint_span = 0;
};

// MLP rows per mini-sequence under o (0 = whole sequence with saved activations).
int64_t MlpChunkRows(const ModelConfig& c, int64_t T, const ComputeOptions& o);

// Floats per token that one block's saved activations (LayerActs) hold under o.
int64_t BlockActFloatsPerToken(const ModelConfig& c, const ComputeOptions& o, bool joint);

// The checkpoint span for a stack of n_blocks blocks under o: 0 without checkpointing (or without backward),
// o.checkpoint_span when set, else the s minimising ceil(n_blocks / s) saved inputs (C floats per token each)
// + s blocks' activations (act_floats per token each) — for SmolLM2-135M under MST: s = 3, 54 KiB per token
// instead of 78 KiB at s = 1.
int64_t CheckpointSpan(const ModelConfig& c, int64_t n_blocks, const ComputeOptions& o, bool backward,
                       int64_t act_floats);

// One block's weights; each is trainable or frozen as the spec declared.
struct TrainLayer {
  Weight attn_norm, ffn_norm;                    // [C]
  Projection wq, wk, wv, wo, w_gate, w_up, w_down;
  bool HasTrainable() const;
};

// LongMem's memory-augmented attention at one block (spec longmem.md §4, code convention):
//   out = W_o · ((1 − σ(b_h))·A + σ(b_h)·M)   while the memory holds something,
//   out = W_o · A                             while it is empty (no gate factor at all),
// A = local causal attention with RoPE, M = attention over retrieved tokens with the *unrotated* query.
struct JointAttention {
  // Called in forward (and again when a checkpointed block is recomputed) with the block's unrotated
  // queries [T, H, D]; returns the bank view and retrieved slots (q is filled in by the block). K == 0 means
  // an empty memory. The slots it points to must stay valid until the block's backward has run.
  std::function<MemoryAttentionShape(const float* q_pre, int64_t T)> retrieve;
  const Weight* gate = nullptr;  // [H] gate logits b_h
};

// What a block's backward needs. x_in and x_mid are the residual stream before each sub-block;
// normalised inputs are recomputed from them and the saved rstd.
struct LayerActs {
  std::vector<float> x_in, rstd1, q, k, v, att, lse, x_mid, rstd2;
  std::vector<float> gu;  // [2, T, I] gate/up pre-activations; empty under MST
  // Joint attention only: unrotated queries, memory attention output and its log-sum-exp.
  std::vector<float> q_pre, mem, mem_lse;
  MemoryAttentionShape mem_shape;  // K == 0: memory empty or no joint attention
  void Resize(const ModelConfig& c, int64_t T, bool save_gu, bool joint);
  uint64_t Bytes() const;
};

struct BlockCall {
  const TrainLayer* layer = nullptr;
  const ModelConfig* config = nullptr;
  const int32_t* pos = nullptr;  // [T] positions for RoPE and the causal mask
  int64_t T = 0;
  const ComputeOptions* o = nullptr;
  // Only the attention half (the recomputation under checkpointing with MST needs x_mid, not the MLP).
  bool attention_only = false;
  const JointAttention* joint = nullptr;  // null: plain local attention
};

// x: [T, C] the block input on entry, its output on return.
void BlockForward(const BlockCall& b, float* x, LayerActs& s);
// dx: [T, C] holds dLoss/d(block output) on entry and dLoss/d(block input) on return. Parameter grads
// accumulate.
void BlockBackward(const BlockCall& b, float* dx, LayerActs& s);

}  // namespace lm::train
