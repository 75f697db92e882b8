// Token windows and their shuffled order. The shuffle uses rng() % (i + 1) rather than std::shuffle so the
// order is the same with any standard library (checkpoints may move between builds).
#include "train/data.h"

#include <numeric>
#include <sstream>

#include "core/str.h"

namespace lm::train {

Result<TokenDataset> TokenDataset::Create(std::vector<int32_t> tokens, int64_t seq_len, double holdout_fraction) {
  if (seq_len < 2) return InvalidArgument(StrCat("--seq-len ", seq_len, " is too short; hint: at least 2"));
  if (tokens.empty()) return InvalidArgument("train: the data is empty; hint: check the --data files");
  const int64_t n_windows = (static_cast<int64_t>(tokens.size()) - 1) / seq_len;
  if (n_windows < 2)
    return InvalidArgument(StrCat("train: the data has ", tokens.size(), " tokens, too few for one training and one "
                                  "held-out window of ", seq_len, " tokens (need at least ", 2 * seq_len + 1,
                                  "); hint: more text or a smaller --seq-len"));
  TokenDataset d;
  d.tokens_ = std::move(tokens);
  d.seq_len_ = seq_len;
  d.n_eval_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n_windows) * holdout_fraction));
  d.n_eval_ = std::min(d.n_eval_, n_windows - 1);
  d.n_train_ = n_windows - d.n_eval_;
  return d;
}

void TokenDataset::Window(int64_t w, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const {
  const auto* base = tokens_.data() + w * seq_len_;
  tokens->assign(base, base + seq_len_);
  labels->assign(base + 1, base + seq_len_ + 1);
}

void TokenDataset::Train(int64_t i, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const {
  Window(i, tokens, labels);
}

// The held-out windows are the tail of the stream, after every training window.
void TokenDataset::Eval(int64_t i, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const {
  Window(n_train_ + i, tokens, labels);
}

DataOrder::DataOrder(int64_t n, uint64_t seed) : n_(n), rng_(seed) { Shuffle(); }

void DataOrder::Shuffle() {
  std::ostringstream os;
  os << rng_;
  cursor_.rng_at_epoch = os.str();
  perm_.resize(static_cast<size_t>(n_));
  std::iota(perm_.begin(), perm_.end(), 0);
  for (int64_t i = n_ - 1; i > 0; --i)
    std::swap(perm_[static_cast<size_t>(i)], perm_[static_cast<size_t>(rng_() % static_cast<uint64_t>(i + 1))]);
}

Status DataOrder::Restore(const DataCursor& c) {
  std::istringstream is(c.rng_at_epoch);
  std::mt19937_64 rng;
  is >> rng;
  if (is.fail() || c.index < 0 || c.index > n_ || c.epoch < 0)
    return Corrupt("checkpoint: data cursor is malformed (bad RNG state or index); hint: truncated or edited state");
  rng_ = rng;
  Shuffle();
  cursor_.epoch = c.epoch;
  cursor_.index = c.index;
  return OkStatus();
}

int64_t DataOrder::Next() {
  if (cursor_.index >= n_) {
    ++cursor_.epoch;
    cursor_.index = 0;
    Shuffle();
  }
  return perm_[static_cast<size_t>(cursor_.index++)];
}

}  // namespace lm::train
