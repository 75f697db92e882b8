// StreamingKv implementation: ring buffer after the sinks; keys rotated at their cache index per step.
#include "memory/streaming.h"

#include <algorithm>
#include <cstring>

#include "ops/attention.h"

namespace lm {

StreamingKv::StreamingKv(const MemoryGeometry& geometry, const StreamingParams& params)
    : g_(geometry),
      p_(params),
      rope_(geometry.rope, params.n_sink + params.n_window),
      k_(static_cast<size_t>(geometry.n_layer)),
      v_(static_cast<size_t>(geometry.n_layer)),
      n_seen_(static_cast<size_t>(geometry.n_layer), 0) {
  LM_CHECK(p_.n_sink >= 0 && p_.n_window > 0 && p_.chunk > 0, "streaming: bad parameters (validated upstream)");
}

int64_t StreamingKv::SlotOf(int64_t token) const {
  return token < p_.n_sink ? token : p_.n_sink + (token - p_.n_sink) % p_.n_window;
}

Status StreamingKv::Attend(const AttendRequest& r) {
  const int64_t H = g_.n_head, Hkv = g_.n_head_kv, D = g_.head_dim;
  const int64_t step = std::min(p_.chunk, p_.n_window);
  for (int64_t t0 = 0; t0 < r.n_tokens; t0 += step) {
    const int64_t n = std::min(step, r.n_tokens - t0);
    AttendChunk(r.layer, r.q + t0 * H * D, r.k + t0 * Hkv * D, r.v + t0 * Hkv * D, n, r.out + t0 * H * D);
  }
  return OkStatus();
}

void StreamingKv::AttendChunk(int layer, float* q, const float* k, const float* v, int64_t n, float* out) {
  const auto l = static_cast<size_t>(layer);
  const int64_t row = g_.n_head_kv * g_.head_dim, cap = capacity();
  auto& K = k_[l];
  auto& V = v_[l];
  const int64_t seen = n_seen_[l];
  const int64_t total = seen + n;
  const auto used = std::min(total, cap);
  if (static_cast<int64_t>(K.size()) < used * row) {
    // Grow in steps up to the capacity; a short conversation never pays for the whole window.
    const int64_t want = std::min(cap, std::max(used, static_cast<int64_t>(K.size()) / row * 2));
    K.resize(static_cast<size_t>(want * row));
    V.resize(static_cast<size_t>(want * row));
  }
  // Writing the chunk overwrites the oldest window slots: the reference evicts for space before a step.
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = SlotOf(seen + i);
    std::memcpy(K.data() + s * row, k + i * row, static_cast<size_t>(row) * sizeof(float));
    std::memcpy(V.data() + s * row, v + i * row, static_cast<size_t>(row) * sizeof(float));
  }
  n_seen_[l] = total;

  // Cache index = position: sinks 0..n_sink-1, then the window in age order.
  const int64_t n_sink = std::min(total, p_.n_sink);
  const int64_t first_win = std::max(p_.n_sink, total - p_.n_window);
  k_rot_.resize(static_cast<size_t>(used * row));
  k_pos_.resize(static_cast<size_t>(used));
  q_pos_.resize(static_cast<size_t>(n));
  for (int64_t tok = 0; tok < n_sink; ++tok) k_pos_[static_cast<size_t>(tok)] = static_cast<int32_t>(tok);
  for (int64_t tok = first_win; tok < total; ++tok)
    k_pos_[static_cast<size_t>(SlotOf(tok))] = static_cast<int32_t>(n_sink + tok - first_win);
  std::copy(K.begin(), K.begin() + used * row, k_rot_.begin());
  for (int64_t s = 0; s < used; ++s)
    rope_.RotateRow(k_rot_.data() + s * row, g_.n_head_kv, k_pos_[static_cast<size_t>(s)]);
  for (int64_t i = 0; i < n; ++i) {
    q_pos_[static_cast<size_t>(i)] = static_cast<int32_t>(n_sink + (seen + i) - first_win);
    if (seen + i < p_.n_sink) q_pos_[static_cast<size_t>(i)] = static_cast<int32_t>(seen + i);
  }
  rope_.Rotate(q, q_pos_.data(), n, g_.n_head);

  ops::AttentionArgs a = AttentionArgsFor(g_, n, out);
  a.q = q;
  a.k = k_rot_.data();
  a.v = V.data();
  a.q_pos = q_pos_.data();
  a.k_pos = k_pos_.data();
  a.n_kv = used;
  ops::Attention(a);
}

uint64_t StreamingKv::kv_bytes() const {
  uint64_t total = 0;
  for (int64_t n : n_seen_)
    total += static_cast<uint64_t>(std::min(n, capacity()) * g_.n_head_kv * g_.head_dim) * 2 * sizeof(float);
  return total;
}

void StreamingKv::Clear() {
  for (auto& n : n_seen_) n = 0;
}

}  // namespace lm
