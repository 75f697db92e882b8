// LongMem memory attention and gate mix: forward against a double-precision reference (GQA, gathered slots with
// repeats, padded bank stride, large scores), K == 0, and backward against finite differences (fd_check.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "ops/fd_check.h"
#include "train/ops/memory_attention_train.h"

namespace lm::train {
namespace {

using test::Dot;
using test::FdMaxRelError;
using test::RandomVec;
constexpr double kTol = 1e-2;  // see fd_check.h

// A bank of n_tok tokens per kv head, laid out [Hkv][stride_tok][D]; rows past n_tok are NaN so a read outside
// the given slots poisons the output.
struct Bank {
  int64_t Hkv, D, n_tok, stride_tok;
  std::vector<float> k, v;
  Bank(int64_t hkv, int64_t d, int64_t n, int64_t stride, uint32_t seed)
      : Hkv(hkv), D(d), n_tok(n), stride_tok(stride), k(RandomVec(hkv * stride * d, seed)),
        v(RandomVec(hkv * stride * d, seed + 1)) {
    for (int64_t g = 0; g < Hkv; ++g)
      for (int64_t s = n_tok; s < stride_tok; ++s)
        for (int64_t e = 0; e < D; ++e) {
          k[(g * stride_tok + s) * D + e] = std::numeric_limits<float>::quiet_NaN();
          v[(g * stride_tok + s) * D + e] = std::numeric_limits<float>::quiet_NaN();
        }
  }
  int64_t kv_stride() const { return stride_tok * D; }
};

// Slots drawn from fewer tokens than K (so repeats are certain for K > n_tok), and slot 1 = slot 0 per row.
std::vector<int32_t> RandomSlots(int64_t T, int64_t H, int64_t K, int64_t n_tok, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(n_tok - 1));
  std::vector<int32_t> s(T * H * K);
  for (auto& x : s) x = u(rng);
  if (K > 1)
    for (int64_t r = 0; r < T * H; ++r) s[r * K + 1] = s[r * K];
  return s;
}

// Naive double-precision memory attention: out [T, H, D], lse [T, H].
void Reference(std::vector<double>& out, std::vector<double>& lse, const MemoryAttentionShape& a) {
  out.assign(a.T * a.H * a.D, 0.0);
  lse.assign(a.T * a.H, 0.0);
  const int64_t group = a.H / a.Hkv;
  for (int64_t t = 0; t < a.T; ++t)
    for (int64_t h = 0; h < a.H; ++h) {
      const int64_t r = t * a.H + h, g = h / group;
      std::vector<double> s(a.K);
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < a.K; ++j) {
        const float* k = a.bank_k + g * a.kv_stride + a.slots[r * a.K + j] * a.D;
        double dot = 0;
        for (int64_t d = 0; d < a.D; ++d) dot += static_cast<double>(a.q[r * a.D + d]) * k[d];
        s[j] = a.scale * dot;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& x : s) sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j < a.K; ++j) {
        const float* v = a.bank_v + g * a.kv_stride + a.slots[r * a.K + j] * a.D;
        for (int64_t d = 0; d < a.D; ++d) out[r * a.D + d] += s[j] / sum * v[d];
      }
      lse[r] = mx + std::log(sum);
    }
}

struct Case {
  int64_t T = 4, H = 6, Hkv = 2, D = 8, K = 8;
  Bank bank{2, 8, 5, 7, 11};  // 5 real tokens per kv head, stride 7 tokens (2 NaN padding rows)
  std::vector<float> q;
  std::vector<int32_t> slots;
  explicit Case(int64_t k, float q_scale = 1.0f) : K(k), q(RandomVec(T * H * D, 21, q_scale)),
                                                   slots(RandomSlots(T, H, k, bank.n_tok, 31)) {}
  MemoryAttentionShape Shape() const {
    return {.q = q.data(), .bank_k = bank.k.data(), .bank_v = bank.v.data(), .kv_stride = bank.kv_stride(),
            .slots = slots.data(), .T = T, .H = H, .Hkv = Hkv, .D = D, .K = K, .scale = 1.0f / std::sqrt(8.0f)};
  }
};

TEST(MemoryAttention, ForwardMatchesDoubleReference) {
  for (int64_t K : {8, 1}) {
    for (float q_scale : {1.0f, 60.0f}) {  // 60: scores in the hundreds, so the max subtraction matters
      Case c(K, q_scale);
      std::vector<float> out(c.T * c.H * c.D), lse(c.T * c.H);
      MemoryAttentionForward(out.data(), lse.data(), c.Shape());
      std::vector<double> ref, ref_lse;
      Reference(ref, ref_lse, c.Shape());
      for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 1e-5) << "K " << K << " i " << i;
      for (size_t i = 0; i < lse.size(); ++i) ASSERT_NEAR(lse[i], ref_lse[i], 1e-5 * (1 + std::abs(ref_lse[i])));
      if (K == 1) {  // a single slot: out is exactly that bank value
        const auto a = c.Shape();
        for (int64_t r = 0; r < c.T * c.H; ++r)
          for (int64_t d = 0; d < c.D; ++d)
            ASSERT_EQ(out[r * c.D + d], a.bank_v[(r % c.H) / 3 * a.kv_stride + c.slots[r] * c.D + d]);
      }
    }
  }
}

TEST(MemoryAttention, EmptyMemoryGivesZeroOutputAndLeavesDqUnchanged) {
  Case c(0);
  std::vector<float> out(c.T * c.H * c.D, 7.0f), lse(c.T * c.H, 7.0f);
  MemoryAttentionForward(out.data(), lse.data(), c.Shape());
  for (float x : out) EXPECT_EQ(x, 0.0f);
  for (float x : lse) EXPECT_EQ(x, -std::numeric_limits<float>::infinity());
  auto dq = RandomVec(out.size(), 41);
  const auto dq0 = dq;
  const auto dout = RandomVec(out.size(), 42);
  MemoryAttentionBackward(dq.data(), dout.data(), out.data(), lse.data(), c.Shape());
  EXPECT_EQ(dq, dq0);
}

TEST(MemoryAttention, BackwardAccumulatesAndMatchesFiniteDifferences) {
  for (int64_t K : {8, 1}) {
    Case c(K);
    const auto w = RandomVec(c.T * c.H * c.D, 51);
    std::vector<float> out(w.size()), lse(c.T * c.H), dq(w.size(), 0.0f);
    MemoryAttentionForward(out.data(), lse.data(), c.Shape());
    MemoryAttentionBackward(dq.data(), w.data(), out.data(), lse.data(), c.Shape());
    // Accumulation: starting from a non-zero dq adds the same gradient.
    auto dq_acc = RandomVec(w.size(), 52);
    const auto base = dq_acc;
    MemoryAttentionBackward(dq_acc.data(), w.data(), out.data(), lse.data(), c.Shape());
    for (size_t i = 0; i < dq.size(); ++i) EXPECT_NEAR(dq_acc[i], base[i] + dq[i], 1e-5);
    auto loss = [&] {
      std::vector<float> o(w.size()), l(lse.size());
      MemoryAttentionForward(o.data(), l.data(), c.Shape());
      return Dot(o, w);
    };
    const double err = FdMaxRelError(c.q, dq, loss);
    EXPECT_LT(err, kTol) << "K " << K;
    std::printf("memory attention dq K=%lld: max FD rel error %.3g\n", static_cast<long long>(K), err);
  }
}

TEST(GateMix, BackwardMatchesFiniteDifferencesAndDgateAccumulates) {
  const int64_t T = 3, H = 4, D = 5;
  auto local = RandomVec(T * H * D, 61), mem = RandomVec(T * H * D, 62), w = RandomVec(T * H * D, 63);
  std::vector<float> gate = {0.0f, 1.3f, -0.7f, 2.5f};
  std::vector<float> dlocal(w.size()), dmem(w.size()), dgate(H, 0.0f);
  GateMixBackward(dlocal.data(), dmem.data(), dgate.data(), w.data(), local.data(), mem.data(), gate.data(), T, H, D);
  auto loss = [&] {
    std::vector<float> o(w.size());
    GateMixForward(o.data(), local.data(), mem.data(), gate.data(), T, H, D);
    return Dot(o, w);
  };
  const double e_local = FdMaxRelError(local, dlocal, loss), e_mem = FdMaxRelError(mem, dmem, loss),
               e_gate = FdMaxRelError(gate, dgate, loss);
  EXPECT_LT(e_local, kTol);
  EXPECT_LT(e_mem, kTol);
  EXPECT_LT(e_gate, kTol);
  std::printf("gate mix: max FD rel error dlocal %.3g dmem %.3g dgate %.3g\n", e_local, e_mem, e_gate);
  // dgate accumulates; nullptr freezes the gate and leaves dlocal/dmem identical.
  std::vector<float> dgate2 = dgate, dlocal2(w.size()), dmem2(w.size());
  GateMixBackward(dlocal2.data(), dmem2.data(), dgate2.data(), w.data(), local.data(), mem.data(), gate.data(), T, H,
                  D);
  for (int64_t h = 0; h < H; ++h) EXPECT_FLOAT_EQ(dgate2[h], 2 * dgate[h]);
  std::fill(dlocal2.begin(), dlocal2.end(), 0.0f);
  GateMixBackward(dlocal2.data(), dmem2.data(), nullptr, w.data(), local.data(), mem.data(), gate.data(), T, H, D);
  EXPECT_EQ(dlocal2, dlocal);
  EXPECT_EQ(dmem2, dmem);
  // In place: dlocal (or dmem) may be the dout buffer itself.
  std::vector<float> inplace = w, dmem3(w.size());
  GateMixBackward(inplace.data(), dmem3.data(), nullptr, inplace.data(), local.data(), mem.data(), gate.data(), T, H,
                  D);
  EXPECT_EQ(inplace, dlocal);
  EXPECT_EQ(dmem3, dmem);
  inplace = w;
  GateMixBackward(dlocal2.data(), inplace.data(), nullptr, inplace.data(), local.data(), mem.data(), gate.data(), T, H,
                  D);
  EXPECT_EQ(dlocal2, dlocal);
  EXPECT_EQ(inplace, dmem);
}

TEST(GateMix, ZeroLogitIsExactHalfAndSaturatedLogitsPickOneSide) {
  const int64_t T = 2, H = 3, D = 4;
  const auto local = RandomVec(T * H * D, 71), mem = RandomVec(T * H * D, 72), w = RandomVec(T * H * D, 73);
  const std::vector<float> gate = {0.0f, -100.0f, 100.0f};
  std::vector<float> o(w.size()), dlocal(w.size()), dmem(w.size()), dgate(H, 0.0f);
  GateMixForward(o.data(), local.data(), mem.data(), gate.data(), T, H, D);
  GateMixBackward(dlocal.data(), dmem.data(), dgate.data(), w.data(), local.data(), mem.data(), gate.data(), T, H, D);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i0 = (t * H + 0) * D + d, i1 = (t * H + 1) * D + d, i2 = (t * H + 2) * D + d;
      EXPECT_EQ(o[i0], 0.5f * local[i0] + 0.5f * mem[i0]);
      EXPECT_EQ(dlocal[i0], 0.5f * w[i0]);
      EXPECT_EQ(dmem[i0], 0.5f * w[i0]);
      EXPECT_NEAR(o[i1], local[i1], 1e-6);
      EXPECT_NEAR(dlocal[i1], w[i1], 1e-6);
      EXPECT_NEAR(dmem[i1], 0.0f, 1e-6);
      EXPECT_NEAR(o[i2], mem[i2], 1e-6);
    }
  EXPECT_NEAR(dgate[1], 0.0f, 1e-6);  // saturated: σ' ≈ 0, and finite
  EXPECT_NEAR(dgate[2], 0.0f, 1e-6);
}

TEST(MemoryAttention, GatedChainMatchesFiniteDifferences) {
  // The SideNet composition: O = GateMix(local, MemoryAttention(q)); dq flows through dmem.
  Case c(8);
  const auto w = RandomVec(c.T * c.H * c.D, 81);
  auto local = RandomVec(w.size(), 82);
  std::vector<float> gate = {0.0f, 0.5f, -1.0f, 1.5f, -0.2f, 0.9f};
  std::vector<float> mem(w.size()), lse(c.T * c.H), dlocal(w.size()), dmem(w.size()), dgate(c.H, 0.0f),
      dq(w.size(), 0.0f);
  MemoryAttentionForward(mem.data(), lse.data(), c.Shape());
  GateMixBackward(dlocal.data(), dmem.data(), dgate.data(), w.data(), local.data(), mem.data(), gate.data(), c.T, c.H,
                  c.D);
  MemoryAttentionBackward(dq.data(), dmem.data(), mem.data(), lse.data(), c.Shape());
  auto loss = [&] {
    std::vector<float> m(w.size()), l(lse.size()), o(w.size());
    MemoryAttentionForward(m.data(), l.data(), c.Shape());
    GateMixForward(o.data(), local.data(), m.data(), gate.data(), c.T, c.H, c.D);
    return Dot(o, w);
  };
  EXPECT_LT(FdMaxRelError(c.q, dq, loss), kTol);
  EXPECT_LT(FdMaxRelError(gate, dgate, loss), kTol);
}

}  // namespace
}  // namespace lm::train
