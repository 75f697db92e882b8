// Token sampler: turns next-token logits [V] into one token id with llama.cpp's default filter chain.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"

namespace lm {

// Defaults follow llama.cpp's common sampler so results are comparable.
struct SamplingParams {
  float temperature = 0.8f;     // <= 0 means greedy (argmax, ties -> lowest id)
  int32_t top_k = 40;           // <= 0 disables
  float top_p = 0.95f;          // >= 1 disables; must lie in [0, 1]
  float min_p = 0.05f;          // <= 0 disables; keeps tokens with p >= min_p * p_max; must lie in [0, 1]
  float repeat_penalty = 1.0f;  // 1 disables; llama.cpp/CTRL style: logit>0 ? logit/penalty : logit*penalty
  int32_t repeat_last_n = 64;   // how much history the penalty sees (0 disables, -1 = all)
  uint64_t seed = 0;            // 0 = random seed from std::random_device; else deterministic
};

// Clear InvalidArgument errors for NaN/infinite/negative/out-of-range values. Call it on user input
// before building a Sampler (the constructor treats invalid params as a bug).
Status ValidateSamplingParams(const SamplingParams& p);

// Sampling order (llama.cpp's default chain, minus the samplers longmem does not implement):
//   1. NaN logits become -inf (never sampled).
//   2. repetition penalty over the last repeat_last_n history tokens, once per distinct token;
//   3. greedy shortcut when temperature <= 0: argmax, ties -> lowest id (the filters below never
//      remove the argmax, so skipping them changes nothing);
//   4. top-k   (keeps the k largest logits; ties broken by lower id);
//   5. top-p   (smallest prefix of the sorted survivors whose renormalised mass >= top_p);
//   6. min-p   (keeps p >= min_p * p_max, computed on the survivors of 5);
//   7. temperature (logit / T), then
//   8. one draw from the softmax of the survivors.
// Steps 4-6 look at untempered logits, exactly as llama.cpp does. At least one token always survives.
// Degenerate inputs: if every logit is -inf/NaN the result is 0 (argmax with ties -> lowest id);
// if some logit is +inf the lowest-id +inf token is returned (softmax is undefined there).
//
// Randomness: std::mt19937_64 (its output sequence is fixed by the C++ standard) seeded with `seed`;
// each draw takes the top 53 bits of one 64-bit output as a double u in [0, 1). Standard-library
// distributions are avoided because their outputs differ between implementations. Ties are broken by
// a total order (logit desc, id asc) and the draw walks candidates in a fixed order, so the same seed
// gives the same tokens on every machine (up to exp() rounding in the C library, and top-p's mass
// sums, whose order can differ between standard libraries: only a cut within ~1e-15 of top_p flips).
//
// Not thread-safe: one Sampler per generation stream. Sample() allocates nothing once its buffers
// have grown to V (and repeat_last_n) entries.
class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // logits: [V] f32 for the next token; history: tokens so far (for the repetition penalty).
  // History ids outside [0, V) are ignored. Returns an id in [0, V).
  int32_t Sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }
  // The seed actually in use (differs from params().seed when that is 0), for reproducing a run.
  uint64_t effective_seed() const { return effective_seed_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };

  void ApplyRepetitionPenalty(std::span<const int32_t> history, int32_t n_vocab);
  void TopK(int32_t k);
  void TopP(float p);
  void MinP(float p);
  int32_t DrawFromSoftmax(float temperature);
  double NextUniform();  // [0, 1) from the top 53 bits of one mt19937_64 output

  SamplingParams params_;
  uint64_t effective_seed_ = 0;
  std::mt19937_64 rng_;
  std::vector<float> logits_;          // [V] working copy (NaN -> -inf, penalties applied)
  std::vector<Candidate> candidates_;  // survivors of the filters, in a platform-independent order
  std::vector<uint8_t> keep_mask_;     // [V] scratch for top-p's large-set reordering
  std::vector<double> weights_;        // softmax weights of candidates_, for the draw
  std::vector<int32_t> recent_;        // [repeat_last_n] scratch for de-duplicating history
};

}  // namespace lm
