// MST MLP and LM-head/CE chunk loops. The per-chunk scratch is allocated once per call and reused, so the
// peak intermediate is 3·chunk·I floats for the MLP and chunk·V for the head.
#include "train/mst.h"

#include <algorithm>
#include <vector>

#include "train/ops/activations_train.h"
#include "train/ops/cross_entropy.h"

namespace lm::train {

int64_t ChunkLength(int64_t T, int64_t M) {
  if (M <= 1) return T;
  return std::max<int64_t>(1, (T + M - 1) / M);
}

int64_t DefaultHeadChunks(int64_t V, int64_t C, int64_t T) {
  const int64_t paper = (V + C - 1) / C;
  const int64_t by_rows = std::max<int64_t>(1, T / kMinHeadChunkRows);
  return std::min(paper, by_rows);
}

void MlpForward(float* out, const float* x, const MlpArgs& a) {
  const int64_t step = a.chunk > 0 ? a.chunk : a.T;
  const size_t cap = static_cast<size_t>(std::min(step, a.T) * a.I);
  std::vector<float> g, u, h(cap);
  if (!a.saved_gu) {
    g.resize(cap);
    u.resize(cap);
  }
  for (int64_t t0 = 0; t0 < a.T; t0 += step) {
    const int64_t n = std::min(step, a.T - t0);
    float* gc = a.saved_gu ? a.saved_gu + t0 * a.I : g.data();
    float* uc = a.saved_gu ? a.saved_gu + (a.T + t0) * a.I : u.data();
    a.gate->Forward(gc, x + t0 * a.C, n);
    a.up->Forward(uc, x + t0 * a.C, n);
    SwiGluForward(h.data(), gc, uc, n * a.I);
    a.down->Forward(out + t0 * a.C, h.data(), n);
  }
}

void MlpBackward(float* dx, const float* dout, const float* x, const MlpArgs& a) {
  const int64_t step = a.chunk > 0 ? a.chunk : a.T;
  const size_t cap = static_cast<size_t>(std::min(step, a.T) * a.I);
  std::vector<float> g, u, h(cap), dh(cap), du(cap);
  if (!a.saved_gu) {
    g.resize(cap);
    u.resize(cap);
  }
  for (int64_t t0 = 0; t0 < a.T; t0 += step) {
    const int64_t n = std::min(step, a.T - t0);
    const float* xc = x + t0 * a.C;
    float* gc = a.saved_gu ? a.saved_gu + t0 * a.I : g.data();
    float* uc = a.saved_gu ? a.saved_gu + (a.T + t0) * a.I : u.data();
    if (!a.saved_gu) {  // MST: recompute this chunk's pre-activations
      a.gate->Forward(gc, xc, n);
      a.up->Forward(uc, xc, n);
    }
    SwiGluForward(h.data(), gc, uc, n * a.I);
    a.down->Backward(dh.data(), dout + t0 * a.C, h.data(), n, false);  // dW_down += hᵀ·dout
    SwiGluBackward(dh.data(), du.data(), dh.data(), gc, uc, n * a.I);  // dh now holds d(gate)
    a.gate->Backward(dx + t0 * a.C, dh.data(), xc, n, false);
    a.up->Backward(dx + t0 * a.C, du.data(), xc, n, true);
  }
}

double HeadLoss(const HeadLossArgs& a) {
  const int64_t n_valid = CountValidLabels(a.labels, a.T);
  if (a.dh) std::fill(a.dh, a.dh + a.T * a.C, 0.0f);
  if (n_valid == 0) return 0.0;
  const float grad_scale = a.dh ? a.loss_scale / static_cast<float>(n_valid) : 0.0f;
  const int64_t step = a.chunk > 0 ? a.chunk : a.T;
  std::vector<float> logits(static_cast<size_t>(std::min(step, a.T) * a.V));
  double sum = 0;
  for (int64_t t0 = 0; t0 < a.T; t0 += step) {
    const int64_t n = std::min(step, a.T - t0);
    if (CountValidLabels(a.labels + t0, n) == 0) continue;  // all ignored: no loss, no gradient
    const float* hc = a.h + t0 * a.C;
    a.head->Forward(logits.data(), hc, n);
    sum += CrossEntropy({.logits = logits.data(), .labels = a.labels + t0, .T = n, .V = a.V,
                         .grad_scale = grad_scale});
    if (a.dh) a.head->Backward(a.dh + t0 * a.C, logits.data(), hc, n, false);
  }
  return sum / static_cast<double>(n_valid);
}

}  // namespace lm::train
