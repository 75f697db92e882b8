// Tests of RMSNorm, RoPE, SwiGLU, embedding lookup and MatMul against direct formulas.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/quant.h"
#include "ops/activations.h"
#include "ops/embedding.h"
#include "ops/matmul.h"
#include "ops/rms_norm.h"
#include "ops/rope.h"

namespace lm::ops {
namespace {

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(RmsNorm, MatchesFormula) {
  const int64_t rows = 3, cols = 576;
  auto x = Random(rows * cols, 1), w = Random(cols, 2);
  std::vector<float> y(x.size());
  RmsNorm(x.data(), w.data(), y.data(), rows, cols, 1e-5f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < cols; ++i) ss += x[r * cols + i] * x[r * cols + i];
    const double inv = 1.0 / std::sqrt(ss / cols + 1e-5);
    for (int64_t i = 0; i < cols; ++i) EXPECT_NEAR(y[r * cols + i], x[r * cols + i] * inv * w[i], 1e-5);
  }
}

TEST(Rope, PositionZeroIsIdentityAndNormIsPreserved) {
  for (RopeStyle style : {RopeStyle::kInterleaved, RopeStyle::kHalfSplit}) {
    RopeParams p{.head_dim = 64, .rot_dim = 64, .theta = 100000.0f, .style = style};
    auto x = Random(2 * 3 * 64, 3);
    auto y = x;
    const int32_t pos[2] = {0, 1234};
    ApplyRope(y.data(), pos, 2, 3, p);
    for (int i = 0; i < 3 * 64; ++i) EXPECT_FLOAT_EQ(y[i], x[i]);
    for (int h = 0; h < 3; ++h) {
      double a = 0, b = 0;
      for (int d = 0; d < 64; ++d) {
        a += x[(3 + h) * 64 + d] * x[(3 + h) * 64 + d];
        b += y[(3 + h) * 64 + d] * y[(3 + h) * 64 + d];
      }
      EXPECT_NEAR(a, b, 1e-3 * a);
    }
  }
}

// The defining property: <R(m)q, R(n)k> depends only on m - n.
TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  RopeParams p{.head_dim = 64, .rot_dim = 64, .theta = 10000.0f, .style = RopeStyle::kInterleaved};
  const auto q = Random(64, 4), k = Random(64, 5);
  auto dot_at = [&](int32_t m, int32_t n) {
    auto qq = q, kk = k;
    ApplyRope(qq.data(), &m, 1, 1, p);
    ApplyRope(kk.data(), &n, 1, 1, p);
    double s = 0;
    for (int d = 0; d < 64; ++d) s += qq[d] * kk[d];
    return s;
  };
  EXPECT_NEAR(dot_at(10, 3), dot_at(107, 100), 1e-3);
  EXPECT_NEAR(dot_at(5000, 4990), dot_at(20, 10), 1e-3);
}

// The two pairings are the same rotation after permuting dimensions (what the GGUF converter does).
TEST(Rope, StylesAgreeUnderPermutation) {
  const int D = 8;
  RopeParams inter{.head_dim = D, .rot_dim = D, .theta = 10000.0f, .style = RopeStyle::kInterleaved};
  RopeParams half = inter;
  half.style = RopeStyle::kHalfSplit;
  const auto x = Random(D, 6);
  std::vector<float> xi(D);
  for (int i = 0; i < D / 2; ++i) {  // half-split index i <-> interleaved 2i, i + D/2 <-> 2i + 1
    xi[2 * i] = x[i];
    xi[2 * i + 1] = x[i + D / 2];
  }
  auto xh = x;
  const int32_t pos = 77;
  ApplyRope(xh.data(), &pos, 1, 1, half);
  ApplyRope(xi.data(), &pos, 1, 1, inter);
  for (int i = 0; i < D / 2; ++i) {
    EXPECT_NEAR(xi[2 * i], xh[i], 1e-6);
    EXPECT_NEAR(xi[2 * i + 1], xh[i + D / 2], 1e-6);
  }
}

TEST(SwiGlu, MatchesFormula) {
  const auto g = Random(100, 7, 3.0f), u = Random(100, 8);
  std::vector<float> out(100);
  SwiGlu(g.data(), u.data(), out.data(), 100);
  for (int i = 0; i < 100; ++i) EXPECT_NEAR(out[i], g[i] / (1 + std::exp(-g[i])) * u[i], 1e-6);
}

TEST(MatMul, MatchesNaiveWithBias) {
  const int64_t T = 5, N = 7, K = 33;
  const auto x = Random(T * K, 9), bias = Random(N, 10);
  Tensor w = Tensor::Zeros(DType::kF32, {N, K});
  const auto wv = Random(N * K, 11);
  std::copy(wv.begin(), wv.end(), w.data<float>());
  std::vector<float> y(T * N);
  MatMul(x.data(), w, y.data(), T, bias.data());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias[n];
      for (int64_t k = 0; k < K; ++k) s += x[t * K + k] * wv[n * K + k];
      EXPECT_NEAR(y[t * N + n], s, 1e-4);
    }
}

TEST(Embedding, QuantisedRowsDequantiseOnLookup) {
  const int64_t V = 4, C = 64;
  const auto table = Random(V * C, 12);
  std::vector<BlockQ8_0> q(V * C / 32);
  QuantizeRowQ8_0(table.data(), q.data(), V * C);
  Tensor t = Tensor::View(DType::kQ8_0, {V, C}, q.data(), nullptr);
  const int32_t ids[2] = {3, 1};
  std::vector<float> out(2 * C), want(C);
  EmbeddingLookup(t, ids, 2, out.data());
  DequantizeRow(DType::kQ8_0, q.data() + 3 * C / 32, want.data(), C);
  for (int64_t i = 0; i < C; ++i) EXPECT_EQ(out[i], want[i]);
  for (int64_t i = 0; i < C; ++i) EXPECT_NEAR(out[C + i], table[C + i], 0.02);
}

}  // namespace
}  // namespace lm::ops
