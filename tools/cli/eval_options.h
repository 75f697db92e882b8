// Options shared by the LongMem evaluation subcommands (eval-ppl, eval-icl): the memory ablation sweep
// (--mem-chunk 2,4,8 --mem-k --mem-size: one LongMem system per combination), the memory layer check, and
// loading the SideNet and its backbone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/plot/line_chart.h"
#include "runtime/loader.h"
#include "sidenet/sidenet.h"

namespace lm::cli {

struct EvalMemorySweep {
  std::string chunks, ks, sizes;  // comma-separated lists; empty: the SideNet file's setting
  std::string eviction, index;    // empty: the SideNet file's
  std::string queries;            // csv of raw,centred; empty: the SideNet file's
  int64_t memory_layer = 0;       // 0: the SideNet's; else it must be the layer the SideNet was trained for
  void Add(CLI::App& cmd);
  // Every combination of the lists over the SideNet's trained settings, validated.
  Result<std::vector<sidenet::MemoryConfig>> Expand(const sidenet::SideNet& side) const;
};

// Loads a SideNet for the -m backbone and checks --memory-layer against the layer it records.
Result<std::unique_ptr<sidenet::SideNet>> LoadSideNetForEval(const LoadedModel& loaded, const std::string& path,
                                                            int64_t memory_layer);

// Splits "a,b,c" into names (empty items dropped).
std::vector<std::string> SplitNames(const std::string& csv);

// Writes an evaluation report: the JSON to `json_path` (or stdout when --json was given without a path), and
// the chart to `plot_path` (default: the JSON's name with .svg). Folders are created as needed.
Status WriteEvalReport(const std::string& tool, const nlohmann::json& j, const std::string& json_path,
                       bool json_to_stdout, std::string plot_path, const plot::LineChart& chart);

}  // namespace lm::cli
