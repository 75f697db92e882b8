// Command-line options shared by the LongMem subcommands (train-sidenet, run): memory bank settings and the
// SideNet geometry, with parsing into the library's configs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "model/config.h"
#include "runtime/loader.h"
#include "sidenet/longmem.h"
#include "sidenet/sidenet_config.h"

namespace lm::cli {

struct LongMemCliOptions {
  int64_t chunk_size = 0, retrieve_tokens = 0, capacity_tokens = 0;  // 0: the SideNet file's (or the paper's)
  std::string eviction, index, query;                                 // empty: likewise
  void Add(CLI::App& cmd);
  // Overrides `m` with whatever was given on the command line.
  Status Apply(sidenet::MemoryConfig* m) const;
};

// A trained SideNet on its frozen backbone with a memory bank, ready to read and generate.
struct OpenedLongMem {
  std::unique_ptr<sidenet::SideNet> side;
  std::unique_ptr<sidenet::LongMem> lm;  // uses *side
  sidenet::MemoryConfig memory;          // the SideNet file's memory settings with the command line's overrides
};
// Loads the SideNet at `sidenet_path` (sidenet.safetensors) for the loaded GGUF backbone, applies `mem`, and
// creates the LongMem. `who` names the command in errors.
Result<OpenedLongMem> OpenLongMem(const LoadedModel& loaded, const std::string& sidenet_path,
                                  const LongMemCliOptions& mem, std::string_view who);

}  // namespace lm::cli
