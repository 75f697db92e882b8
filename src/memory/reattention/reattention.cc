// ReAttentionKv implementation: append, select (exact top-k + vote + spans), gather, re-position, attend.
#include "memory/reattention/reattention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/attention.h"

namespace lm {

ReAttentionKv::ReAttentionKv(const MemoryGeometry& geometry, const ReAttentionParams& params)
    : g_(geometry),
      p_(params),
      rope_(geometry.rope, params.scope()),
      k_(static_cast<size_t>(geometry.n_layer * geometry.n_head_kv)),
      v_(static_cast<size_t>(geometry.n_layer)),
      n_(static_cast<size_t>(geometry.n_layer), 0),
      last_scope_(static_cast<size_t>(geometry.n_layer), 0) {
  LM_CHECK(p_.n_global >= 0 && p_.n_local > 0 && p_.chunk > 0 && p_.chunk <= p_.n_local && p_.selection.top_k > 0 &&
               p_.selection.span > 0 && p_.selection.recall_clip >= 0,
           "reattention: bad parameters (validated upstream)");
}

Status ReAttentionKv::CanAppend(int64_t n_tokens) const {
  if (p_.max_tokens > 0 && this->n_tokens() + n_tokens > p_.max_tokens)
    return OutOfRange(StrCat("reattention cache limited to ", p_.max_tokens, " tokens; ", this->n_tokens(),
                             " stored and ", n_tokens, " more given; hint: raise --ctx"));
  return OkStatus();
}

Status ReAttentionKv::Attend(const AttendRequest& r) {
  const int64_t H = g_.n_head, Hkv = g_.n_head_kv, D = g_.head_dim;
  for (int64_t t0 = 0; t0 < r.n_tokens; t0 += p_.chunk) {
    const int64_t c = std::min(p_.chunk, r.n_tokens - t0);
    AttendChunk(r.layer, r.q + t0 * H * D, r.k + t0 * Hkv * D, r.v + t0 * Hkv * D, c, r.out + t0 * H * D);
  }
  return OkStatus();
}

void ReAttentionKv::Select(int layer, const float* q, int64_t c, int64_t n_mid) {
  const int64_t H = g_.n_head, Hkv = g_.n_head_kv, D = g_.head_dim, G = H / Hkv, k = p_.selection.top_k;
  const int64_t rows = c * G;
  q_rows_.resize(static_cast<size_t>(Hkv * rows * D));
  best_s_.resize(static_cast<size_t>(Hkv * rows * k));
  best_i_.resize(best_s_.size());
  // Group the chunk's query heads by KV head so each KV head's keys are one dense sgemm operand.
  for (int64_t t = 0; t < c; ++t)
    for (int64_t h = 0; h < H; ++h)
      std::memcpy(q_rows_.data() + ((h / G) * rows + t * G + h % G) * D, q + (t * H + h) * D,
                  static_cast<size_t>(D) * sizeof(float));
  jobs_.resize(static_cast<size_t>(Hkv));
  for (int64_t h = 0; h < Hkv; ++h) {
    jobs_[static_cast<size_t>(h)] = {.q = q_rows_.data() + h * rows * D,
                                     .n_rows = rows,
                                     .keys = k_[static_cast<size_t>(layer * Hkv + h)].data() + p_.n_global * D,
                                     .n_keys = n_mid,
                                     .best_s = best_s_.data() + h * rows * k,
                                     .best_i = best_i_.data() + h * rows * k};
  }
  scorer_.Run(jobs_, D, k);
  reattention::SelectSpans(best_i_, n_mid, p_.selection, sel_scratch_, &selected_);
}

void ReAttentionKv::AttendChunk(int layer, float* q, const float* k, const float* v, int64_t c, float* out) {
  const auto l = static_cast<size_t>(layer);
  const int64_t Hkv = g_.n_head_kv, D = g_.head_dim, row = Hkv * D;
  for (int64_t h = 0; h < Hkv; ++h) {
    auto& K = k_[l * static_cast<size_t>(Hkv) + static_cast<size_t>(h)];
    for (int64_t t = 0; t < c; ++t) K.insert(K.end(), k + t * row + h * D, k + t * row + (h + 1) * D);
  }
  v_[l].insert(v_[l].end(), v, v + c * row);
  const int64_t N = n_[l] += c;

  selected_.clear();
  if (N > p_.n_global + p_.n_local) Select(layer, q, c, N - p_.n_global - p_.n_local);
  reattention::BuildScope(N, p_.n_global, p_.n_local, selected_, c, &scope_);
  const auto L = static_cast<int64_t>(scope_.index.size());
  last_scope_[l] = L;

  // Gather [global; selected; local] and rotate keys to their new contiguous positions.
  k_sel_.resize(static_cast<size_t>(L * row));
  v_sel_.resize(static_cast<size_t>(L * row));
  for (int64_t i = 0; i < L; ++i) {
    const int64_t src = scope_.index[static_cast<size_t>(i)];
    for (int64_t h = 0; h < Hkv; ++h)
      std::memcpy(k_sel_.data() + i * row + h * D,
                  k_[l * static_cast<size_t>(Hkv) + static_cast<size_t>(h)].data() + src * D,
                  static_cast<size_t>(D) * sizeof(float));
    std::memcpy(v_sel_.data() + i * row, v_[l].data() + src * row, static_cast<size_t>(row) * sizeof(float));
    rope_.RotateRow(k_sel_.data() + i * row, Hkv, scope_.k_pos[static_cast<size_t>(i)]);
  }
  rope_.Rotate(q, scope_.q_pos.data(), c, g_.n_head);

  ops::AttentionArgs a;
  a.q = q;
  a.k = k_sel_.data();
  a.v = v_sel_.data();
  a.q_pos = scope_.q_pos.data();
  a.k_pos = scope_.k_pos.data();
  a.out = out;
  a.n_q = c;
  a.n_kv = L;
  a.n_head = g_.n_head;
  a.n_head_kv = Hkv;
  a.head_dim = D;
  a.scale = 1.0f / std::sqrt(static_cast<float>(D));
  ops::Attention(a);
}

uint64_t ReAttentionKv::kv_bytes() const {
  uint64_t total = 0;
  for (int64_t n : n_) total += static_cast<uint64_t>(n * g_.n_head_kv * g_.head_dim) * 2 * sizeof(float);
  return total;
}

void ReAttentionKv::Clear() {
  for (auto& k : k_) k.clear();
  for (auto& v : v_) v.clear();
  for (auto& n : n_) n = 0;
}

}  // namespace lm
