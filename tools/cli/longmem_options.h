// Command-line options shared by the LongMem subcommands (train-sidenet, run): memory bank settings and the
// SideNet geometry, with parsing into the library's configs.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "model/config.h"
#include "sidenet/sidenet_config.h"

namespace lm::cli {

struct LongMemCliOptions {
  int64_t chunk_size = 0, retrieve_tokens = 0, capacity_tokens = 0;  // 0: the SideNet file's (or the paper's)
  std::string eviction, index;                                        // empty: likewise
  void Add(CLI::App& cmd);
  // Overrides `m` with whatever was given on the command line.
  Status Apply(sidenet::MemoryConfig* m) const;
};

}  // namespace lm::cli
