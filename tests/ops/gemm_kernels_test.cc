// The backend/cpu product kernels against their plain references, at odd sizes, for every weight format;
// plus the error of the Q8-activation path against the exact f32 product, and ops::MatMul's dispatch.
// hwy_test_util.h first: it brings the project's Highway target set; without it this TU's
// SupportedAndGeneratedTargets() lacks AVX3_DL, and the scalar fallback ran in its place, leaving the
// AVX-512 kernels unchecked.
#include "hwy_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "backend/cpu/gemm.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "ops/gemm_test_util.h"
#include "ops/matmul.h"

namespace lm {
namespace {

using test::RandomActivations;
using test::RandomRows;

struct Case {
  DType t;
  int64_t K;
};

// Σ_k |w||x| per output: the scale that rounding errors of a dot product are relative to.
std::vector<double> AbsScale(DType t, const std::vector<uint8_t>& w, int64_t N, int64_t K, const float* x, int64_t T) {
  std::vector<double> out(static_cast<size_t>(N * T));
  std::vector<float> row(static_cast<size_t>(K));
  const uint64_t rb = *BytesFor(t, K);
  for (int64_t r = 0; r < N; ++r) {
    DequantizeRow(t, w.data() + r * rb, row.data(), K);
    for (int64_t s = 0; s < T; ++s) {
      double a = 0;
      for (int64_t k = 0; k < K; ++k) a += std::fabs(static_cast<double>(row[k]) * x[s * K + k]);
      out[static_cast<size_t>(s * N + r)] = a;
    }
  }
  return out;
}

class QuantGemmTest : public ::testing::TestWithParam<DType> {};
class FloatGemmTest : public ::testing::TestWithParam<DType> {};
void CheckQuantAgainstReference(DType t);
void CheckBatchInvariant(DType t);
void CheckFloatAgainstReference(DType t);

// Runs fn once per SIMD target; the kernels must really run on it, not fall back to another one.
template <class Fn>
void ForEachTarget(const Fn& fn) {
  test::ForEachHwyTarget(fn, &GemmTargetName);
}

TEST_P(QuantGemmTest, MatchesReferenceAtOddSizes) { ForEachTarget([this] { CheckQuantAgainstReference(GetParam()); }); }
TEST_P(FloatGemmTest, MatchesReferenceAtOddSizes) { ForEachTarget([this] { CheckFloatAgainstReference(GetParam()); }); }

// A token's output must have the same bits however the tokens are batched: T = 1 (the decode kernels),
// 4-token tiles and the T % 4 tail. The model quantises every product's output to int8 for the next one,
// so one ulp can move a value across a rounding boundary, a whole int8 step: the AVX-512 prefill once summed
// the minimum terms and the tail's dot lanes in other orders than decode did, and the ~1e-6 differences
// became 1.7e-2 in the logits of a tiny model prefilled whole vs in pieces (passing at -O2 only by luck).
TEST_P(QuantGemmTest, TokenResultsDoNotDependOnBatching) {
  ForEachTarget([this] { CheckBatchInvariant(GetParam()); });
}

void CheckBatchInvariant(DType t) {
  const bool k_quant = Info(t).block_elems == 256;
  // Odd block counts (the unpaired last block) as well as even ones; 13 rows run every row-group size
  // (decode 8 + 4 + 1, prefill 4 + 4 + 4 + 1); T = 11 is two tiles and a 3-token tail.
  const std::vector<int64_t> Ks = k_quant ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{32, 64, 96, 576};
  const int64_t N = 13, T = 11;
  for (int64_t K : Ks) {
    const int64_t nb = K / 32, row_bytes = static_cast<int64_t>(*BytesFor(t, K));
    const auto w = RandomRows(t, N, K, static_cast<uint32_t>(K + 17));
    const auto x = RandomActivations(T * K, static_cast<uint32_t>(K + 3));
    Q8Buffer buf;
    const Q8Rows xq = buf.Quantize(x.data(), T, K);
    // Tokens [0, T) in calls of `chunk` tokens, each call seeing only its own rows of x, as a session's do.
    const auto run = [&](int64_t chunk) {
      std::vector<float> y(static_cast<size_t>(T * N), -7.0f);
      for (int64_t t0 = 0; t0 < T; t0 += chunk) {
        const Q8Rows part{.qs = xq.qs + t0 * K, .d = xq.d + t0 * nb, .s = xq.s + t0 * nb, .K = K};
        QuantGemm({.w_type = t, .w = w.data(), .row_bytes = row_bytes, .n_rows = N, .x = part,
                   .T = std::min(chunk, T - t0), .y = y.data() + t0 * N, .ldy = N});
      }
      return y;
    };
    const std::vector<float> whole = run(T);
    for (int64_t chunk : {1, 2, 3, 5, 7}) {
      const std::vector<float> y = run(chunk);
      for (int64_t i = 0; i < T * N; ++i)
        ASSERT_EQ(y[static_cast<size_t>(i)], whole[static_cast<size_t>(i)])
            << Name(t) << " K=" << K << " chunk=" << chunk << " token=" << i / N << " row=" << i % N;
    }
  }
}

void CheckQuantAgainstReference(DType t) {
  const bool k_quant = Info(t).block_elems == 256;
  const std::vector<int64_t> Ks = k_quant ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{32, 96, 576};
  for (int64_t K : Ks) {
    for (int64_t N : {1, 3, 7, 18}) {
      for (int64_t T : {1, 2, 5, 9}) {
        const auto w = RandomRows(t, N, K, static_cast<uint32_t>(K * 131 + N * 7 + T));
        const auto x = RandomActivations(T * K, static_cast<uint32_t>(T + 5));
        Q8Buffer buf;
        const Q8Rows xq = buf.Quantize(x.data(), T, K);
        // The reference's activations are the dequantised Q8 ones, so the only difference is rounding.
        std::vector<float> xd(static_cast<size_t>(T * K));
        for (int64_t i = 0; i < T * K; ++i) xd[i] = xq.d[i / 32] * xq.qs[i];
        const int64_t ldy = N + 3;  // a strided y, as MatMul's row slices write
        std::vector<float> y(static_cast<size_t>(T * ldy), -7.0f), ref(y);
        QuantGemmArgs a{.w_type = t, .w = w.data(), .row_bytes = static_cast<int64_t>(*BytesFor(t, K)), .n_rows = N,
                        .x = xq, .T = T, .y = y.data(), .ldy = ldy};
        QuantGemm(a);
        a.y = ref.data();
        QuantGemmReference(a);
        const auto scale = AbsScale(t, w, N, K, xd.data(), T);
        for (int64_t s = 0; s < T; ++s)
          for (int64_t r = 0; r < N; ++r) {
            const size_t i = static_cast<size_t>(s * ldy + r);
            ASSERT_NEAR(y[i], ref[i], 1e-5 * scale[static_cast<size_t>(s * N + r)] + 1e-30)
                << Name(t) << " K=" << K << " N=" << N << " T=" << T << " r=" << r << " t=" << s;
          }
        for (int64_t s = 0; s < T; ++s) ASSERT_EQ(y[static_cast<size_t>(s * ldy + N)], -7.0f) << "wrote past N";
      }
    }
  }
}

// The fast path's total error: Q8-quantised activations against the exact f32 product with the same
// (dequantised) weights. Per-32 int8 activations carry ~0.4% relative error per element, averaging
// down over K; measured 4.8e-3 .. 5.9e-3 of the output RMS across formats here (random weights, N(0,1) x).
TEST_P(QuantGemmTest, Q8ActivationErrorVsExactProduct) {
  const DType t = GetParam();
  const int64_t K = 1536, N = 64, T = 4;
  const auto w = RandomRows(t, N, K, 99);
  const auto x = RandomActivations(T * K, 7);
  Q8Buffer buf;
  std::vector<float> y(static_cast<size_t>(T * N)), wrow(static_cast<size_t>(K));
  QuantGemm({.w_type = t, .w = w.data(), .row_bytes = static_cast<int64_t>(*BytesFor(t, K)), .n_rows = N,
             .x = buf.Quantize(x.data(), T, K), .T = T, .y = y.data(), .ldy = N});
  double err2 = 0, ref2 = 0;
  for (int64_t r = 0; r < N; ++r) {
    DequantizeRow(t, w.data() + r * *BytesFor(t, K), wrow.data(), K);
    for (int64_t s = 0; s < T; ++s) {
      double e = 0;
      for (int64_t k = 0; k < K; ++k) e += static_cast<double>(wrow[k]) * x[s * K + k];
      err2 += (y[s * N + r] - e) * (y[s * N + r] - e);
      ref2 += e * e;
    }
  }
  const double rel = std::sqrt(err2 / ref2);
  std::printf("[ q8 activations ] %s: relative RMS error vs exact f32 product = %.2e\n", std::string(Name(t)).c_str(),
              rel);
  EXPECT_LT(rel, 1e-2);
  EXPECT_GT(rel, 0.0);  // the kernel really used quantised activations
}

INSTANTIATE_TEST_SUITE_P(AllFormats, QuantGemmTest,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                           DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const auto& p) { return std::string(Name(p.param)); });

void CheckFloatAgainstReference(DType t) {
  for (int64_t K : {1, 7, 16, 37, 576}) {
    for (int64_t N : {1, 5, 18, 45}) {  // 45: decode rows far enough from the end to prefetch ahead
      for (int64_t T : {1, 3, 6}) {
        const auto w = RandomRows(t, N, K, static_cast<uint32_t>(K + N + T));
        const auto x = RandomActivations(T * K, 3);
        std::vector<float> y(static_cast<size_t>(T * N)), ref(y);
        FloatGemmArgs a{.w_type = t, .w = w.data(), .n_rows = N, .x = x.data(), .K = K, .T = T, .y = y.data(), .ldy = N};
        FloatGemm(a);
        a.y = ref.data();
        FloatGemmReference(a);
        const auto scale = AbsScale(t, w, N, K, x.data(), T);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], ref[i], 1e-5 * scale[i] + 1e-30) << Name(t) << " K=" << K << " N=" << N << " T=" << T;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HalfTypes, FloatGemmTest, ::testing::Values(DType::kF16, DType::kBF16),
                         [](const auto& p) { return std::string(Name(p.param)); });

// ops::MatMul over the thread pool (row slices), both modes, with a bias, against the exact product.
TEST(MatMulDispatch, QuantisedWeightsBothModes) {
  SetGlobalThreads(2);
  const int64_t K = 576, N = 197, T = 3;
  const auto w = RandomRows(DType::kQ4_1, N, K, 5);
  const Tensor wt = Tensor::View(DType::kQ4_1, {N, K}, w.data(), nullptr);
  const auto x = RandomActivations(T * K, 11);
  const auto bias = RandomActivations(N, 12);
  std::vector<float> wf(static_cast<size_t>(N * K)), exact(static_cast<size_t>(T * N));
  DequantizeRow(DType::kQ4_1, w.data(), wf.data(), N * K);
  for (int64_t s = 0; s < T; ++s)
    for (int64_t r = 0; r < N; ++r) {
      double e = bias[r];
      for (int64_t k = 0; k < K; ++k) e += static_cast<double>(wf[r * K + k]) * x[s * K + k];
      exact[s * N + r] = static_cast<float>(e);
    }
  std::vector<float> y(static_cast<size_t>(T * N));
  ops::SetMatMulMode(ops::MatMulMode::kExact);
  ops::MatMul(x.data(), wt, y.data(), T, bias.data());
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], exact[i], 1e-4) << i;
  ops::SetMatMulMode(ops::MatMulMode::kFast);
  ops::MatMul(x.data(), wt, y.data(), T, bias.data());
  double max_err = 0;
  for (size_t i = 0; i < y.size(); ++i) max_err = std::max(max_err, std::fabs(static_cast<double>(y[i]) - exact[i]));
  EXPECT_LT(max_err, 0.05);
  EXPECT_GT(max_err, 1e-6);  // fast mode really quantised the activations
}

// Prefill shapes: several token panels (the kernels block T by K), a T % 4 tail, and the model's K.
TEST(QuantGemmLarge, MatchesReferenceAtPrefillSizes) {
  for (DType t : {DType::kQ8_0, DType::kQ4_1, DType::kQ4_K}) {
    for (int64_t K : {Info(t).block_elems == 256 ? int64_t{768} : int64_t{576}, int64_t{1536}}) {
      const int64_t N = 9, T = 523;
      const auto w = RandomRows(t, N, K, static_cast<uint32_t>(K + 3));
      const auto x = RandomActivations(T * K, 21);
      Q8Buffer buf;
      const Q8Rows xq = buf.Quantize(x.data(), T, K);
      std::vector<float> xd(static_cast<size_t>(T * K));
      for (int64_t i = 0; i < T * K; ++i) xd[i] = xq.d[i / 32] * xq.qs[i];
      std::vector<float> y(static_cast<size_t>(T * N)), ref(y);
      QuantGemmArgs a{.w_type = t, .w = w.data(), .row_bytes = static_cast<int64_t>(*BytesFor(t, K)), .n_rows = N,
                      .x = xq, .T = T, .y = y.data(), .ldy = N};
      QuantGemm(a);
      a.y = ref.data();
      QuantGemmReference(a);
      const auto scale = AbsScale(t, w, N, K, xd.data(), T);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], ref[i], 1e-5 * scale[i] + 1e-30) << Name(t) << " K=" << K << " i=" << i;
    }
  }
}

// ops::MatMulMulti (fused outputs over one parallel region) gives exactly what one MatMul per output gives,
// for T = 1 (decode kernel) and T = 6 (tiles + tail), with odd row counts that split across threads.
TEST(MatMulDispatch, MultiMatchesSeparateCalls) {
  SetGlobalThreads(2);
  const int64_t K = 576;
  const int64_t Ns[] = {37, 192, 5};
  std::vector<std::vector<uint8_t>> ws;
  std::vector<Tensor> ts;
  for (int i = 0; i < 3; ++i) ws.push_back(RandomRows(DType::kQ4_1, Ns[i], K, 40 + i));
  for (int i = 0; i < 3; ++i) ts.push_back(Tensor::View(DType::kQ4_1, {Ns[i], K}, ws[i].data(), nullptr));
  const auto bias = RandomActivations(Ns[1], 13);
  for (int64_t T : {1, 6}) {
    const auto x = RandomActivations(T * K, 17);
    std::vector<std::vector<float>> sep(3), fused(3);
    for (int i = 0; i < 3; ++i) {
      sep[i].assign(static_cast<size_t>(T * Ns[i]), 0.0f);
      fused[i].assign(static_cast<size_t>(T * Ns[i]), -1.0f);
      ops::MatMul(x.data(), ts[i], sep[i].data(), T, i == 1 ? bias.data() : nullptr);
    }
    const ops::MatMulOut outs[] = {{&ts[0], fused[0].data()}, {&ts[1], fused[1].data(), bias.data()},
                                   {&ts[2], fused[2].data()}};
    ops::MatMulMulti(x.data(), outs, T);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(fused[i], sep[i]) << "output " << i << " T=" << T;
  }
}

}  // namespace
}  // namespace lm
