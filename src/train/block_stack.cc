// BlockStack: forward with saved activations or checkpointed inputs, backward newest first.
#include "train/block_stack.h"

#include <algorithm>
#include <utility>

namespace lm::train {

BlockStack::BlockStack(int64_t n_blocks, int64_t checkpoint_span, std::function<BlockCall(int64_t, bool)> call)
    : n_(n_blocks),
      span_(std::clamp<int64_t>(checkpoint_span, 0, std::max<int64_t>(n_blocks, 1))),
      call_(std::move(call)),
      acts_(static_cast<size_t>(span_ > 0 ? span_ : n_blocks)),
      block_in_(span_ > 0 ? static_cast<size_t>((n_blocks + span_ - 1) / span_) : 0) {}

void BlockStack::Forward(float* x, std::function<void(int64_t, float*)> after) {
  after_ = std::move(after);
  for (int64_t l = 0; l < n_; ++l) {
    const BlockCall b = call_(l, false);
    if (span_ > 0 && l % span_ == 0) block_in_[static_cast<size_t>(l / span_)].assign(x, x + b.T * b.config->n_embd);
    BlockForward(b, x, acts(l));
    if (after_) after_(l, x);
  }
}

void BlockStack::Recompute(int64_t l0, int64_t l1) {
  // The saved input becomes the running residual stream of the span, then is freed.
  std::vector<float> x = std::move(block_in_[static_cast<size_t>(l0 / span_)]);
  for (int64_t l = l0; l < l1; ++l) {
    const BlockCall b = call_(l, false);
    // Under MST the MLP recomputes its own chunks in backward, so the last block of the span can skip its
    // MLP (nothing reads that block's output); the blocks below it need their whole output.
    const bool last = l + 1 == l1;
    BlockForward(call_(l, last && MlpChunkRows(*b.config, b.T, *b.o) != 0), x.data(), acts(l));
    if (!last && after_) after_(l, x.data());
  }
}

void BlockStack::Backward(float* dx, int64_t lowest) {
  for (int64_t l = n_ - 1; l >= lowest; --l) {
    if (span_ > 0 && (l + 1 == n_ || (l + 1) % span_ == 0)) Recompute(l / span_ * span_, l + 1);
    BlockBackward(call_(l, false), dx, acts(l));
    if (span_ == 0) std::vector<float>().swap(acts(l).gu);  // release as we go: the peak stays at the forward's
  }
}

uint64_t BlockStack::saved_bytes() const {
  uint64_t saved = 0;
  for (const auto& a : acts_) saved += a.Bytes();
  for (const auto& b : block_in_) saved += b.size() * sizeof(float);
  return saved;
}

}  // namespace lm::train
