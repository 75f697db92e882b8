// Training checkpoints: one safetensors file (see docs/formats/checkpoint.md) holding every trainable
// parameter's f32 master value and AdamW moments, with the run state (step, data cursor + RNG, schedule,
// loss history, model fingerprint) as JSON in __metadata__["longmem.train"]. Written atomically (temp file,
// fsync, rename, fsync dir), so a kill at any instant leaves the previous checkpoint intact.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/data.h"
#include "train/llama_train.h"

namespace lm::train {

inline constexpr const char* kCheckpointFile = "checkpoint.safetensors";
inline constexpr int kCheckpointVersion = 1;

struct HistoryPoint {
  int64_t step = 0;      // optimiser steps done when measured
  double loss = 0;       // mean training loss of that step
  double eval_loss = -1; // held-out loss, < 0 when not evaluated at this step
};

struct TrainState {
  int64_t step = 0;  // optimiser steps completed
  DataCursor cursor;
  uint64_t seed = 0;
  std::vector<HistoryPoint> history;
  std::string run_config;  // the options that must not change across --resume (JSON text)
};

Status SaveCheckpoint(const std::string& path, const TrainModel& model, const TrainState& state);

// Restores parameters and moments into `model` and returns the state. Errors: missing/truncated file,
// a checkpoint of another model or trainable set (fingerprint mismatch), missing or mis-shaped tensors.
Result<TrainState> LoadCheckpoint(const std::string& path, TrainModel& model);

// The same for any parameter set (LongMem's SideNet): `fingerprint` names the model the parameters belong to
// and must match on load.
Status SaveCheckpoint(const std::string& path, const ParamSet& params, const std::string& fingerprint,
                      const TrainState& state);
Result<TrainState> LoadCheckpoint(const std::string& path, ParamSet& params, const std::string& fingerprint);

}  // namespace lm::train
