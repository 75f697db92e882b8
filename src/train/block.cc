// One Llama block, training forward and backward: pre-norm attention (RoPE, GQA, causal by position; or
// LongMem's joint local + memory attention) and the SwiGLU MLP (MST chunks or saved activations), each added
// to the residual stream.
#include "train/block.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "train/mst.h"
#include "train/ops/attention_train.h"
#include "train/ops/norm.h"
#include "train/ops/rope_train.h"

namespace lm::train {

void LayerActs::Resize(const ModelConfig& c, int64_t T, bool save_gu, bool joint) {
  auto fit = [](std::vector<float>& b, int64_t n) { b.resize(static_cast<size_t>(n)); };
  fit(x_in, T * c.n_embd);
  fit(rstd1, T);
  fit(q, T * c.q_dim());
  fit(k, T * c.kv_dim());
  fit(v, T * c.kv_dim());
  fit(att, T * c.q_dim());
  fit(lse, T * c.n_head);
  fit(x_mid, T * c.n_embd);
  fit(rstd2, T);
  if (save_gu) {
    fit(gu, 2 * T * c.n_ff);
  } else {
    std::vector<float>().swap(gu);
  }
  if (joint) {
    fit(q_pre, T * c.q_dim());
    fit(mem, T * c.q_dim());
    fit(mem_lse, T * c.n_head);
  } else {
    for (auto* b : {&q_pre, &mem, &mem_lse}) std::vector<float>().swap(*b);
  }
  mem_shape = {};
}

uint64_t LayerActs::Bytes() const {
  uint64_t n = 0;
  for (const auto* b : {&x_in, &rstd1, &q, &k, &v, &att, &lse, &x_mid, &rstd2, &gu, &q_pre, &mem, &mem_lse})
    n += b->size();
  return n * sizeof(float);
}

int64_t MlpChunkRows(const ModelConfig& c, int64_t T, const ComputeOptions& o) {
  if (o.mlp_chunks == 0) return 0;
  if (o.mlp_chunks < 0) return c.n_embd;  // HF-fork rule: chunks of C tokens
  return std::max<int64_t>(1, (T + o.mlp_chunks - 1) / o.mlp_chunks);
}

int64_t BlockActFloatsPerToken(const ModelConfig& c, const ComputeOptions& o, bool joint) {
  // Read off LayerActs itself at one token (a few thousand floats, once per step), so the count cannot
  // drift from what BlockForward saves.
  LayerActs one;
  one.Resize(c, 1, MlpChunkRows(c, 1, o) == 0, joint);
  return static_cast<int64_t>(one.Bytes() / sizeof(float));
}

int64_t CheckpointSpan(const ModelConfig& c, int64_t n_blocks, const ComputeOptions& o, bool backward,
                       int64_t act_floats) {
  if (!o.checkpoint_layers || !backward || n_blocks <= 0) return 0;
  if (o.checkpoint_span > 0) return std::min(o.checkpoint_span, n_blocks);
  int64_t best = 1, best_floats = std::numeric_limits<int64_t>::max();
  for (int64_t s = 1; s <= n_blocks; ++s) {
    const int64_t floats = (n_blocks + s - 1) / s * c.n_embd + s * act_floats;
    if (floats < best_floats) best = s, best_floats = floats;
  }
  return best;
}

bool TrainLayer::HasTrainable() const {
  for (const Projection* p : {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down})
    if (p->HasTrainable()) return true;
  return attn_norm.trainable() || ffn_norm.trainable();
}

namespace {

AttentionShape AttnShape(const ModelConfig& c, const LayerActs& s, const int32_t* pos, int64_t T) {
  return {.q = s.q.data(), .k = s.k.data(), .v = s.v.data(), .q_pos = pos, .k_pos = pos, .T = T, .S = T,
          .H = c.n_head, .Hkv = c.n_head_kv, .D = c.head_dim,
          .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
}

bool JointActive(const LayerActs& s) { return s.mem_shape.K > 0; }

// The input of the output projection: the local attention, or its gated mix with the memory attention.
const float* AttentionMix(const BlockCall& b, const LayerActs& s, std::vector<float>& buf) {
  if (!JointActive(s)) return s.att.data();
  const ModelConfig& c = *b.config;
  buf.resize(s.att.size());
  GateMixForward(buf.data(), s.att.data(), s.mem.data(), b.joint->gate->f32(), b.T, c.n_head, c.head_dim);
  return buf.data();
}

}  // namespace

void BlockForward(const BlockCall& b, float* x, LayerActs& s) {
  const ModelConfig& c = *b.config;
  const int64_t T = b.T, C = c.n_embd;
  const int32_t* pos = b.pos;
  const ComputeOptions& o = *b.o;
  const TrainLayer& L = *b.layer;
  const int64_t mlp_chunk = MlpChunkRows(c, T, o);
  s.Resize(c, T, mlp_chunk == 0, b.joint != nullptr);
  std::vector<float> xn(static_cast<size_t>(T * C)), tmp(static_cast<size_t>(T * C));
  std::copy(x, x + T * C, s.x_in.begin());
  RmsNormForward(xn.data(), s.rstd1.data(), x, L.attn_norm.f32(), T, C, c.rms_eps);
  L.wq.Forward(s.q.data(), xn.data(), T);
  L.wk.Forward(s.k.data(), xn.data(), T);
  L.wv.Forward(s.v.data(), xn.data(), T);
  if (b.joint) {
    // Retrieval and memory attention use the query before RoPE: the bank holds position-free keys.
    std::copy(s.q.begin(), s.q.end(), s.q_pre.begin());
    s.mem_shape = b.joint->retrieve(s.q_pre.data(), T);
    s.mem_shape.q = s.q_pre.data();
    if (JointActive(s)) MemoryAttentionForward(s.mem.data(), s.mem_lse.data(), s.mem_shape);
  }
  RopeForward(s.q.data(), pos, T, c.n_head, c.rope);
  RopeForward(s.k.data(), pos, T, c.n_head_kv, c.rope);
  AttentionForward(s.att.data(), s.lse.data(), AttnShape(c, s, pos, T));
  std::vector<float> mix;
  L.wo.Forward(tmp.data(), AttentionMix(b, s, mix), T);
  for (int64_t i = 0; i < T * C; ++i) x[i] += tmp[static_cast<size_t>(i)];
  std::copy(x, x + T * C, s.x_mid.begin());
  RmsNormForward(xn.data(), s.rstd2.data(), x, L.ffn_norm.f32(), T, C, c.rms_eps);
  if (b.attention_only) return;
  MlpForward(tmp.data(), xn.data(),
             {.gate = &L.w_gate, .up = &L.w_up, .down = &L.w_down, .T = T, .C = C, .I = c.n_ff,
              .chunk = mlp_chunk, .saved_gu = s.gu.empty() ? nullptr : s.gu.data()});
  for (int64_t i = 0; i < T * C; ++i) x[i] += tmp[static_cast<size_t>(i)];
}

void BlockBackward(const BlockCall& b, float* dx, LayerActs& s) {
  const ModelConfig& c = *b.config;
  const int64_t T = b.T, C = c.n_embd;
  const int32_t* pos = b.pos;
  const ComputeOptions& o = *b.o;
  const TrainLayer& L = *b.layer;
  std::vector<float> xn(static_cast<size_t>(T * C)), dxn(static_cast<size_t>(T * C));
  std::vector<float> scratch_rstd(static_cast<size_t>(T));
  // MLP sub-block: out = x_mid + mlp(norm(x_mid)).
  RmsNormForward(xn.data(), scratch_rstd.data(), s.x_mid.data(), L.ffn_norm.f32(), T, C, c.rms_eps);
  MlpBackward(dxn.data(), dx, xn.data(),
              {.gate = &L.w_gate, .up = &L.w_up, .down = &L.w_down, .T = T, .C = C, .I = c.n_ff,
               .chunk = MlpChunkRows(c, T, o), .saved_gu = s.gu.empty() ? nullptr : s.gu.data()});
  RmsNormBackward({.dx = dx, .dw = L.ffn_norm.grad(), .dy = dxn.data(), .x = s.x_mid.data(),
                   .w = L.ffn_norm.f32(), .rstd = s.rstd2.data(), .R = T, .C = C});
  // Attention sub-block: x_mid = x_in + wo(mix(attn(rope(q), rope(k), v), memattn(q))).
  std::vector<float> datt(s.att.size()), dq(s.q.size()), dk(s.k.size()), dv(s.v.size()), mix, dmem;
  L.wo.Backward(datt.data(), dx, AttentionMix(b, s, mix), T, false);
  if (JointActive(s)) {
    dmem.resize(s.mem.size());
    // datt (d of the mix) becomes d of the local attention output in place.
    GateMixBackward(datt.data(), dmem.data(), b.joint->gate->grad(), datt.data(), s.att.data(), s.mem.data(),
                    b.joint->gate->f32(), T, c.n_head, c.head_dim);
  }
  AttentionBackward({.dq = dq.data(), .dk = dk.data(), .dv = dv.data(), .dout = datt.data(), .out = s.att.data(),
                     .lse = s.lse.data(), .fwd = AttnShape(c, s, pos, T)});
  RopeBackward(dq.data(), pos, T, c.n_head, c.rope);
  RopeBackward(dk.data(), pos, T, c.n_head_kv, c.rope);
  if (JointActive(s)) MemoryAttentionBackward(dq.data(), dmem.data(), s.mem.data(), s.mem_lse.data(), s.mem_shape);
  RmsNormForward(xn.data(), scratch_rstd.data(), s.x_in.data(), L.attn_norm.f32(), T, C, c.rms_eps);
  L.wq.Backward(dxn.data(), dq.data(), xn.data(), T, false);
  L.wk.Backward(dxn.data(), dk.data(), xn.data(), T, true);
  L.wv.Backward(dxn.data(), dv.data(), xn.data(), T, true);
  RmsNormBackward({.dx = dx, .dw = L.attn_norm.grad(), .dy = dxn.data(), .x = s.x_in.data(),
                   .w = L.attn_norm.f32(), .rstd = s.rstd1.data(), .R = T, .C = C});
}

}  // namespace lm::train
