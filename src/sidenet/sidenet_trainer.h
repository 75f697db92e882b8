// `longmem train-sidenet`'s loop: document-ordered segments through the frozen backbone and the SideNet with
// its memory bank (optionally reset at document boundaries), AdamW on the SideNet only, held-out loss with
// and without memory, and crash-safe checkpoints that include the bank (bank-<step>.lmbank beside
// checkpoint.safetensors), so --resume continues exactly where the run stood.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "sidenet/longmem.h"
#include "sidenet/segments.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace lm::sidenet {

struct SideNetStepReport {
  int64_t step = 0, steps = 0;
  double loss = 0, grad_norm = 0;
  double eval_loss = -1, eval_loss_no_memory = -1;
  float lr = 0;
  double tokens_per_second = 0, eta_seconds = 0;
  int64_t memory_tokens = 0;  // bank occupancy after the step
  double backbone_seconds = 0, sidenet_seconds = 0;  // of the step's compute (the rest: optimiser, bank writes)
  bool saved = false;
};

struct SideNetTrainerOptions {
  std::string out_dir;
  int64_t steps = 100, stop_after = -1, accum = 1;
  train::LrSchedule schedule;
  train::AdamWConfig adam;
  // The memory gate logits' learning rate relative to the schedule's (train/param.h lr_scale): at the
  // paper's 2e-4 Adam moves a logit ~2e-4 per step, so σ(b) stays near 0.5 for thousands of steps.
  float gate_lr_scale = 1.0f;
  // The memory layer's query projection's learning rate relative to the schedule's: that projection is the
  // trainable half of both the retrieval scores and the memory attention (keys and values are the frozen
  // backbone's).
  float memory_query_lr_scale = 1.0f;
  train::ComputeOptions compute;
  int64_t save_every = 0, eval_every = 0;
  int64_t eval_segments = 8;      // held-out segments per evaluation (in document order, memory from zero)
  bool reset_per_document = true;  // empty the bank when a new document starts
  bool resume = false;
  uint64_t seed = 1234;
  std::string run_config;          // must match verbatim on --resume
  std::function<void(const SideNetStepReport&)> on_step;
};

struct EvalResult {
  double loss = 0, loss_no_memory = 0;  // token-weighted mean over the evaluated segments
  int64_t tokens = 0;
};

class SideNetTrainer {
 public:
  // `eval_lm` is a second LongMem over the same backbone and SideNet, with its own bank, so evaluation
  // never disturbs the training memory.
  SideNetTrainer(LongMem& lm, LongMem& eval_lm, const SegmentStream& train, const SegmentStream& eval,
                 SideNetTrainerOptions o);
  Status Run();
  Result<EvalResult> Evaluate();
  const train::TrainState& state() const { return state_; }

 private:
  Status Save();
  Status Restore();
  std::string BankPath(int64_t step) const;
  LongMem& lm_;
  LongMem& eval_lm_;
  const SegmentStream& train_;
  const SegmentStream& eval_;
  SideNetTrainerOptions o_;
  train::TrainState state_;
};

}  // namespace lm::sidenet
