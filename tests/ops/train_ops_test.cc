// Finite-difference tests of the training ops' backward passes (linear f32 and frozen quantised, norms,
// activations, embedding, cross-entropy with ignored labels). Tolerance: see fd_check.h (1e-2 relative).
#include <gtest/gtest.h>

#include "core/quant.h"
#include "ops/fd_check.h"
#include "train/ops/activations_train.h"
#include "train/ops/cross_entropy.h"
#include "train/ops/embedding_train.h"
#include "train/ops/linear.h"
#include "train/ops/norm.h"

namespace lm::train {
namespace {

using test::Dot;
using test::FdMaxRelError;
using test::RandomVec;
constexpr double kTol = 1e-2;

TEST(TrainOps, LinearBackward) {
  const int64_t T = 5, N = 7, K = 6;
  auto x = RandomVec(T * K, 1), w = RandomVec(N * K, 2), r = RandomVec(T * N, 3);
  std::vector<float> y(T * N), dx(T * K), dw(N * K, 0.0f);
  LinearForward(y.data(), x.data(), w.data(), T, N, K);
  LinearBackward({.dx = dx.data(), .dw = dw.data(), .dy = r.data(), .x = x.data(), .w = w.data(), .T = T, .N = N, .K = K});
  auto loss = [&] {
    LinearForward(y.data(), x.data(), w.data(), T, N, K);
    return Dot(y, r);
  };
  EXPECT_LT(FdMaxRelError(x, dx, loss), kTol);
  EXPECT_LT(FdMaxRelError(w, dw, loss), kTol);
  // Parameter grads accumulate; activation grads overwrite (unless asked to accumulate).
  LinearBackward({.dx = dx.data(), .dw = dw.data(), .dy = r.data(), .x = x.data(), .w = w.data(), .T = T, .N = N, .K = K});
  std::vector<float> dw1(N * K, 0.0f), dx1(T * K);
  LinearBackward({.dx = dx1.data(), .dw = dw1.data(), .dy = r.data(), .x = x.data(), .w = w.data(), .T = T, .N = N, .K = K});
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_FLOAT_EQ(dw[i], 2 * dw1[i]);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_FLOAT_EQ(dx[i], dx1[i]);
}

TEST(TrainOps, FrozenQuantisedLinearMatchesDequantised) {
  // 300 rows: more than one 256-row dequantisation tile.
  const int64_t T = 3, N = 300, K = 64;
  auto wf = RandomVec(N * K, 4, 0.1f), x = RandomVec(T * K, 5), r = RandomVec(T * N, 6);
  std::vector<BlockQ8_0> q(static_cast<size_t>(N * K / 32));
  QuantizeRowQ8_0(wf.data(), q.data(), N * K);
  Tensor wq = Tensor::View(DType::kQ8_0, {N, K}, q.data(), nullptr);
  std::vector<float> deq(N * K);
  DequantizeRow(DType::kQ8_0, q.data(), deq.data(), N * K);
  std::vector<float> y(T * N), y_ref(T * N), dx(T * K, 1.0f), dx_ref(T * K);
  FrozenLinearForward(y.data(), x.data(), wq, T);
  LinearForward(y_ref.data(), x.data(), deq.data(), T, N, K);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], y_ref[i], 1e-4);
  FrozenLinearBackwardDx(dx.data(), r.data(), wq, T, /*accumulate=*/false);
  LinearBackward({.dx = dx_ref.data(), .dy = r.data(), .w = deq.data(), .T = T, .N = N, .K = K});
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], dx_ref[i], 1e-4);
  auto loss = [&] {
    FrozenLinearForward(y.data(), x.data(), wq, T);
    return Dot(y, r);
  };
  EXPECT_LT(FdMaxRelError(x, dx, loss), kTol);
}

TEST(TrainOps, RmsNormBackward) {
  const int64_t R = 3, C = 16;
  auto x = RandomVec(R * C, 7), w = RandomVec(C, 8), r = RandomVec(R * C, 9);
  std::vector<float> y(R * C), rstd(R), dx(R * C, 0.0f), dw(C, 0.0f);
  RmsNormForward(y.data(), rstd.data(), x.data(), w.data(), R, C, 1e-5f);
  RmsNormBackward({.dx = dx.data(), .dw = dw.data(), .dy = r.data(), .x = x.data(), .w = w.data(), .rstd = rstd.data(),
                   .R = R, .C = C});
  auto loss = [&] {
    RmsNormForward(y.data(), rstd.data(), x.data(), w.data(), R, C, 1e-5f);
    return Dot(y, r);
  };
  EXPECT_LT(FdMaxRelError(x, dx, loss), kTol);
  EXPECT_LT(FdMaxRelError(w, dw, loss), kTol);
}

TEST(TrainOps, LayerNormBackward) {
  const int64_t R = 3, C = 16;
  auto x = RandomVec(R * C, 10), w = RandomVec(C, 11), b = RandomVec(C, 12), r = RandomVec(R * C, 13);
  std::vector<float> y(R * C), mean(R), rstd(R), dx(R * C, 0.0f), dw(C, 0.0f), db(C, 0.0f);
  LayerNormForward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), R, C, 1e-5f);
  LayerNormBackward({.dx = dx.data(), .dw = dw.data(), .db = db.data(), .dy = r.data(), .x = x.data(), .w = w.data(),
                     .mean = mean.data(), .rstd = rstd.data(), .R = R, .C = C});
  auto loss = [&] {
    LayerNormForward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), R, C, 1e-5f);
    return Dot(y, r);
  };
  EXPECT_LT(FdMaxRelError(x, dx, loss), kTol);
  EXPECT_LT(FdMaxRelError(w, dw, loss), kTol);
  EXPECT_LT(FdMaxRelError(b, db, loss), kTol);
}

TEST(TrainOps, SwiGluAndGeluBackward) {
  const int64_t n = 40;
  auto g = RandomVec(n, 14, 2.0f), u = RandomVec(n, 15), r = RandomVec(n, 16);
  std::vector<float> h(n), dg(n), du(n);
  SwiGluBackward(dg.data(), du.data(), r.data(), g.data(), u.data(), n);
  auto swiglu = [&] {
    SwiGluForward(h.data(), g.data(), u.data(), n);
    return Dot(h, r);
  };
  EXPECT_LT(FdMaxRelError(g, dg, swiglu), kTol);
  EXPECT_LT(FdMaxRelError(u, du, swiglu), kTol);
  std::vector<float> y(n), dx(n);
  GeluBackward(dx.data(), r.data(), g.data(), n);
  auto gelu = [&] {
    GeluForward(y.data(), g.data(), n);
    return Dot(y, r);
  };
  EXPECT_LT(FdMaxRelError(g, dx, gelu), kTol);
  // Residual: both inputs receive dy.
  std::vector<float> da(n, 0.0f), db(n, 0.0f);
  ResidualBackward(da.data(), db.data(), r.data(), n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(da[i], r[i]);
}

TEST(TrainOps, EmbeddingBackwardAccumulatesRepeatedIds) {
  const int64_t V = 6, C = 4;
  const std::vector<int32_t> ids = {1, 3, 1, 5};
  auto table = RandomVec(V * C, 17), r = RandomVec(ids.size() * C, 18);
  std::vector<float> out(ids.size() * C), dt(V * C, 0.0f);
  EmbeddingBackward(dt.data(), r.data(), ids.data(), 4, C);
  auto loss = [&] {
    EmbeddingForward(out.data(), table.data(), ids.data(), 4, C);
    return Dot(out, r);
  };
  EXPECT_LT(FdMaxRelError(table, dt, loss), kTol);
}

TEST(TrainOps, CrossEntropyWithIgnoredLabels) {
  const int64_t T = 5, V = 9;
  const std::vector<int32_t> labels = {2, kIgnoreLabel, 0, 8, kIgnoreLabel};
  auto z = RandomVec(T * V, 19, 2.0f);
  std::vector<float> work = z;
  const int64_t n_valid = CountValidLabels(labels.data(), T);
  ASSERT_EQ(n_valid, 3);
  const double sum = CrossEntropy({.logits = work.data(), .labels = labels.data(), .T = T, .V = V,
                                   .grad_scale = 1.0f / static_cast<float>(n_valid)});
  std::vector<float> dz = work;  // d(mean loss)/dz
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(dz[1 * V + v], 0.0f);  // ignored row: zero gradient
  auto loss = [&] {
    std::vector<float> tmp = z;
    return CrossEntropy({.logits = tmp.data(), .labels = labels.data(), .T = T, .V = V}) / static_cast<double>(n_valid);
  };
  EXPECT_NEAR(loss(), sum / 3.0, 1e-9);
  EXPECT_LT(FdMaxRelError(z, dz, loss), kTol);
}

}  // namespace
}  // namespace lm::train
