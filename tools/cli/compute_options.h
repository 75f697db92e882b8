// `--mst-chunks`, `--checkpoint-layers` and `--checkpoint-span`, shared by `train` and `train-sidenet`: how a
// training step trades memory for recomputation (train/block.h ComputeOptions).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "train/block.h"

namespace lm::cli {

struct ComputeCliOptions {
  std::string mst = "auto";  // auto | off | N mini-sequences
  bool checkpoint_layers = false;
  int64_t checkpoint_span = 0;  // > 0 implies checkpoint_layers
  // Registers the three options; `blocks` names what the command recomputes ("blocks", "side blocks").
  void Add(CLI::App& cmd, const std::string& blocks);
  Result<train::ComputeOptions> Parse() const;
};

}  // namespace lm::cli
