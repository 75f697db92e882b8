// A stack of Llama blocks run for training: forward keeps what backward needs (every block's activations, or
// with layer checkpointing only each block's input), and backward walks the blocks newest first, recomputing
// a checkpointed block from its saved input. Shared by the whole-model step and LongMem's SideNet.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "train/block.h"

namespace lm::train {

class BlockStack {
 public:
  // call(l, attention_only) describes block l; attention_only is set for the recomputation under MST, where
  // the MLP recomputes its own chunks in backward. checkpoint: keep only each block's input and one block's
  // activations (pass it only when Backward will run).
  BlockStack(int64_t n_blocks, bool checkpoint, std::function<BlockCall(int64_t l, bool attention_only)> call);

  // x: [T, C], the first block's input on entry and the last block's output on return. after(l, x), when
  // given, runs on the residual stream after block l (the SideNet adds its cross-network residual there;
  // that add has an identity gradient, so backward needs no counterpart).
  void Forward(float* x, const std::function<void(int64_t l, float* x)>& after = nullptr);

  // dx: [T, C], dLoss/d(last block output) on entry, dLoss/d(input of block `lowest`) on return. Blocks
  // below `lowest` get no backward (nothing trainable there). Frees what each block saved as it goes.
  void Backward(float* dx, int64_t lowest = 0);

  uint64_t saved_bytes() const;  // activations and checkpointed inputs held after Forward

 private:
  LayerActs& acts(int64_t l) { return acts_[checkpoint_ ? 0 : static_cast<size_t>(l)]; }
  int64_t n_ = 0;
  bool checkpoint_ = false;
  std::function<BlockCall(int64_t, bool)> call_;
  std::vector<LayerActs> acts_;                // one per block, or one reused under checkpointing
  std::vector<std::vector<float>> block_in_;  // checkpointing: each block's input
};

}  // namespace lm::train
