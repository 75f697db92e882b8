// BlockStack: forward with saved activations or checkpointed inputs, backward newest first.
#include "train/block_stack.h"

#include <utility>

namespace lm::train {

BlockStack::BlockStack(int64_t n_blocks, bool checkpoint, std::function<BlockCall(int64_t, bool)> call)
    : n_(n_blocks),
      checkpoint_(checkpoint),
      call_(std::move(call)),
      acts_(checkpoint ? 1 : static_cast<size_t>(n_blocks)),
      block_in_(checkpoint ? static_cast<size_t>(n_blocks) : 0) {}

void BlockStack::Forward(float* x, const std::function<void(int64_t, float*)>& after) {
  for (int64_t l = 0; l < n_; ++l) {
    const BlockCall b = call_(l, false);
    if (checkpoint_) block_in_[static_cast<size_t>(l)].assign(x, x + b.T * b.config->n_embd);
    BlockForward(b, x, acts(l));
    if (after) after(l, x);
  }
}

void BlockStack::Backward(float* dx, int64_t lowest) {
  for (int64_t l = n_ - 1; l >= lowest; --l) {
    const BlockCall b = call_(l, false);
    LayerActs& s = acts(l);
    if (checkpoint_) {  // recompute this block's activations from its saved input
      std::vector<float>& xin = block_in_[static_cast<size_t>(l)];
      // Under MST the MLP recomputes its own chunks in backward, so its forward can be skipped here; without
      // MST its saved gate/up activations are needed.
      BlockForward(call_(l, MlpChunkRows(*b.config, b.T, *b.o) != 0), xin.data(), s);
      std::vector<float>().swap(xin);
    }
    BlockBackward(b, dx, s);
    if (!checkpoint_) std::vector<float>().swap(s.gu);  // release as we go: the peak stays at the forward's
  }
}

uint64_t BlockStack::saved_bytes() const {
  uint64_t saved = 0;
  for (const auto& a : acts_) saved += a.Bytes();
  for (const auto& b : block_in_) saved += b.size() * sizeof(float);
  return saved;
}

}  // namespace lm::train
