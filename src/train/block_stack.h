// A stack of Llama blocks run for training: forward keeps what backward needs (every block's activations, or
// with layer checkpointing only the input of every span-th block), and backward walks the blocks newest
// first, recomputing each span of blocks from its saved input. Shared by the whole-model step and LongMem's
// SideNet.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "train/block.h"

namespace lm::train {

class BlockStack {
 public:
  // call(l, attention_only) describes block l; attention_only is set for the recomputation under MST, where
  // the MLP recomputes its own chunks in backward. checkpoint_span (CheckpointSpan; nonzero only when
  // Backward will run): 0 keeps every block's activations; s keeps the input of blocks 0, s, 2s, ... and,
  // in backward, s blocks' activations at a time.
  BlockStack(int64_t n_blocks, int64_t checkpoint_span,
             std::function<BlockCall(int64_t l, bool attention_only)> call);

  // x: [T, C], the first block's input on entry and the last block's output on return. after(l, x), when
  // given, runs on the residual stream after block l (the SideNet adds its cross-network residual there;
  // that add has an identity gradient, so backward needs no counterpart); it is kept, and called again when
  // Backward recomputes a span, so what it reads must outlive Backward.
  void Forward(float* x, std::function<void(int64_t l, float* x)> after = nullptr);

  // dx: [T, C], dLoss/d(last block output) on entry, dLoss/d(input of block `lowest`) on return. Blocks
  // below `lowest` get no backward (nothing trainable there). Frees what each block saved as it goes.
  void Backward(float* dx, int64_t lowest = 0);

  uint64_t saved_bytes() const;  // activations and checkpointed inputs held after Forward

 private:
  LayerActs& acts(int64_t l) { return acts_[static_cast<size_t>(span_ > 0 ? l % span_ : l)]; }
  void Recompute(int64_t l0, int64_t l1);  // blocks [l0, l1) from block l0's saved input

  int64_t n_ = 0;
  int64_t span_ = 0;
  std::function<BlockCall(int64_t, bool)> call_;
  std::function<void(int64_t, float*)> after_;
  std::vector<LayerActs> acts_;                // one per block, or span_ reused under checkpointing
  std::vector<std::vector<float>> block_in_;  // checkpointing: the input of blocks 0, span_, 2 span_, ...
};

}  // namespace lm::train
