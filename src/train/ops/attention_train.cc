// Attention training kernels: heads are packed into contiguous [len, D] panels so each (head, query block)
// runs as BLAS products; per-thread dK/dV panels are summed at the end, so no two workers write one row.
#include "train/ops/attention_train.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/blas.h"
#include "core/check.h"
#include "core/thread_pool.h"
#include "train/ops/softmax_row.h"
#include "train/ops/linear.h"

namespace lm::train {

namespace {
constexpr int64_t kQBlock = 128;
constexpr float kInf = std::numeric_limits<float>::infinity();

// [len, heads, D] -> [heads][len][D]
std::vector<float> PackHeads(const float* x, int64_t len, int64_t heads, int64_t D) {
  std::vector<float> p(static_cast<size_t>(len * heads * D));
  for (int64_t t = 0; t < len; ++t)
    for (int64_t h = 0; h < heads; ++h)
      std::copy(x + (t * heads + h) * D, x + (t * heads + h + 1) * D, p.data() + (h * len + t) * D);
  return p;
}

// Keys past the last one visible to any query of [i0, i1) are masked for the whole block: skip them.
int64_t VisibleKeyCount(const AttentionShape& a, int64_t i0, int64_t i1) {
  int32_t qmax = std::numeric_limits<int32_t>::min();
  for (int64_t i = i0; i < i1; ++i) qmax = std::max(qmax, a.q_pos[i]);
  int64_t nk = a.S;
  while (nk > 0 && a.k_pos[nk - 1] > qmax) --nk;
  return nk;
}

// Probabilities of one block: p[i, j] = exp(scale * s[i, j] - lse_i) for visible keys, else 0.
// With lse == nullptr, computes the forward softmax and writes lse_out instead.
void BlockProbs(const AttentionShape& a, int64_t i0, int64_t bq, int64_t nk, int64_t h, float* p,
                const float* lse_in, float* lse_out) {
  for (int64_t r = 0; r < bq; ++r) {
    float* row = p + r * nk;
    const int32_t qp = a.q_pos[i0 + r];
    if (lse_in) {
      MaskScaleMax(row, a.k_pos, nk, qp, a.scale);
      ExpShiftSum(row, nk, lse_in[(i0 + r) * a.H + h]);  // lse = +inf (no visible key): all 0
      continue;
    }
    const float mx = MaskScaleMax(row, a.k_pos, nk, qp, a.scale);
    if (mx == -kInf) {  // no visible key: zero output, and lse = +inf makes backward's probabilities 0
      std::fill(row, row + nk, 0.0f);
      lse_out[(i0 + r) * a.H + h] = kInf;
      continue;
    }
    const double sum = ExpShiftSum(row, nk, mx);
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < nk; ++j) row[j] *= inv;
    lse_out[(i0 + r) * a.H + h] = mx + static_cast<float>(std::log(sum));
  }
}
}  // namespace

void AttentionForward(float* out, float* lse, const AttentionShape& a) {
  LM_CHECK(a.Hkv > 0 && a.H % a.Hkv == 0, "n_head ", a.H, " n_head_kv ", a.Hkv);
  const int64_t D = a.D, group = a.H / a.Hkv, nb = (a.T + kQBlock - 1) / kQBlock;
  const std::vector<float> qp = PackHeads(a.q, a.T, a.H, D), kp = PackHeads(a.k, a.S, a.Hkv, D),
                           vp = PackHeads(a.v, a.S, a.Hkv, D);
  GlobalPool().ParallelFor(a.H * nb, [&](int64_t b, int64_t e, int) {
    std::vector<float> p(static_cast<size_t>(kQBlock * a.S)), ob(static_cast<size_t>(kQBlock * D));
    for (int64_t u = b; u < e; ++u) {
      const int64_t h = u / nb, i0 = (u % nb) * kQBlock, bq = std::min(kQBlock, a.T - i0);
      const int64_t nk = VisibleKeyCount(a, i0, i0 + bq);
      const float* kh = kp.data() + (h / group) * a.S * D;
      const float* vh = vp.data() + (h / group) * a.S * D;
      if (nk > 0) SgemmNT(bq, nk, D, qp.data() + (h * a.T + i0) * D, kh, p.data());
      BlockProbs(a, i0, bq, nk, h, p.data(), nullptr, lse);
      if (nk > 0) {
        SgemmNN(bq, D, nk, p.data(), vh, ob.data());
      } else {
        std::fill(ob.begin(), ob.end(), 0.0f);
      }
      for (int64_t r = 0; r < bq; ++r) std::copy(ob.data() + r * D, ob.data() + (r + 1) * D, out + ((i0 + r) * a.H + h) * D);
    }
  });
}

void AttentionBackward(const AttentionBackwardArgs& g) {
  const AttentionShape& a = g.fwd;
  const int64_t D = a.D, group = a.H / a.Hkv, nb = (a.T + kQBlock - 1) / kQBlock;
  const std::vector<float> qp = PackHeads(a.q, a.T, a.H, D), kp = PackHeads(a.k, a.S, a.Hkv, D),
                           vp = PackHeads(a.v, a.S, a.Hkv, D), dop = PackHeads(g.dout, a.T, a.H, D),
                           op = PackHeads(g.out, a.T, a.H, D);
  const int n_workers = GlobalPool().n_threads();
  const size_t panel = static_cast<size_t>(a.Hkv * a.S * D);
  std::vector<std::vector<float>> dk_w(static_cast<size_t>(n_workers)), dv_w(static_cast<size_t>(n_workers));
  GlobalPool().ParallelFor(a.H * nb, [&](int64_t b, int64_t e, int worker) {
    auto& dkp = dk_w[static_cast<size_t>(worker)];
    auto& dvp = dv_w[static_cast<size_t>(worker)];
    dkp.assign(panel, 0.0f);
    dvp.assign(panel, 0.0f);
    std::vector<float> p(static_cast<size_t>(kQBlock * a.S)), dp(p.size()),
        dqb(static_cast<size_t>(kQBlock * D));
    for (int64_t u = b; u < e; ++u) {
      const int64_t h = u / nb, hk = h / group, i0 = (u % nb) * kQBlock, bq = std::min(kQBlock, a.T - i0);
      const int64_t nk = VisibleKeyCount(a, i0, i0 + bq);
      const float* qb = qp.data() + (h * a.T + i0) * D;
      const float* dob = dop.data() + (h * a.T + i0) * D;
      const float* ob = op.data() + (h * a.T + i0) * D;
      const float* kh = kp.data() + hk * a.S * D;
      const float* vh = vp.data() + hk * a.S * D;
      std::fill(dqb.begin(), dqb.end(), 0.0f);
      if (nk > 0) {
        SgemmNT(bq, nk, D, qb, kh, p.data());
        BlockProbs(a, i0, bq, nk, h, p.data(), g.lse, nullptr);
        SgemmNT(bq, nk, D, dob, vh, dp.data());  // dP = dO · Vᵀ
        for (int64_t r = 0; r < bq; ++r) {  // dS = P ⊙ (dP - rowsum(dO ⊙ O)) · scale
          float di = 0;
          for (int64_t d = 0; d < D; ++d) di += dob[r * D + d] * ob[r * D + d];
          for (int64_t j = 0; j < nk; ++j) dp[static_cast<size_t>(r * nk + j)] =
              p[static_cast<size_t>(r * nk + j)] * (dp[static_cast<size_t>(r * nk + j)] - di) * a.scale;
        }
        SgemmNN(bq, D, nk, dp.data(), kh, dqb.data());  // dQ = dS · K
        SgemmTN(nk, D, bq, dp.data(), nk, qb, dkp.data() + hk * a.S * D, 1.0f, 1.0f);  // dK += dSᵀ · Q
        SgemmTN(nk, D, bq, p.data(), nk, dob, dvp.data() + hk * a.S * D, 1.0f, 1.0f);  // dV += Pᵀ · dO
      }
      for (int64_t r = 0; r < bq; ++r)
        std::copy(dqb.data() + r * D, dqb.data() + (r + 1) * D, g.dq + ((i0 + r) * a.H + h) * D);
    }
  });
  // Sum the workers' panels in worker order (deterministic for a fixed thread count) and unpack.
  for (int64_t s = 0; s < a.S; ++s)
    for (int64_t hk = 0; hk < a.Hkv; ++hk)
      for (int64_t d = 0; d < D; ++d) {
        const size_t src = static_cast<size_t>((hk * a.S + s) * D + d);
        float sk = 0, sv = 0;
        for (const auto& w : dk_w) sk += w.empty() ? 0.0f : w[src];
        for (const auto& w : dv_w) sv += w.empty() ? 0.0f : w[src];
        g.dk[(s * a.Hkv + hk) * D + d] = sk;
        g.dv[(s * a.Hkv + hk) * D + d] = sv;
      }
}

}  // namespace lm::train
