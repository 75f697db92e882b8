// The SideNet forward and backward over one segment: side layers with cross-network residuals (spec §3.3),
// the memory-augmented layer's joint attention, final norm, the backbone's frozen LM head and the loss.
#include <numeric>

#include "core/str.h"
#include "sidenet/sidenet.h"
#include "train/block_stack.h"
#include "train/mst.h"
#include "train/ops/norm.h"

namespace lm::sidenet {

Result<double> SideNet::Run(const SideNetCall& call, const train::ComputeOptions& o) {
  const ModelConfig& c = backbone_config_;
  const int64_t T = call.T, C = c.n_embd, Ls = config_.n_layer;
  if (T <= 0 || !call.hidden) return InvalidArgument("sidenet: no backbone hidden states given");
  if (!call.labels.empty() && static_cast<int64_t>(call.labels.size()) != T)
    return InvalidArgument(StrCat("sidenet: ", T, " tokens but ", call.labels.size(), " labels"));
  const bool backward = call.backward && !call.labels.empty();
  const float* H = call.hidden;
  if (config_.prenorm_last() && !call.final_residual)
    return InvalidArgument("sidenet: this SideNet's last residual reads the backbone's pre-norm final state; none given");
  // H[L] is the final-normed state (spec) unless this SideNet's init reads the pre-norm one.
  auto hidden_at = [&](int64_t k) {
    return k == c.n_layer && config_.prenorm_last() ? call.final_residual : H + k * T * C;
  };
  // Side layer l reads (at initialisation) the backbone state at_input(l) and adds at_input(l+1) − from(l)
  // after its block. The spec's boundaries are H[2l]; a live memory layer reads H[m] and its residual starts
  // from M[m], so it takes the place of block m's attention (sidenet_config.h kBackboneMemory).
  const bool live = config_.live_memory();
  const int64_t lm = config_.side_memory_layer();
  if (live && !call.memory_layer_mid)
    return InvalidArgument("sidenet: this SideNet's memory layer reads the cached block's mid-block state; none given");
  auto at_input = [&](int64_t l) { return hidden_at(live && l == lm ? 2 * l + 1 : 2 * l); };
  auto from = [&](int64_t l) { return live && l == lm ? call.memory_layer_mid : at_input(l); };
  std::vector<int32_t> pos(static_cast<size_t>(T));
  std::iota(pos.begin(), pos.end(), 0);

  train::JointAttention joint;
  if (call.retrieve) joint.retrieve = call.retrieve;
  else joint.retrieve = [](const float*, int64_t) { return train::MemoryAttentionShape{}; };
  joint.gate = &gate_;

  // Forward: x = at_input(0); x = block_l(x) + at_input(l+1) − from(l) (the spec's H[2l+2] − H[2l]).
  std::vector<float> x(at_input(0), at_input(0) + T * C);
  // The memory layer's joint attention saves a little more than the others; the span is sized by it.
  const int64_t span = train::CheckpointSpan(c, Ls, o, backward, train::BlockActFloatsPerToken(c, o, true));
  train::BlockStack stack(Ls, span, [&](int64_t l, bool attention_only) {
    return train::BlockCall{.layer = &layers_[static_cast<size_t>(l)], .config = &c, .pos = pos.data(), .T = T,
                            .o = &o, .attention_only = attention_only,
                            .joint = l == lm ? &joint : nullptr};
  });
  stack.Forward(x.data(), [&](int64_t l, float* xs) {
    const float* hi = at_input(l + 1);
    const float* lo = from(l);
    for (int64_t i = 0; i < T * C; ++i) xs[i] += hi[i] - lo[i];
  });
  std::vector<float> h(static_cast<size_t>(T * C)), rstd(static_cast<size_t>(T));
  train::RmsNormForward(h.data(), rstd.data(), x.data(), output_norm_.f32(), T, C, c.rms_eps);
  if (call.final_hidden) std::copy(h.begin(), h.end(), call.final_hidden);
  if (call.labels.empty()) return 0.0;

  std::vector<float> dh(backward ? static_cast<size_t>(T * C) : 0);
  const int64_t head_m = o.head_chunks < 0 ? train::DefaultHeadChunks(c.n_vocab, C, T) : o.head_chunks;
  const double loss = train::HeadLoss({.head = &head_, .h = h.data(), .labels = call.labels.data(), .T = T, .C = C,
                                       .V = c.n_vocab, .chunk = head_m == 0 ? 0 : train::ChunkLength(T, head_m),
                                       .dh = backward ? dh.data() : nullptr, .loss_scale = call.loss_scale});
  if (!backward) return loss;

  // Backward. The cross-network residuals come from the frozen backbone: the gradient passes through them
  // to x unchanged and stops there.
  std::vector<float> dx(static_cast<size_t>(T * C), 0.0f);
  train::RmsNormBackward({.dx = dx.data(), .dw = output_norm_.grad(), .dy = dh.data(), .x = x.data(),
                          .w = output_norm_.f32(), .rstd = rstd.data(), .R = T, .C = C});
  // Dead from here on; released before the blocks' backward, whose peak is the step's.
  for (auto* dead : {&x, &h, &dh}) std::vector<float>().swap(*dead);
  stack.Backward(dx.data());
  return loss;
}

void SideNet::Logits(const float* hidden, int64_t n, float* logits) const { head_.Forward(logits, hidden, n); }

}  // namespace lm::sidenet
