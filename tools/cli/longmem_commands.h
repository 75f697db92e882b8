// Registration of the LongMem subcommands (train-sidenet, run, eval-ppl, eval-icl), kept apart from common.h.
#pragma once

#include <CLI/CLI.hpp>

namespace lm::cli {

void RegisterTrainSideNet(CLI::App& app, int& exit_code);
void RegisterRun(CLI::App& app, int& exit_code);
void RegisterEvalPpl(CLI::App& app, int& exit_code);
void RegisterEvalIcl(CLI::App& app, int& exit_code);

}  // namespace lm::cli
