// Sampler implementation: penalty -> top-k -> top-p -> min-p -> temperature -> softmax draw.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace lm {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Total order (logit desc, id asc): ties resolve the same way on every standard library, which keeps
// seeded runs reproducible across machines.
struct ByLogitDesc {
  template <class C>
  bool operator()(const C& a, const C& b) const {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};

uint64_t RandomSeed() {
  std::random_device rd;
  uint64_t seed = (static_cast<uint64_t>(rd()) << 32) | rd();
  return seed == 0 ? 1 : seed;  // keep "0 = random" unambiguous when the seed is printed and reused
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  Status status = ValidateSamplingParams(params);
  LM_CHECK(status.ok(),
           "Sampler: invalid params (call ValidateSamplingParams on user input): ", status.message());
  effective_seed_ = params.seed != 0 ? params.seed : RandomSeed();
  rng_.seed(effective_seed_);
}

double Sampler::NextUniform() {
  // 53 high bits -> exactly representable double in [0, 1), identical on every platform.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

int32_t Sampler::Sample(std::span<const float> logits, std::span<const int32_t> history) {
  LM_CHECK(!logits.empty(), "Sampler::Sample: empty logits");
  LM_CHECK(logits.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()),
           "Sampler::Sample: vocabulary too large: ", logits.size());
  const auto n_vocab = static_cast<int32_t>(logits.size());

  // assign() reuses capacity, so after the first call this does not allocate.
  logits_.assign(logits.begin(), logits.end());
  for (float& l : logits_) {
    if (std::isnan(l)) l = kNegInf;
  }
  ApplyRepetitionPenalty(history, n_vocab);

  // Argmax with ties -> lowest id (strict >). Also the answer for the degenerate cases: all -inf
  // gives id 0, and any +inf wins outright because softmax is undefined with infinite logits.
  int32_t best = 0;
  for (int32_t i = 1; i < n_vocab; ++i) {
    if (logits_[i] > logits_[best]) best = i;
  }
  if (params_.temperature <= 0.0f || std::isinf(logits_[best])) return best;

  // -inf tokens have probability zero; dropping them up front keeps the filters simple.
  candidates_.clear();
  for (int32_t i = 0; i < n_vocab; ++i) {
    if (logits_[i] != kNegInf) candidates_.push_back({i, logits_[i]});
  }

  if (params_.top_k > 0) TopK(params_.top_k);
  if (params_.top_p < 1.0f) TopP(params_.top_p);
  if (params_.min_p > 0.0f) MinP(params_.min_p);
  return DrawFromSoftmax(params_.temperature);
}

void Sampler::ApplyRepetitionPenalty(std::span<const int32_t> history, int32_t n_vocab) {
  const float penalty = params_.repeat_penalty;
  if (penalty == 1.0f || params_.repeat_last_n == 0 || history.empty()) return;
  size_t window = history.size();
  if (params_.repeat_last_n > 0) window = std::min(window, static_cast<size_t>(params_.repeat_last_n));
  // Each distinct token is penalised once, however often it repeats (llama.cpp's repeat penalty;
  // frequency/presence penalties are the count-aware variants and are not implemented).
  recent_.assign(history.end() - static_cast<std::ptrdiff_t>(window), history.end());
  std::sort(recent_.begin(), recent_.end());
  recent_.erase(std::unique(recent_.begin(), recent_.end()), recent_.end());
  for (int32_t id : recent_) {
    if (id < 0 || id >= n_vocab) continue;
    float& l = logits_[id];
    // Dividing a negative logit would raise its probability, hence the sign split (CTRL paper).
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

void Sampler::TopK(int32_t k) {
  const size_t n = candidates_.size();
  const size_t keep = std::min(n, static_cast<size_t>(k));
  // partial_sort is O(V log k): with V = 49152 and k = 40 much cheaper than a full sort.
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep),
                    candidates_.end(), ByLogitDesc{});
  candidates_.resize(keep);  // [0, keep) is sorted: deterministic order for the draw
}

void Sampler::TopP(float p) {
  const size_t n = candidates_.size();
  float max_logit = kNegInf;
  for (const Candidate& c : candidates_) max_logit = std::max(max_logit, c.logit);
  // float exp (glibc's is correctly rounded and ~3x faster than double's); sums stay in double.
  auto weight = [&](const Candidate& c) { return static_cast<double>(std::exp(c.logit - max_logit)); };
  double total = 0.0;
  for (const Candidate& c : candidates_) total += weight(c);
  const double target = static_cast<double>(p) * total;

  // Weighted quickselect for the smallest k whose k best candidates carry >= p of the mass (the
  // token that crosses p is kept, as in llama.cpp). Expected O(n): with top_k off and a flat
  // distribution k approaches V, where sorting all 49152 candidates cost ~6 ms per token.
  // Invariant: k in (lo, hi]; candidates_[0, lo) are the lo best, with mass acc < target.
  size_t lo = 0, hi = n;
  double acc = 0.0;
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    const auto first = candidates_.begin();
    std::nth_element(first + static_cast<std::ptrdiff_t>(lo), first + static_cast<std::ptrdiff_t>(mid),
                     first + static_cast<std::ptrdiff_t>(hi), ByLogitDesc{});
    double mass = 0.0;
    for (size_t i = lo; i < mid; ++i) mass += weight(candidates_[i]);
    if (acc + mass >= target) {
      hi = mid;
    } else {
      acc += mass;
      lo = mid;
    }
  }
  const size_t keep = hi;  // == n when rounding keeps the total just short of target
  candidates_.resize(keep);

  // nth_element leaves an order that differs between standard libraries; restore one that does not
  // (the draw walks candidates in order). The kept set itself is fixed by the total order.
  if (keep <= 4096) {
    std::sort(candidates_.begin(), candidates_.end(), ByLogitDesc{});
  } else {
    keep_mask_.assign(logits_.size(), 0);
    for (const Candidate& c : candidates_) keep_mask_[static_cast<size_t>(c.id)] = 1;
    candidates_.clear();
    for (size_t id = 0; id < keep_mask_.size(); ++id) {
      if (keep_mask_[id]) candidates_.push_back({static_cast<int32_t>(id), logits_[id]});
    }
  }
}

void Sampler::MinP(float p) {
  // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p); no softmax needed.
  float max_logit = kNegInf;
  for (const Candidate& c : candidates_) max_logit = std::max(max_logit, c.logit);
  const double threshold = static_cast<double>(max_logit) + std::log(static_cast<double>(p));
  // Stable compaction: the survivors keep their (deterministic) order; the max always survives.
  std::erase_if(candidates_, [&](const Candidate& c) { return static_cast<double>(c.logit) < threshold; });
}

int32_t Sampler::DrawFromSoftmax(float temperature) {
  LM_CHECK(!candidates_.empty(), "Sampler: every candidate was filtered out");
  float max_logit = kNegInf;
  for (const Candidate& c : candidates_) max_logit = std::max(max_logit, c.logit);
  // Scaling in double after subtracting the max: a tiny T cannot overflow, the max weighs exactly 1.
  const double inv_t = 1.0 / static_cast<double>(temperature);
  auto weight = [&](const Candidate& c) {
    return static_cast<double>(
        std::exp(static_cast<float>((static_cast<double>(c.logit) - max_logit) * inv_t)));
  };
  weights_.resize(candidates_.size());  // reuses capacity: no allocation after the first call
  double total = 0.0;
  for (size_t i = 0; i < candidates_.size(); ++i) total += weights_[i] = weight(candidates_[i]);

  const double u = NextUniform() * total;
  double cum = 0.0;
  int32_t last_positive = candidates_.front().id;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    if (weights_[i] <= 0.0) continue;
    cum += weights_[i];
    last_positive = candidates_[i].id;
    if (u < cum) return last_positive;
  }
  return last_positive;  // u * total rounded up to total: the last token with non-zero weight
}

}  // namespace lm
