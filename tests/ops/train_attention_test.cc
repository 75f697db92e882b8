// Training attention and RoPE: forward equals the inference kernels (ops::reference::Attention, ApplyRope),
// and backward passes finite differences, with GQA and explicit (non-contiguous, repeated) key positions.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/attention.h"
#include "ops/fd_check.h"
#include "train/ops/attention_train.h"
#include "train/ops/rope_train.h"

namespace lm::train {
namespace {

using test::Dot;
using test::FdMaxRelError;
using test::RandomVec;

TEST(TrainAttention, ForwardMatchesReferenceAndBackwardMatchesFiniteDifferences) {
  // 4 query heads over 2 KV heads; keys at positions that are not 0..S-1, one query seeing no key.
  const int64_t T = 5, S = 6, H = 4, Hkv = 2, D = 8;
  const std::vector<int32_t> q_pos = {3, 7, 7, 10, 1};
  const std::vector<int32_t> k_pos = {2, 3, 5, 7, 9, 10};
  auto q = RandomVec(T * H * D, 1), k = RandomVec(S * Hkv * D, 2), v = RandomVec(S * Hkv * D, 3);
  auto r = RandomVec(T * H * D, 4);
  std::vector<float> out(T * H * D), ref(T * H * D), lse(T * H);
  auto shape = [&] {
    return AttentionShape{.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = q_pos.data(), .k_pos = k_pos.data(),
                          .T = T, .S = S, .H = H, .Hkv = Hkv, .D = D, .scale = 1.0f / std::sqrt(8.0f)};
  };
  AttentionForward(out.data(), lse.data(), shape());
  ops::reference::Attention({.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = q_pos.data(), .k_pos = k_pos.data(),
                             .out = ref.data(), .n_q = T, .n_kv = S, .n_head = H, .n_head_kv = Hkv, .head_dim = D,
                             .scale = 1.0f / std::sqrt(8.0f)});
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-5);
  for (int64_t d = 0; d < H * D; ++d) EXPECT_EQ(out[4 * H * D + d], 0.0f);  // q_pos 1 sees no key

  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  AttentionBackward({.dq = dq.data(), .dk = dk.data(), .dv = dv.data(), .dout = r.data(), .out = out.data(),
                     .lse = lse.data(), .fwd = shape()});
  auto loss = [&] {
    std::vector<float> o(out.size()), l(lse.size());
    AttentionForward(o.data(), l.data(), shape());
    return Dot(o, r);
  };
  EXPECT_LT(FdMaxRelError(q, dq, loss), 1e-2);
  EXPECT_LT(FdMaxRelError(k, dk, loss), 1e-2);
  EXPECT_LT(FdMaxRelError(v, dv, loss), 1e-2);
}

TEST(TrainAttention, LongSequenceSpansSeveralQueryBlocks) {
  // T = 300 > one 128-query block; causal by index. Checks a sample of dK against finite differences.
  const int64_t T = 300, H = 2, Hkv = 1, D = 4;
  std::vector<int32_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(t);
  auto q = RandomVec(T * H * D, 5), k = RandomVec(T * Hkv * D, 6), v = RandomVec(T * Hkv * D, 7);
  auto r = RandomVec(T * H * D, 8);
  auto shape = [&] {
    return AttentionShape{.q = q.data(), .k = k.data(), .v = v.data(), .q_pos = pos.data(), .k_pos = pos.data(),
                          .T = T, .S = T, .H = H, .Hkv = Hkv, .D = D, .scale = 0.5f};
  };
  std::vector<float> out(q.size()), lse(T * H), dq(q.size()), dk(k.size()), dv(v.size());
  AttentionForward(out.data(), lse.data(), shape());
  AttentionBackward({.dq = dq.data(), .dk = dk.data(), .dv = dv.data(), .dout = r.data(), .out = out.data(),
                     .lse = lse.data(), .fwd = shape()});
  auto loss = [&] {
    std::vector<float> o(out.size()), l(lse.size());
    AttentionForward(o.data(), l.data(), shape());
    return Dot(o, r);
  };
  // Sample: the first and last few keys (the last keys are seen only by the last block).
  std::vector<float> ks(k.begin(), k.begin() + 8), dks(dk.begin(), dk.begin() + 8);
  std::vector<float> kt(k.end() - 8, k.end()), dkt(dk.end() - 8, dk.end());
  auto loss_head = [&] { std::copy(ks.begin(), ks.end(), k.begin()); return loss(); };
  EXPECT_LT(FdMaxRelError(ks, dks, loss_head), 1e-2);
  std::copy(ks.begin(), ks.end(), k.begin());
  auto loss_tail = [&] { std::copy(kt.begin(), kt.end(), k.end() - 8); return loss(); };
  EXPECT_LT(FdMaxRelError(kt, dkt, loss_tail), 1e-2);
}

TEST(TrainRope, BackwardIsInverseRotationForBothPairings) {
  for (ops::RopeStyle style : {ops::RopeStyle::kInterleaved, ops::RopeStyle::kHalfSplit}) {
    const int64_t T = 3, H = 2, D = 8;
    const ops::RopeParams p{.head_dim = 8, .rot_dim = 8, .theta = 10000.0f, .style = style};
    const std::vector<int32_t> pos = {0, 5, 1000};
    auto x = RandomVec(T * H * D, 9), r = RandomVec(T * H * D, 10);
    std::vector<float> dx = r;
    RopeBackward(dx.data(), pos.data(), T, H, p);
    auto loss = [&] {
      std::vector<float> y = x;
      RopeForward(y.data(), pos.data(), T, H, p);
      return Dot(y, r);
    };
    EXPECT_LT(FdMaxRelError(x, dx, loss), 1e-2);
  }
}

}  // namespace
}  // namespace lm::train
