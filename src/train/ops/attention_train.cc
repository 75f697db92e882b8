// Attention training kernels: each (head, query block) runs as BLAS products on strided views of the
// [len, heads, D] tensors (no packed copies: under MST with checkpointing they were ~9% of the peak memory
// per token); per-thread dK/dV buffers are summed at the end, so no two workers write one row.
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
  const int64_t ldq = a.H * D, ldk = a.Hkv * D;  // one head's rows are strided views, never copied
  GlobalPool().ParallelFor(a.H * nb, [&](int64_t b, int64_t e, int) {
    std::vector<float> p(static_cast<size_t>(kQBlock * a.S));
    for (int64_t u = b; u < e; ++u) {
      const int64_t h = u / nb, i0 = (u % nb) * kQBlock, bq = std::min(kQBlock, a.T - i0);
      const int64_t nk = VisibleKeyCount(a, i0, i0 + bq);
      const float* kh = a.k + (h / group) * D;
      const float* vh = a.v + (h / group) * D;
      float* oh = out + (i0 * a.H + h) * D;
      if (nk > 0) SgemmStrided(false, true, bq, nk, D, 1.0f, a.q + (i0 * a.H + h) * D, ldq, kh, ldk, 0.0f, p.data(), nk);
      BlockProbs(a, i0, bq, nk, h, p.data(), nullptr, lse);
      if (nk > 0) {
        SgemmStrided(false, false, bq, D, nk, 1.0f, p.data(), nk, vh, ldk, 0.0f, oh, ldq);
      } else {
        for (int64_t r = 0; r < bq; ++r) std::fill(oh + r * ldq, oh + r * ldq + D, 0.0f);
      }
    }
  });
}

void AttentionBackward(const AttentionBackwardArgs& g) {
  const AttentionShape& a = g.fwd;
  const int64_t D = a.D, group = a.H / a.Hkv, nb = (a.T + kQBlock - 1) / kQBlock;
  const int64_t ldq = a.H * D, ldk = a.Hkv * D;
  // dK and dV: worker 0 accumulates straight into the outputs, the others into private [S, Hkv, D] buffers
  // summed at the end, so no two workers write one row.
  const int n_workers = GlobalPool().n_threads();
  const size_t panel = static_cast<size_t>(a.S * ldk);
  std::fill(g.dk, g.dk + panel, 0.0f);
  std::fill(g.dv, g.dv + panel, 0.0f);
  std::vector<std::vector<float>> dk_w(static_cast<size_t>(n_workers)), dv_w(static_cast<size_t>(n_workers));
  GlobalPool().ParallelFor(a.H * nb, [&](int64_t b, int64_t e, int worker) {
    float* dk = g.dk;
    float* dv = g.dv;
    if (worker != 0) {
      dk_w[static_cast<size_t>(worker)].assign(panel, 0.0f);
      dv_w[static_cast<size_t>(worker)].assign(panel, 0.0f);
      dk = dk_w[static_cast<size_t>(worker)].data();
      dv = dv_w[static_cast<size_t>(worker)].data();
    }
    std::vector<float> p(static_cast<size_t>(kQBlock * a.S)), dp(p.size());
    for (int64_t u = b; u < e; ++u) {
      const int64_t h = u / nb, hk = h / group, i0 = (u % nb) * kQBlock, bq = std::min(kQBlock, a.T - i0);
      const int64_t nk = VisibleKeyCount(a, i0, i0 + bq);
      const int64_t row0 = (i0 * a.H + h) * D;  // this head's first query row in [T, H, D]
      const float* qb = a.q + row0;
      const float* dob = g.dout + row0;
      const float* ob = g.out + row0;
      float* dqb = g.dq + row0;
      if (nk == 0) {
        for (int64_t r = 0; r < bq; ++r) std::fill(dqb + r * ldq, dqb + r * ldq + D, 0.0f);
        continue;
      }
      const float* kh = a.k + hk * D;
      const float* vh = a.v + hk * D;
      SgemmStrided(false, true, bq, nk, D, 1.0f, qb, ldq, kh, ldk, 0.0f, p.data(), nk);
      BlockProbs(a, i0, bq, nk, h, p.data(), g.lse, nullptr);
      SgemmStrided(false, true, bq, nk, D, 1.0f, dob, ldq, vh, ldk, 0.0f, dp.data(), nk);  // dP = dO · Vᵀ
      for (int64_t r = 0; r < bq; ++r) {  // dS = P ⊙ (dP - rowsum(dO ⊙ O)) · scale
        float di = 0;
        for (int64_t d = 0; d < D; ++d) di += dob[r * ldq + d] * ob[r * ldq + d];
        float* dpr = dp.data() + r * nk;
        const float* pr = p.data() + r * nk;
        for (int64_t j = 0; j < nk; ++j) dpr[j] = pr[j] * (dpr[j] - di) * a.scale;
      }
      SgemmStrided(false, false, bq, D, nk, 1.0f, dp.data(), nk, kh, ldk, 0.0f, dqb, ldq);              // dQ = dS · K
      SgemmStrided(true, false, nk, D, bq, 1.0f, dp.data(), nk, qb, ldq, 1.0f, dk + hk * D, ldk);       // dK += dSᵀ · Q
      SgemmStrided(true, false, nk, D, bq, 1.0f, p.data(), nk, dob, ldq, 1.0f, dv + hk * D, ldk);       // dV += Pᵀ · dO
    }
  });
  for (int w = 1; w < n_workers; ++w) {
    if (dk_w[static_cast<size_t>(w)].empty()) continue;
    const float* sk = dk_w[static_cast<size_t>(w)].data();
    const float* sv = dv_w[static_cast<size_t>(w)].data();
    for (size_t i = 0; i < panel; ++i) {
      g.dk[i] += sk[i];
      g.dv[i] += sv[i];
    }
  }
}

}  // namespace lm::train
