// DenseKv implementation: rotate, append (converting to the cache's element type), attend causally by position.
#include "memory/dense_kv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/attention.h"

namespace lm {

DenseKv::DenseKv(const MemoryGeometry& geometry, int64_t n_ctx, KvCacheType type)
    : g_(geometry),
      n_ctx_(n_ctx),
      type_(type),
      k_(static_cast<size_t>(geometry.n_layer)),
      v_(static_cast<size_t>(geometry.n_layer)),
      pos_(static_cast<size_t>(geometry.n_layer)),
      n_written_(static_cast<size_t>(geometry.n_layer), 0) {}

Status DenseKv::CanAppend(int64_t n_tokens) const {
  if (this->n_tokens() + n_tokens > n_ctx_) {
    return OutOfRange(StrCat("dense KV cache holds ", n_ctx_, " tokens; ", this->n_tokens(), " are stored and ",
                             n_tokens, " more were given; hint: raise --ctx, shorten the input, or use a "
                             "bounded memory strategy"));
  }
  return OkStatus();
}

Status DenseKv::Attend(const AttendRequest& r) {
  const auto l = static_cast<size_t>(r.layer);
  const int64_t T = r.n_tokens, row = g_.n_head_kv * g_.head_dim;
  const int64_t s0 = n_written_[l];
  if (s0 + T > n_ctx_) return CanAppend(T);
  ops::ApplyRope(r.q, r.pos, T, g_.n_head, g_.rope);
  ops::ApplyRope(r.k, r.pos, T, g_.n_head_kv, g_.rope);
  auto& K = k_[l];
  auto& V = v_[l];
  auto& P = pos_[l];
  const int64_t esize = KvElementBytes(type_);
  const size_t need = static_cast<size_t>((s0 + T) * row * esize);
  if (K.size() < need) {
    // Grow geometrically up to the capacity so long prefills do not reallocate per batch.
    const size_t cap = static_cast<size_t>(n_ctx_ * row * esize);
    const size_t grow = std::min(cap, std::max(need, K.size() * 2));
    K.resize(grow);
    V.resize(grow);
  }
  uint8_t* kdst = K.data() + s0 * row * esize;
  uint8_t* vdst = V.data() + s0 * row * esize;
  if (type_ == KvCacheType::kF16) {
    ops::ConvertF32ToF16(r.k, reinterpret_cast<uint16_t*>(kdst), T * row);
    ops::ConvertF32ToF16(r.v, reinterpret_cast<uint16_t*>(vdst), T * row);
  } else {
    std::memcpy(kdst, r.k, static_cast<size_t>(T * row) * sizeof(float));
    std::memcpy(vdst, r.v, static_cast<size_t>(T * row) * sizeof(float));
  }
  P.insert(P.end(), r.pos, r.pos + T);
  n_written_[l] = s0 + T;

  ops::AttentionArgs a;
  a.q = r.q;
  a.k = K.data();
  a.v = V.data();
  a.kv_dtype = ToKvDType(type_);
  a.q_pos = r.pos;
  a.k_pos = P.data();
  a.out = r.out;
  a.n_q = T;
  a.n_kv = s0 + T;
  a.n_head = g_.n_head;
  a.n_head_kv = g_.n_head_kv;
  a.head_dim = g_.head_dim;
  a.scale = 1.0f / std::sqrt(static_cast<float>(g_.head_dim));
  ops::Attention(a);
  return OkStatus();
}

uint64_t DenseKv::kv_bytes() const {
  uint64_t total = 0;
  for (int64_t n : n_written_) total += static_cast<uint64_t>(n * g_.n_head_kv * g_.head_dim) * 2 * static_cast<uint64_t>(KvElementBytes(type_));
  return total;
}

void DenseKv::Clear() {
  for (auto& n : n_written_) n = 0;
  for (auto& p : pos_) p.clear();
}

}  // namespace lm
