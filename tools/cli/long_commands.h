// Registration of the long-context subcommands (niah, calibrate-heads), kept apart from common.h.
#pragma once

#include <CLI/CLI.hpp>

namespace lm::cli {

void RegisterNiah(CLI::App& app, int& exit_code);
void RegisterCalibrateHeads(CLI::App& app, int& exit_code);

}  // namespace lm::cli
