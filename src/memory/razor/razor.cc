// RazorKv implementation: per-head append, attend (plain or compensated), rolling compression.
#include "memory/razor/razor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "memory/razor/compensated_attention.h"
#include "ops/attention.h"

namespace lm {

RazorKv::RazorKv(const MemoryGeometry& geometry, RazorParams params)
    : g_(geometry),
      p_(std::move(params)),
      heads_(static_cast<size_t>(geometry.n_layer * geometry.n_head_kv)),
      n_(static_cast<size_t>(geometry.n_layer), 0) {
  LM_CHECK(static_cast<int64_t>(p_.retrieval.size()) == geometry.n_layer * geometry.n_head_kv,
           "razor: retrieval mask size must be n_layer * n_head_kv");
  LM_CHECK(p_.n_sink >= 0 && p_.min_window > 0 && p_.compress >= 1.0 && p_.slack >= 0,
           "razor: bad parameters (validated upstream)");
  LM_CHECK(p_.kv_type != ops::KvDType::kQ8_0 || g_.head_dim % 32 == 0, "razor: a q8_0 cache needs head_dim % 32 == 0 "
           "(validated upstream), got ", g_.head_dim);
}

Status RazorKv::CanAppend(int64_t n) const {
  if (p_.max_tokens > 0 && n_tokens() + n > p_.max_tokens)
    return OutOfRange(StrCat("razor cache limited to ", p_.max_tokens, " tokens; ", n_tokens(), " stored and ", n,
                             " more given; hint: raise --ctx"));
  return OkStatus();
}

int64_t RazorKv::budget(int64_t n_seen) const {
  return std::max(p_.min_window, static_cast<int64_t>(static_cast<double>(n_seen) / p_.compress));
}

void RazorKv::Compress(HeadCache& c, int64_t n_seen) const {
  const int64_t D = g_.head_dim;
  const auto held = static_cast<int64_t>(c.pos.size());
  const int64_t recent = held - std::min(held, p_.n_sink), keep = budget(n_seen);
  if (recent <= keep + p_.slack) return;
  const int64_t m = recent - keep, b = p_.n_sink;
  if (c.comp_k.empty()) {
    c.comp_k.assign(static_cast<size_t>(D), 0.0f);
    c.comp_v.assign(static_cast<size_t>(D), 0.0f);
  }
  // Running mean over everything dropped so far (eq. 4), in double to keep long streams exact enough; the
  // dropped rows are read as stored (the mean of what attention saw), the slot itself stays f32.
  const double total = static_cast<double>(c.n_dropped + m);
  for (int64_t d = 0; d < D; ++d) {
    double sk = static_cast<double>(c.comp_k[static_cast<size_t>(d)]) * static_cast<double>(c.n_dropped);
    double sv = static_cast<double>(c.comp_v[static_cast<size_t>(d)]) * static_cast<double>(c.n_dropped);
    for (int64_t j = b; j < b + m; ++j) {
      sk += ops::KvElement(c.k.data(), p_.kv_type, j * D + d);
      sv += ops::KvElement(c.v.data(), p_.kv_type, j * D + d);
    }
    c.comp_k[static_cast<size_t>(d)] = static_cast<float>(sk / total);
    c.comp_v[static_cast<size_t>(d)] = static_cast<float>(sv / total);
  }
  c.n_dropped += m;
  const int64_t rb = row_bytes();
  c.k.erase(c.k.begin() + b * rb, c.k.begin() + (b + m) * rb);
  c.v.erase(c.v.begin() + b * rb, c.v.begin() + (b + m) * rb);
  c.pos.erase(c.pos.begin() + b, c.pos.begin() + b + m);
}

Status RazorKv::Attend(const AttendRequest& r) {
  const int64_t T = r.n_tokens, H = g_.n_head, Hkv = g_.n_head_kv, D = g_.head_dim, G = H / Hkv;
  ops::ApplyRope(r.q, r.pos, T, H, g_.rope);
  ops::ApplyRope(r.k, r.pos, T, Hkv, g_.rope);
  const int64_t n_seen = n_[static_cast<size_t>(r.layer)] += T;
  q_g_.resize(static_cast<size_t>(T * G * D));
  out_g_.resize(q_g_.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t rb = row_bytes();
  for (int64_t h = 0; h < Hkv; ++h) {
    HeadCache& c = heads_[static_cast<size_t>(r.layer * Hkv + h)];
    const size_t at = c.k.size();
    c.k.resize(at + static_cast<size_t>(T * rb));
    c.v.resize(at + static_cast<size_t>(T * rb));
    for (int64_t t = 0; t < T; ++t) {
      ops::StoreKv(p_.kv_type, r.k + (t * Hkv + h) * D, c.k.data() + at + t * rb, D);
      ops::StoreKv(p_.kv_type, r.v + (t * Hkv + h) * D, c.v.data() + at + t * rb, D);
      // The query group of KV head h is contiguous in each token's row.
      std::memcpy(q_g_.data() + t * G * D, r.q + (t * H + h * G) * D, static_cast<size_t>(G * D) * sizeof(float));
    }
    c.pos.insert(c.pos.end(), r.pos, r.pos + T);
    const auto S = static_cast<int64_t>(c.pos.size());
    if (c.n_dropped == 0) {
      ops::AttentionArgs a;
      a.q = q_g_.data();
      a.k = c.k.data();
      a.v = c.v.data();
      a.kv_dtype = p_.kv_type;
      a.q_pos = r.pos;
      a.k_pos = c.pos.data();
      a.out = out_g_.data();
      a.n_q = T;
      a.n_kv = S;
      a.n_head = G;
      a.n_head_kv = 1;
      a.head_dim = D;
      a.scale = scale;
      ops::Attention(a);
    } else {
      razor::CompensatedAttention({.q = q_g_.data(),
                                   .q_pos = r.pos,
                                   .k = c.k.data(),
                                   .v = c.v.data(),
                                   .kv_dtype = p_.kv_type,
                                   .k_pos = c.pos.data(),
                                   .comp_k = c.comp_k.data(),
                                   .comp_v = c.comp_v.data(),
                                   .n_dropped = c.n_dropped,
                                   .out = out_g_.data(),
                                   .n_q = T,
                                   .group = G,
                                   .n_kv = S,
                                   .head_dim = D,
                                   .scale = scale},
                                  scores_);
    }
    for (int64_t t = 0; t < T; ++t)
      std::memcpy(r.out + (t * H + h * G) * D, out_g_.data() + t * G * D, static_cast<size_t>(G * D) * sizeof(float));
    if (!p_.retrieval[static_cast<size_t>(r.layer * Hkv + h)]) Compress(c, n_seen);
  }
  return OkStatus();
}

int64_t RazorKv::n_retrieval_heads() const {
  int64_t n = 0;
  for (uint8_t x : p_.retrieval) n += x ? 1 : 0;
  return n;
}

int64_t RazorKv::head_length(int layer, int kv_head) const {
  return static_cast<int64_t>(heads_[static_cast<size_t>(layer * g_.n_head_kv + kv_head)].pos.size());
}

uint64_t RazorKv::kv_bytes() const {
  uint64_t total = 0;
  for (const auto& c : heads_) total += c.k.size() + c.v.size() + (c.comp_k.size() + c.comp_v.size()) * sizeof(float);
  return total;
}

void RazorKv::Clear() {
  for (auto& c : heads_) c = HeadCache{};
  for (auto& n : n_) n = 0;
}

}  // namespace lm
