// SideNet facts and gate diagnostics for reports.
#include "eval/longmem/sidenet_info.h"

#include <cmath>
#include <cstdio>

namespace lm::eval_longmem {

namespace {
std::vector<double> Gates(sidenet::SideNet& side) {
  std::vector<double> g;
  for (float b : side.gate_logits()) g.push_back(1.0 / (1.0 + std::exp(-static_cast<double>(b))));
  return g;
}
}  // namespace

nlohmann::json MemoryConfigJson(const sidenet::MemoryConfig& m) {
  return {{"chunk_size", m.chunk_size}, {"retrieve_tokens", m.retrieve_tokens}, {"capacity_tokens", m.capacity_tokens},
          {"eviction", membank::EvictionRuleName(m.eviction)}, {"index", membank::IndexKindName(m.index)},
          {"retrieval_query", sidenet::RetrievalQueryName(m.query)}};
}

nlohmann::json SideNetInfoJson(sidenet::SideNet& side, const std::string& path) {
  const auto g = Gates(side);
  double mean = 0;
  for (double v : g) mean += v / static_cast<double>(g.size());
  return {{"path", path},
          {"fingerprint", side.Fingerprint()},
          {"memory_layer", side.config().memory_layer},
          {"side_memory_layer", side.config().side_memory_layer()},
          {"trained_memory", MemoryConfigJson(side.memory_config())},
          {"gate_sigmoid", g},
          {"gate_sigmoid_mean", mean}};
}

std::string GateSummary(sidenet::SideNet& side) {
  std::string s = "memory gate sigma(b) per head:";
  double mean = 0;
  const auto g = Gates(side);
  for (double v : g) {
    char b[16];
    std::snprintf(b, sizeof b, " %.3f", v);
    s += b;
    mean += v / static_cast<double>(g.size());
  }
  char b[32];
  std::snprintf(b, sizeof b, " (mean %.3f)", mean);
  return s + b;
}

}  // namespace lm::eval_longmem
