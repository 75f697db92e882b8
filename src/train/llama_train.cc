// The whole-model training step: embedding → blocks → (side module) → final norm → LM head + CE, then the
// same in reverse. Backward stops below the lowest block that has (or feeds) a trainable tensor.
#include "train/llama_train.h"

#include <numeric>

#include "core/str.h"
#include "ops/embedding.h"
#include "train/block_stack.h"
#include "train/mst.h"
#include "train/ops/embedding_train.h"
#include "train/ops/norm.h"

namespace lm::train {

namespace {
void Add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}
}  // namespace

Result<double> TrainModel::Run(std::span<const int32_t> tokens, std::span<const int32_t> labels,
                               const ComputeOptions& o, bool backward, float loss_scale,
                               bool allow_beyond_context) {
  const ModelConfig& c = config_;
  const int64_t T = static_cast<int64_t>(tokens.size()), C = c.n_embd, L = c.n_layer;
  if (T == 0) return InvalidArgument("train: empty sequence");
  if (labels.size() != tokens.size())
    return InvalidArgument(StrCat("train: ", tokens.size(), " tokens but ", labels.size(), " labels"));
  if (T > c.n_ctx_train && !allow_beyond_context)
    return OutOfRange(StrCat("train: sequence of ", T, " tokens exceeds the model's ", c.n_ctx_train,
                             "-token context; hint: lower --seq-len"));
  for (int64_t t = 0; t < T; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.n_vocab || (labels[t] != -100 && (labels[t] < 0 || labels[t] >= c.n_vocab)))
      return InvalidArgument(StrCat("train: token or label at ", t, " is outside the vocabulary [0, ", c.n_vocab, ")"));
  }
  std::vector<int32_t> pos(static_cast<size_t>(T));
  std::iota(pos.begin(), pos.end(), 0);

  // Forward. Checkpointing keeps only each block's input and one block's worth of activations.
  std::vector<float> x(static_cast<size_t>(T * C));
  if (token_embd_.trainable()) {
    EmbeddingForward(x.data(), token_embd_.f32(), tokens.data(), T, C);
  } else {
    ops::EmbeddingLookup(token_embd_.frozen, tokens.data(), T, x.data());
  }
  const int64_t span = CheckpointSpan(c, L, o, backward, BlockActFloatsPerToken(c, o, false));
  BlockStack stack(L, span, [&](int64_t l, bool attention_only) {
    return BlockCall{.layer = &layers_[static_cast<size_t>(l)], .config = &c, .pos = pos.data(), .T = T, .o = &o,
                     .attention_only = attention_only};
  });
  stack.Forward(x.data());
  last_saved_bytes_ = stack.saved_bytes();

  // Side module on the final residual state.
  std::vector<float> side_in, side_xn, side_rstd, side_out;
  const MlpArgs side_mlp{.gate = &side_.gate, .up = &side_.up, .down = &side_.down, .T = T, .C = C,
                         .I = side_.gate.N, .chunk = 0};
  if (side_.present) {
    side_in = x;
    side_xn.resize(x.size());
    side_rstd.resize(static_cast<size_t>(T));
    side_out.resize(x.size());
    RmsNormForward(side_xn.data(), side_rstd.data(), x.data(), side_.norm.f32(), T, C, c.rms_eps);
    MlpForward(side_out.data(), side_xn.data(), side_mlp);
    Add(x.data(), side_out.data(), T * C);
  }
  std::vector<float> h(static_cast<size_t>(T * C)), rstd_f(static_cast<size_t>(T));
  RmsNormForward(h.data(), rstd_f.data(), x.data(), output_norm_.f32(), T, C, c.rms_eps);
  std::vector<float> dh(backward ? static_cast<size_t>(T * C) : 0);
  const int64_t head_m = o.head_chunks < 0 ? DefaultHeadChunks(c.n_vocab, C, T) : o.head_chunks;
  const double loss = HeadLoss({.head = &head_, .h = h.data(), .labels = labels.data(), .T = T, .C = C,
                                .V = c.n_vocab, .chunk = head_m == 0 ? 0 : ChunkLength(T, head_m),
                                .dh = backward ? dh.data() : nullptr, .loss_scale = loss_scale});
  if (!backward) return loss;

  // Backward.
  int64_t lowest = L;  // blocks below `lowest` need no backward
  if (token_embd_.trainable()) lowest = 0;
  for (int64_t l = 0; l < L && lowest == L; ++l)
    if (layers_[static_cast<size_t>(l)].HasTrainable()) lowest = l;
  std::vector<float> dx(static_cast<size_t>(T * C), 0.0f);
  RmsNormBackward({.dx = dx.data(), .dw = output_norm_.grad(), .dy = dh.data(), .x = x.data(),
                   .w = output_norm_.f32(), .rstd = rstd_f.data(), .R = T, .C = C});
  if (side_.present) {
    std::vector<float> dxn(x.size());
    MlpBackward(dxn.data(), dx.data(), side_xn.data(), side_mlp);
    RmsNormBackward({.dx = dx.data(), .dw = side_.norm.grad(), .dy = dxn.data(), .x = side_in.data(),
                     .w = side_.norm.f32(), .rstd = side_rstd.data(), .R = T, .C = C});
  }
  // Dead from here on (x, h, dh: ~7 KiB per token for SmolLM2, and a side module's three [T, C] buffers);
  // released before the blocks' backward, whose peak is the step's.
  for (auto* dead : {&x, &h, &dh, &side_in, &side_xn, &side_out}) std::vector<float>().swap(*dead);
  stack.Backward(dx.data(), lowest);
  if (token_embd_.trainable()) EmbeddingBackward(token_embd_.grad(), dx.data(), tokens.data(), T, C);
  return loss;
}

uint64_t EstimateActivationBytes(const ModelConfig& c, int64_t T, const ComputeOptions& o) {
  const uint64_t C = static_cast<uint64_t>(c.n_embd), I = static_cast<uint64_t>(c.n_ff);
  const uint64_t V = static_cast<uint64_t>(c.n_vocab), t = static_cast<uint64_t>(T);
  const uint64_t per_layer = t * static_cast<uint64_t>(BlockActFloatsPerToken(c, o, false) + c.n_embd);
  const uint64_t L = static_cast<uint64_t>(c.n_layer);
  const uint64_t span = static_cast<uint64_t>(CheckpointSpan(c, c.n_layer, o, true, BlockActFloatsPerToken(c, o, false)));
  const uint64_t saved = span > 0 ? (L + span - 1) / span * t * C + span * per_layer : L * per_layer;
  const int64_t mlp_rows = o.mlp_chunks == 0 ? T : std::min<int64_t>(T, MlpChunkRows(c, T, o));
  const int64_t head_m = o.head_chunks < 0 ? DefaultHeadChunks(c.n_vocab, c.n_embd, T) : o.head_chunks;
  const uint64_t head_rows = static_cast<uint64_t>(head_m == 0 ? T : ChunkLength(T, head_m));
  const uint64_t transient = std::max<uint64_t>(5 * static_cast<uint64_t>(mlp_rows) * I, head_rows * V) +
                             12 * t * C + 2 * 128 * t * 4;  // MLP/head chunk, block temporaries, attention blocks
  return (saved + transient) * sizeof(float);
}

}  // namespace lm::train
