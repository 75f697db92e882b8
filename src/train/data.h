// Token data for training: one token stream packed into non-overlapping windows of seq_len + 1 tokens
// (inputs and next-token labels), a held-out tail for evaluation, and a seeded shuffled order whose
// position (epoch, index, RNG state at the epoch start) is saved in checkpoints.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm::train {

class TokenDataset {
 public:
  // Clear errors for empty or too-short data: at least one training and one held-out window are needed.
  static Result<TokenDataset> Create(std::vector<int32_t> tokens, int64_t seq_len, double holdout_fraction);

  int64_t seq_len() const { return seq_len_; }
  int64_t n_train() const { return n_train_; }
  int64_t n_eval() const { return n_eval_; }
  int64_t n_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  // Window i of the training (or held-out) split: tokens [T], labels [T] = the next tokens.
  void Train(int64_t i, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const;
  void Eval(int64_t i, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const;

 private:
  void Window(int64_t w, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const;
  std::vector<int32_t> tokens_;
  int64_t seq_len_ = 0, n_train_ = 0, n_eval_ = 0;
};

// Where the shuffled pass over the training windows stands.
struct DataCursor {
  int64_t epoch = 0;
  int64_t index = 0;           // next position in this epoch's permutation
  std::string rng_at_epoch;    // std::mt19937_64 state before this epoch's shuffle (text form)
};

// Deterministic order: each epoch is a Fisher-Yates shuffle drawn from one RNG that runs across epochs.
class DataOrder {
 public:
  DataOrder(int64_t n, uint64_t seed);
  // Restores a saved cursor (re-drawing that epoch's permutation from the saved RNG state).
  Status Restore(const DataCursor& c);
  const DataCursor& cursor() const { return cursor_; }
  int64_t Next();  // the next training window; starts a new epoch when one ends

 private:
  void Shuffle();
  int64_t n_;
  std::mt19937_64 rng_;
  std::vector<int64_t> perm_;
  DataCursor cursor_;
};

}  // namespace lm::train
