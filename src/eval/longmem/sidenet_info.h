// What a report should say about the SideNet it evaluated: its geometry, the memory settings of the run,
// and the diagnostic that most often explains "memory does not help": the memory gates σ(b_h) per head
// (σ → 0 means the memory layer ignores what it retrieves).
#pragma once

#include <nlohmann/json.hpp>

#include "sidenet/sidenet.h"

namespace lm::eval_longmem {

nlohmann::json SideNetInfoJson(sidenet::SideNet& side, const std::string& path);
nlohmann::json MemoryConfigJson(const sidenet::MemoryConfig& m);
// "σ(b) per head: 0.41 0.52 ... (mean 0.47)"
std::string GateSummary(sidenet::SideNet& side);

}  // namespace lm::eval_longmem
