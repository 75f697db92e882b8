// The training loop: micro-batches of windows → gradient accumulation → clipping + AdamW at the scheduled
// learning rate → periodic held-out evaluation and atomic checkpoints; --resume continues bit-identically
// (same weights, moments, step, data cursor and RNG as an uninterrupted run).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/llama_train.h"
#include "train/optimizer.h"

namespace lm::train {

struct StepReport {
  int64_t step = 0, steps = 0;   // steps done after this one, total
  double loss = 0, eval_loss = -1, grad_norm = 0;
  float lr = 0;
  double tokens_per_second = 0;  // training tokens per second of step compute (no eval, no saving)
  double eta_seconds = 0;         // from wall time, everything included
  bool saved = false;
};

struct TrainerOptions {
  std::string out_dir;             // checkpoint.safetensors lives here
  int64_t steps = 100;             // total: the schedule decays over these
  int64_t stop_after = -1;         // stop (with a checkpoint) once this many steps are done; -1: at `steps`
  int64_t batch = 1;               // windows per micro-batch step
  int64_t accum = 1;               // micro-batches per optimiser step
  LrSchedule schedule;
  AdamWConfig adam;
  ComputeOptions compute;
  int64_t save_every = 0;          // 0: only at the end
  int64_t eval_every = 0;          // 0: only at the end
  int64_t eval_windows = 4;        // held-out windows per evaluation (all if more than exist)
  uint64_t seed = 1234;
  bool resume = false;
  std::string run_config;          // options that must match on --resume (checked verbatim)
  std::function<void(const StepReport&)> on_step;
};

class Trainer {
 public:
  Trainer(TrainModel& model, const TokenDataset& data, TrainerOptions options);
  // Restores from out_dir/checkpoint.safetensors if resume is set and one exists, then trains to `steps`.
  Status Run();
  const TrainState& state() const { return state_; }
  // Mean loss over the first eval_windows held-out windows.
  Result<double> Evaluate();

 private:
  Status Save();
  TrainModel& model_;
  const TokenDataset& data_;
  TrainerOptions o_;
  DataOrder order_;
  TrainState state_;
};

}  // namespace lm::train
