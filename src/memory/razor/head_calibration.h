// RazorAttention's retrieval-head identification (spec B.2), done as a Memory so it runs through the
// ordinary forward pass: a dense rotate-on-write cache that, besides attending normally, measures on a
// sample of query rows how much attention each head puts on earlier copies of the current token (echo)
// and on the token that followed them (induction). Input: BOS + `repeats` copies of `segment` random ids.
// Differences from the reference code on purpose: a real causal mask (the first golden-stick version
// scaled it by -1e-5, i.e. none), every layer's heads are kept (its selection returned inside the loop),
// the echo/induction masks follow the BOS offset, and rows are sampled (the mean over S^2 is estimated
// from `rows` evenly spaced query rows; ranking is what matters).
#pragma once

#include <vector>

#include "memory/memory.h"

namespace lm {

struct CalibrationParams {
  int64_t segment = 2500;  // random ids per copy (the reference's 2500; clamp so the input fits the window)
  int64_t repeats = 4;
  int32_t token_lo = 10000, token_hi = 12500;  // inclusive id range of the random tokens
  uint32_t seed = 1;
  int64_t rows = 512;  // query rows sampled per layer from the repeated part
};

std::vector<int32_t> CalibrationTokens(const CalibrationParams& p, int32_t bos);

class HeadScoreProbe final : public Memory {
 public:
  // first: index of the first random token (1 when a BOS precedes them).
  HeadScoreProbe(const MemoryGeometry& geometry, const CalibrationParams& params, int64_t first);

  std::string_view name() const override { return "head-score-probe"; }
  RopeRegime rope_regime() const override { return RopeRegime::kRotateOnWrite; }
  Status Attend(const AttendRequest& r) override;
  Status CanAppend(int64_t n_tokens) const override;
  int64_t n_tokens() const override { return n_.empty() ? 0 : n_[0]; }
  uint64_t kv_bytes() const override;
  void Clear() override;
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<HeadScoreProbe>(*this); }

  // Per KV head ([n_layer * n_head_kv]): max over its query heads of the estimated mean of P * mask.
  std::vector<float> echo() const { return Finish(echo_sum_); }
  std::vector<float> induction() const { return Finish(ind_sum_); }
  int64_t rows_sampled() const { return rows_sampled_; }

 private:
  bool Sampled(int64_t pos) const;
  std::vector<float> Finish(const std::vector<double>& per_q_head) const;

  MemoryGeometry g_;
  CalibrationParams p_;
  int64_t first_, total_, stride_;
  std::vector<std::vector<float>> k_, v_;  // per layer: [S, Hkv, D] rotated keys, values
  std::vector<std::vector<int32_t>> pos_;
  std::vector<int64_t> n_;
  std::vector<double> echo_sum_, ind_sum_;  // [n_layer * n_head] sums of probabilities over sampled rows
  int64_t rows_sampled_ = 0;                // in layer 0
};

}  // namespace lm
