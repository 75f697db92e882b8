// ReAttentionKv implementation: append, select (exact top-k sweep, vote, spans),
// then attend over the re-positioned scope (gathered for prefill chunks, in place by key runs for decode).
#include "memory/reattention/reattention.h"

#include <algorithm>
#include <cstring>

namespace lm {

ReAttentionKv::ReAttentionKv(const MemoryGeometry& geometry, const ReAttentionParams& params)
    : g_(geometry),
      p_(params),
      rope_(geometry.rope, params.scope()),
      k_(static_cast<size_t>(geometry.n_layer * geometry.n_head_kv)),
      k_rot_(static_cast<size_t>(geometry.n_layer)),
      v_(static_cast<size_t>(geometry.n_layer)),
      n_(static_cast<size_t>(geometry.n_layer), 0),
      last_scope_(static_cast<size_t>(geometry.n_layer), 0),
      last_selected_(static_cast<size_t>(geometry.n_layer)) {
  LM_CHECK(p_.n_global >= 0 && p_.n_local > 0 && p_.chunk > 0 && p_.chunk <= p_.n_local && p_.selection.top_k > 0 &&
               p_.selection.span > 0 && p_.selection.recall_clip >= 0 && p_.decode_max >= 0,
           "reattention: bad parameters (validated upstream)");
  LM_CHECK(p_.kv_type != ops::KvDType::kQ8_0 || g_.head_dim % 32 == 0,
           "reattention: q8_0 caches need head_dim % 32 == 0 (validated upstream)");
  LM_CHECK(p_.select_type == ops::KvDType::kF16 || (p_.select_type == ops::KvDType::kQ8_0 && g_.head_dim % 32 == 0),
           "reattention: selection keys f16, or q8_0 with head_dim % 32 == 0 (validated upstream)");
  LM_CHECK(p_.select_blocks >= 0 && p_.select_share > 0 && p_.select_share <= 1,
           "reattention: bad block selection parameters (validated upstream)");
  if (p_.select_blocks > 0) {
    blocks_.assign(static_cast<size_t>(g_.n_layer * g_.n_head_kv),
                   reattention::BlockSummaries(p_.select_blocks, g_.head_dim));
    ranges_.resize(static_cast<size_t>(g_.n_head_kv));
  }
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

void ReAttentionKv::Append(int layer, const float* k, const float* v, int64_t c) {
  const auto l = static_cast<size_t>(layer);
  const int64_t Hkv = g_.n_head_kv, D = g_.head_dim, row = Hkv * D;
  const int64_t n0 = n_[l], N = n0 + c;
  const auto row_bytes = static_cast<size_t>(ops::KvBytes(p_.kv_type, row));
  const auto sel_bytes = static_cast<size_t>(ops::KvBytes(p_.select_type, D));  // one key of one KV head
  if (n0 == 0 && p_.max_tokens > 0) {
    // A known limit: allocate once, so no later step copies the whole cache to grow it (a pause of a
    // second at 32K tokens); without one the vectors grow geometrically.
    for (int64_t h = 0; h < Hkv; ++h)
      k_[l * static_cast<size_t>(Hkv) + static_cast<size_t>(h)].reserve(static_cast<size_t>(p_.max_tokens) * sel_bytes);
    k_rot_[l].reserve(static_cast<size_t>(p_.max_tokens) * row_bytes);
    v_[l].reserve(k_rot_[l].capacity());
  }
  for (int64_t h = 0; h < Hkv; ++h) {
    auto& K = k_[l * static_cast<size_t>(Hkv) + static_cast<size_t>(h)];
    K.resize(static_cast<size_t>(N) * sel_bytes);
    for (int64_t t = 0; t < c; ++t)
      ops::StoreKv(p_.select_type, k + t * row + h * D, K.data() + static_cast<size_t>(n0 + t) * sel_bytes, D);
    if (!blocks_.empty()) {  // summaries cover the keys after the global ones (the middle's start)
      const int64_t t0 = std::clamp<int64_t>(p_.n_global - n0, 0, c);
      blocks_[l * static_cast<size_t>(Hkv) + static_cast<size_t>(h)].Add(k + t0 * row + h * D, row, c - t0);
    }
  }
  rope_.Extend(N);
  while (static_cast<int64_t>(pos_.size()) < N) pos_.push_back(static_cast<int32_t>(pos_.size()));
  k_rot_[l].resize(static_cast<size_t>(N) * row_bytes);
  v_[l].resize(k_rot_[l].size());
  row_.resize(static_cast<size_t>(row));
  for (int64_t t = 0; t < c; ++t) {
    std::memcpy(row_.data(), k + t * row, static_cast<size_t>(row) * sizeof(float));
    rope_.RotateRow(row_.data(), Hkv, static_cast<int32_t>(n0 + t));
    ops::StoreKv(p_.kv_type, row_.data(), k_rot_[l].data() + static_cast<size_t>(n0 + t) * row_bytes, row);
    ops::StoreKv(p_.kv_type, v + t * row, v_[l].data() + static_cast<size_t>(n0 + t) * row_bytes, row);
  }
  n_[l] = N;
}

void ReAttentionKv::Select(int layer, const float* q, int64_t c, int64_t n_mid, bool decode) {
  const int64_t H = g_.n_head, Hkv = g_.n_head_kv, D = g_.head_dim, G = H / Hkv, k = p_.selection.top_k;
  const int64_t rows = c * G;
  q_rows_.resize(static_cast<size_t>(Hkv * rows * D));
  best_s_.resize(static_cast<size_t>(Hkv * rows * k));
  best_i_.resize(best_s_.size());
  // Group the chunk's query heads by KV head so each KV head's keys are scored against one block of rows.
  for (int64_t t = 0; t < c; ++t)
    for (int64_t h = 0; h < H; ++h)
      std::memcpy(q_rows_.data() + ((h / G) * rows + t * G + h % G) * D, q + (t * H + h) * D,
                  static_cast<size_t>(D) * sizeof(float));
  jobs_.resize(static_cast<size_t>(Hkv));
  for (int64_t h = 0; h < Hkv; ++h) {
    jobs_[static_cast<size_t>(h)] = {.q = q_rows_.data() + h * rows * D,
                                     .n_rows = rows,
                                     .keys = k_[static_cast<size_t>(layer * Hkv + h)].data() +
                                             ops::KvBytes(p_.select_type, p_.n_global * D),
                                     .n_keys = n_mid,
                                     .type = p_.select_type,
                                     .best_s = best_s_.data() + h * rows * k,
                                     .best_i = best_i_.data() + h * rows * k};
  }
  if (decode && !blocks_.empty()) {  // block selection: each KV head scores only its candidate ranges
    reattention::CandidateRanges(q_rows_.data(), rows,
                                 std::span(blocks_).subspan(static_cast<size_t>(layer * Hkv), static_cast<size_t>(Hkv)),
                                 n_mid, p_.select_share, candidate_scratch_, ranges_);
    for (int64_t h = 0; h < Hkv; ++h) jobs_[static_cast<size_t>(h)].ranges = ranges_[static_cast<size_t>(h)];
  }
  scorer_.Run(jobs_, D, k);
  reattention::SelectSpans(best_i_, n_mid, p_.selection, sel_scratch_, &last_selected_[static_cast<size_t>(layer)]);
}

void ReAttentionKv::AttendGathered(int layer, float* q, int64_t c, float* out) {
  const auto l = static_cast<size_t>(layer);
  const int64_t Hkv = g_.n_head_kv, row = Hkv * g_.head_dim;
  const auto L = static_cast<int64_t>(scope_.index.size());
  const auto row_bytes = static_cast<size_t>(ops::KvBytes(p_.kv_type, row));
  // The gathered scope is f32 for an f32 cache and f16 otherwise: re-rotated q8_0 keys stored as q8_0
  // again would be rounded to a new block scale a second time (the decode path reads them as stored).
  const ops::KvDType gather = p_.kv_type == ops::KvDType::kF32 ? ops::KvDType::kF32 : ops::KvDType::kF16;
  const auto gather_bytes = static_cast<size_t>(ops::KvBytes(gather, row));
  // Gather [global; selected; local]: stored keys moved from their own positions to their new contiguous
  // ones (the same stored values the decode path attends), values as stored (as f16 from a q8_0 cache).
  k_sel_.resize(static_cast<size_t>(L) * gather_bytes);
  v_sel_.resize(k_sel_.size());
  row_.resize(static_cast<size_t>(row));
  for (int64_t i = 0; i < L; ++i) {
    const auto src = static_cast<size_t>(scope_.index[static_cast<size_t>(i)]);
    ops::LoadKvRow(p_.kv_type, k_rot_[l].data() + src * row_bytes, row_.data(), row);
    rope_.RotateRowBy(row_.data(), Hkv, scope_.k_pos[static_cast<size_t>(i)] - static_cast<int32_t>(src));
    ops::StoreKv(gather, row_.data(), k_sel_.data() + static_cast<size_t>(i) * gather_bytes, row);
    if (gather == p_.kv_type) {
      std::memcpy(v_sel_.data() + static_cast<size_t>(i) * gather_bytes, v_[l].data() + src * row_bytes, row_bytes);
    } else {
      ops::LoadKvRow(p_.kv_type, v_[l].data() + src * row_bytes, row_.data(), row);
      ops::StoreKv(gather, row_.data(), v_sel_.data() + static_cast<size_t>(i) * gather_bytes, row);
    }
  }
  rope_.Rotate(q, scope_.q_pos.data(), c, g_.n_head);
  ops::AttentionArgs a = AttentionArgsFor(g_, c, out, gather);
  a.q = q;
  a.k = k_sel_.data();
  a.v = v_sel_.data();
  a.q_pos = scope_.q_pos.data();
  a.k_pos = scope_.k_pos.data();
  a.n_kv = L;
  ops::Attention(a);
}

void ReAttentionKv::AttendRuns(int layer, const float* q, int64_t c, float* out) {
  const auto l = static_cast<size_t>(layer);
  const int64_t H = g_.n_head, D = g_.head_dim, N = n_[l];
  const auto L = static_cast<int64_t>(scope_.index.size());
  // Runs of consecutive cache rows; a run keeps one shift (own position - scope position) for all its keys.
  runs_.clear();
  for (int64_t i = 0; i < L;) {
    int64_t j = i + 1;
    while (j < L && scope_.index[static_cast<size_t>(j)] == scope_.index[static_cast<size_t>(j - 1)] + 1) ++j;
    runs_.push_back({.k0 = scope_.index[static_cast<size_t>(i)], .n = j - i,
                     .q_variant = static_cast<int64_t>(runs_.size())});
    i = j;
  }
  // Run w's queries sit at scope position L - c + t shifted by the run's shift: the query-key differences
  // are then exactly those of the re-positioned scope.
  const auto n_var = static_cast<int64_t>(runs_.size());
  q_var_.resize(static_cast<size_t>(n_var * c * H * D));
  int64_t scope_pos = 0;  // scope position of the run's first key = number of scope keys before it
  for (int64_t w = 0; w < n_var; ++w) {
    const ops::KeyRun& r = runs_[static_cast<size_t>(w)];
    const int64_t shift = r.k0 - scope_pos;
    scope_pos += r.n;
    float* dst = q_var_.data() + w * c * H * D;
    std::memcpy(dst, q, static_cast<size_t>(c * H * D) * sizeof(float));
    for (int64_t t = 0; t < c; ++t) rope_.RotateRow(dst + t * H * D, H, static_cast<int32_t>(L - c + t + shift));
  }
  q_abs_.resize(static_cast<size_t>(c));
  for (int64_t t = 0; t < c; ++t) q_abs_[static_cast<size_t>(t)] = static_cast<int32_t>(N - c + t);
  ops::AttentionArgs a = AttentionArgsFor(g_, c, out, p_.kv_type);
  a.q = q_var_.data();
  a.k = k_rot_[l].data();
  a.v = v_[l].data();
  a.q_pos = q_abs_.data();  // causality by own positions: every run but the local one lies before the chunk
  a.k_pos = pos_.data();
  ops::AttentionRuns(a, runs_, n_var);
}

void ReAttentionKv::AttendChunk(int layer, float* q, const float* k, const float* v, int64_t c, float* out) {
  const auto l = static_cast<size_t>(layer);
  Append(layer, k, v, c);
  const int64_t N = n_[l];
  const bool decode = c <= p_.decode_max;
  auto& selected = last_selected_[l];  // kept until this layer's next step, for reports
  selected.clear();
  const int64_t n_mid = N - p_.n_global - p_.n_local;
  if (n_mid > 0) Select(layer, q, c, n_mid, decode);
  reattention::BuildScope(N, p_.n_global, p_.n_local, selected, c, &scope_);
  last_scope_[l] = static_cast<int64_t>(scope_.index.size());
  if (decode || n_mid <= 0)
    AttendRuns(layer, q, c, out);  // one run (shift 0) when everything is in scope: plain attention
  else
    AttendGathered(layer, q, c, out);
}

int64_t ReAttentionKv::AttendedByLastStep(int layer, int64_t begin, int64_t end) const {
  const auto l = static_cast<size_t>(layer);
  const int64_t N = n_[l];
  const auto& sel = last_selected_[l];
  int64_t hits = 0;
  // Global tokens, the selected middle spans and the local window (everything while the middle is empty).
  for (int64_t p = std::max<int64_t>(begin, 0); p < std::min(end, N); ++p)
    hits += p < p_.n_global || p >= N - p_.n_local ||
            std::binary_search(sel.begin(), sel.end(), static_cast<int32_t>(p - p_.n_global));
  return hits;
}

uint64_t ReAttentionKv::kv_bytes() const {
  uint64_t total = 0;
  for (const auto& k : k_) total += k.size();
  for (const auto& k : k_rot_) total += k.size();
  for (const auto& v : v_) total += v.size();
  for (const auto& b : blocks_) total += b.bytes();
  return total;
}

void ReAttentionKv::Clear() {
  for (auto& k : k_) k.clear();
  for (auto& k : k_rot_) k.clear();
  for (auto& v : v_) v.clear();
  for (auto& n : n_) n = 0;
  for (auto& s : last_selected_) s.clear();
  for (auto& b : blocks_) b.Clear();
}

}  // namespace lm
