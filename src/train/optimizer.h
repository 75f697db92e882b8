// AdamW with decoupled weight decay over f32 master weights, global-norm gradient clipping, and the learning
// rate schedule (linear warm-up, then constant, linear or cosine decay to min_lr).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "train/param.h"

namespace lm::train {

enum class Schedule { kConstant, kLinear, kCosine };
Result<Schedule> ParseSchedule(const std::string& s);
const char* ScheduleName(Schedule s);

struct LrSchedule {
  float lr = 1e-4f;        // peak
  float min_lr = 0.0f;     // end of decay
  int64_t warmup = 0;      // steps of linear warm-up from lr/warmup to lr
  int64_t total = 1;       // steps of the run (decay ends here)
  Schedule kind = Schedule::kCosine;
  // Learning rate of optimiser step `step` (0-based).
  float At(int64_t step) const;
};

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weight_decay = 0.1f;  // decoupled: w -= lr * wd * w, only on params with decay = true
  float clip = 1.0f;          // max global L2 norm of the gradient; <= 0 disables clipping
};

// L2 norm over every parameter's gradient (accumulated in double, fixed order).
double GlobalGradNorm(const ParamSet& params);

// One AdamW update of every param with the current gradients, then zeroes them. `step` is 0-based (bias
// correction uses step + 1). Returns the gradient norm before clipping.
double AdamWStep(ParamSet& params, const AdamWConfig& cfg, float lr, int64_t step);

}  // namespace lm::train
