// Command-line options for sampling, shared by generate and chat.
#pragma once

#include <CLI/CLI.hpp>

#include "sampling/sampler.h"

namespace lm::cli {

inline void AddSamplingOptions(CLI::App& app, SamplingParams& s) {
  app.add_option("--temp", s.temperature, "temperature; 0 = greedy")->capture_default_str();
  app.add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = off")->capture_default_str();
  app.add_option("--top-p", s.top_p, "nucleus sampling mass; 1 = off")->capture_default_str();
  app.add_option("--min-p", s.min_p, "drop tokens below min-p x the top probability; 0 = off")->capture_default_str();
  app.add_option("--repeat-penalty", s.repeat_penalty, "penalty for recent tokens; 1 = off")->capture_default_str();
  app.add_option("--repeat-last-n", s.repeat_last_n, "history the penalty sees; -1 = all")->capture_default_str();
  app.add_option("-s,--seed", s.seed, "random seed; 0 = random")->capture_default_str();
}

}  // namespace lm::cli
