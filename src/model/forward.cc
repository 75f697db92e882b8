// Llama-family blocks: pre-norm attention (GQA, RoPE via Memory) and SwiGLU MLP, residual adds.
#include "model/forward.h"

#include <algorithm>

#include "ops/activations.h"
#include "ops/embedding.h"
#include "ops/matmul.h"
#include "ops/rms_norm.h"

namespace lm {

void ForwardScratch::Ensure(const ModelConfig& c, int64_t T) {
  auto fit = [](std::vector<float>& b, int64_t n) {
    if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  };
  fit(x, T * c.n_embd);
  fit(xn, T * c.n_embd);
  fit(q, T * c.q_dim());
  fit(k, T * c.kv_dim());
  fit(v, T * c.kv_dim());
  fit(att, T * c.q_dim());
  fit(proj, T * c.n_embd);
  fit(gate, T * c.n_ff);
  fit(up, T * c.n_ff);
  fit(hidden, T * c.n_embd);
}

MemoryGeometry GeometryOf(const ModelConfig& c) {
  return {.n_layer = c.n_layer, .n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim = c.head_dim,
          .rope = c.rope};
}

Status ForwardHidden(const Model& model, Memory& memory, std::span<const int32_t> tokens,
                     std::span<const int32_t> pos, ForwardScratch& s, const ForwardTaps* taps) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const int64_t T = static_cast<int64_t>(tokens.size());
  if (T == 0) return InvalidArgument("forward: no tokens given");
  if (pos.size() != tokens.size())
    return InvalidArgument(StrCat("forward: ", tokens.size(), " tokens but ", pos.size(), " positions"));
  for (int32_t id : tokens) {
    if (id < 0 || id >= c.n_vocab)
      return InvalidArgument(StrCat("forward: token id ", id, " is outside the vocabulary [0, ", c.n_vocab, ")"));
  }
  LM_RETURN_IF_ERROR(memory.CanAppend(T));
  s.Ensure(c, T);
  const int64_t C = c.n_embd;
  ops::EmbeddingLookup(w.token_embd, tokens.data(), T, s.x.data());
  float* hs = taps ? taps->hidden_states : nullptr;
  if (hs) std::copy(s.x.begin(), s.x.begin() + T * C, hs);

  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    // Attention block.
    ops::RmsNorm(s.x.data(), lw.attn_norm.data<float>(), s.xn.data(), T, C, c.rms_eps);
    // Q, K and V share their input: one fused call (one activation quantisation, one parallel region).
    const ops::MatMulOut qkv[] = {
        {&lw.wq, s.q.data(), lw.bq.empty() ? nullptr : lw.bq.data<float>()},
        {&lw.wk, s.k.data(), lw.bk.empty() ? nullptr : lw.bk.data<float>()},
        {&lw.wv, s.v.data(), lw.bv.empty() ? nullptr : lw.bv.data<float>()}};
    ops::MatMulMulti(s.xn.data(), qkv, T);
    if (taps && taps->kv_layer == l) {  // before Attend, which may rotate k in place
      std::copy(s.k.begin(), s.k.begin() + T * c.kv_dim(), taps->k);
      std::copy(s.v.begin(), s.v.begin() + T * c.kv_dim(), taps->v);
      if (taps->stop_after_kv) return OkStatus();
    }
    AttendRequest req{.layer = static_cast<int>(l), .q = s.q.data(), .k = s.k.data(), .v = s.v.data(),
                      .pos = pos.data(), .n_tokens = T, .out = s.att.data()};
    LM_RETURN_IF_ERROR(memory.Attend(req));
    ops::MatMul(s.att.data(), lw.wo, s.proj.data(), T);
    ops::AddInPlace(s.x.data(), s.proj.data(), T * C);
    if (taps && taps->kv_layer == l && taps->kv_layer_mid)
      std::copy(s.x.begin(), s.x.begin() + T * C, taps->kv_layer_mid);
    // MLP block.
    ops::RmsNorm(s.x.data(), lw.ffn_norm.data<float>(), s.xn.data(), T, C, c.rms_eps);
    const ops::MatMulOut gate_up[] = {{&lw.w_gate, s.gate.data()}, {&lw.w_up, s.up.data()}};
    ops::MatMulMulti(s.xn.data(), gate_up, T);
    ops::SwiGlu(s.gate.data(), s.up.data(), s.gate.data(), T * c.n_ff);
    ops::MatMul(s.gate.data(), lw.w_down, s.proj.data(), T);
    ops::AddInPlace(s.x.data(), s.proj.data(), T * C);
    if (hs && l + 1 < c.n_layer) std::copy(s.x.begin(), s.x.begin() + T * C, hs + (l + 1) * T * C);
  }
  ops::RmsNorm(s.x.data(), w.output_norm.data<float>(), s.hidden.data(), T, C, c.rms_eps);
  if (hs) std::copy(s.hidden.begin(), s.hidden.begin() + T * C, hs + c.n_layer * T * C);
  if (taps && taps->final_residual) std::copy(s.x.begin(), s.x.begin() + T * C, taps->final_residual);
  return OkStatus();
}

void ComputeLogits(const Model& model, const float* hidden, int64_t n, float* logits) {
  ops::MatMul(hidden, model.weights().output, logits, n);
}

}  // namespace lm
