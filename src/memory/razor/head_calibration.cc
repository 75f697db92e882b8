// HeadScoreProbe implementation: dense attention plus echo/induction probabilities on sampled rows.
#include "memory/razor/head_calibration.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/thread_pool.h"
#include "ops/attention.h"

namespace lm {

std::vector<int32_t> CalibrationTokens(const CalibrationParams& p, int32_t bos) {
  std::mt19937 rng(p.seed);
  std::uniform_int_distribution<int32_t> pick(p.token_lo, p.token_hi);  // inclusive, like torch randint's use
  std::vector<int32_t> seg(static_cast<size_t>(p.segment));
  for (auto& t : seg) t = pick(rng);
  std::vector<int32_t> out;
  if (bos >= 0) out.push_back(bos);
  for (int64_t r = 0; r < p.repeats; ++r) out.insert(out.end(), seg.begin(), seg.end());
  return out;
}

HeadScoreProbe::HeadScoreProbe(const MemoryGeometry& geometry, const CalibrationParams& params, int64_t first)
    : g_(geometry),
      p_(params),
      first_(first),
      total_(first + params.segment * params.repeats),
      stride_(std::max<int64_t>(1, params.segment * (params.repeats - 1) / std::max<int64_t>(1, params.rows))),
      k_(static_cast<size_t>(geometry.n_layer)),
      v_(static_cast<size_t>(geometry.n_layer)),
      pos_(static_cast<size_t>(geometry.n_layer)),
      n_(static_cast<size_t>(geometry.n_layer), 0),
      echo_sum_(static_cast<size_t>(geometry.n_layer * geometry.n_head), 0.0),
      ind_sum_(echo_sum_.size(), 0.0) {}

bool HeadScoreProbe::Sampled(int64_t pos) const {
  const int64_t rel = pos - first_ - p_.segment;  // rows of the first copy have no earlier occurrence
  return rel >= 0 && pos < total_ && rel % stride_ == 0;
}

Status HeadScoreProbe::CanAppend(int64_t n) const {
  if (n_tokens() + n > total_)
    return OutOfRange(StrCat("head probe sized for ", total_, " tokens, got ", n_tokens() + n));
  return OkStatus();
}

Status HeadScoreProbe::Attend(const AttendRequest& r) {
  const auto l = static_cast<size_t>(r.layer);
  const int64_t T = r.n_tokens, H = g_.n_head, Hkv = g_.n_head_kv, D = g_.head_dim, G = H / Hkv, row = Hkv * D;
  ops::ApplyRope(r.q, r.pos, T, H, g_.rope);
  ops::ApplyRope(r.k, r.pos, T, Hkv, g_.rope);
  k_[l].insert(k_[l].end(), r.k, r.k + T * row);
  v_[l].insert(v_[l].end(), r.v, r.v + T * row);
  pos_[l].insert(pos_[l].end(), r.pos, r.pos + T);
  n_[l] += T;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  ops::AttentionArgs a;
  a.q = r.q;
  a.k = k_[l].data();
  a.v = v_[l].data();
  a.q_pos = r.pos;
  a.k_pos = pos_[l].data();
  a.out = r.out;
  a.n_q = T;
  a.n_kv = n_[l];
  a.n_head = H;
  a.n_head_kv = Hkv;
  a.head_dim = D;
  a.scale = scale;
  ops::Attention(a);

  // Score the sampled rows of this batch: full softmax over the row's past, then sum at the masks.
  std::vector<int64_t> rows;
  for (int64_t t = 0; t < T; ++t)
    if (Sampled(r.pos[t])) rows.push_back(t);
  if (r.layer == 0) rows_sampled_ += static_cast<int64_t>(rows.size());
  const int64_t n_tasks = static_cast<int64_t>(rows.size()) * H;
  std::vector<double> echo(static_cast<size_t>(n_tasks)), ind(static_cast<size_t>(n_tasks));
  const float* K = k_[l].data();
  GlobalPool().ParallelFor(n_tasks, [&](int64_t b, int64_t e, int) {
    std::vector<float> s;
    for (int64_t task = b; task < e; ++task) {
      const int64_t t = rows[static_cast<size_t>(task / H)], h = task % H, kh = h / G;
      const int64_t p = r.pos[t];  // positions are token indices here (one fresh sequence)
      const float* q = r.q + (t * H + h) * D;
      s.resize(static_cast<size_t>(p + 1));
      float mx = -INFINITY;
      for (int64_t j = 0; j <= p; ++j) {
        const float* k = K + j * row + kh * D;
        // Eight independent lanes so the compiler vectorises the dot product without -ffast-math.
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t d = 0;
        for (; d + 8 <= D; d += 8)
          for (int u = 0; u < 8; ++u) acc[u] += q[d + u] * k[d + u];
        float dot = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; d < D; ++d) dot += q[d] * k[d];
        const float v = scale * dot;
        s[static_cast<size_t>(j)] = v;
        mx = std::max(mx, v);
      }
      double z = 0;
      for (int64_t j = 0; j <= p; ++j) z += std::exp(static_cast<double>(s[static_cast<size_t>(j)] - mx));
      // Earlier copies of this token sit at p - segment, p - 2*segment, ... (all >= first_).
      double se = 0, si = 0;
      for (int64_t j = p - p_.segment; j >= first_; j -= p_.segment) {
        se += std::exp(static_cast<double>(s[static_cast<size_t>(j)] - mx));
        if (j + 1 <= p) si += std::exp(static_cast<double>(s[static_cast<size_t>(j + 1)] - mx));
      }
      echo[static_cast<size_t>(task)] = se / z;
      ind[static_cast<size_t>(task)] = si / z;
    }
  });
  for (int64_t task = 0; task < n_tasks; ++task) {
    const auto i = static_cast<size_t>(r.layer * H + task % H);
    echo_sum_[i] += echo[static_cast<size_t>(task)];
    ind_sum_[i] += ind[static_cast<size_t>(task)];
  }
  return OkStatus();
}

std::vector<float> HeadScoreProbe::Finish(const std::vector<double>& per_q_head) const {
  const int64_t H = g_.n_head, Hkv = g_.n_head_kv, G = H / Hkv;
  // Sum over all eligible rows estimated from the sampled ones, divided by S^2 as the reference does.
  const double eligible = static_cast<double>(p_.segment * (p_.repeats - 1));
  const double scale = rows_sampled_ > 0 ? eligible / static_cast<double>(rows_sampled_) /
                                               (static_cast<double>(total_) * static_cast<double>(total_))
                                         : 0.0;
  std::vector<float> out(static_cast<size_t>(g_.n_layer * Hkv), 0.0f);
  for (int64_t l = 0; l < g_.n_layer; ++l)
    for (int64_t h = 0; h < H; ++h) {
      auto& o = out[static_cast<size_t>(l * Hkv + h / G)];
      o = std::max(o, static_cast<float>(per_q_head[static_cast<size_t>(l * H + h)] * scale));
    }
  return out;
}

uint64_t HeadScoreProbe::kv_bytes() const {
  uint64_t total = 0;
  for (int64_t n : n_) total += static_cast<uint64_t>(n * g_.n_head_kv * g_.head_dim) * 2 * sizeof(float);
  return total;
}

void HeadScoreProbe::Clear() {
  for (auto& k : k_) k.clear();
  for (auto& v : v_) v.clear();
  for (auto& p : pos_) p.clear();
  for (auto& n : n_) n = 0;
  std::fill(echo_sum_.begin(), echo_sum_.end(), 0.0);
  std::fill(ind_sum_.begin(), ind_sum_.end(), 0.0);
  rows_sampled_ = 0;
}

}  // namespace lm
