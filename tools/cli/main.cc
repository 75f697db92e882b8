// `longmem`: the command-line entry point; each subcommand lives in its own file.
#include <cstdio>

#include "common.h"
#include "long_commands.h"
#include "longmem_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"longmem: long-term memory for language models"};
  app.require_subcommand(1);
  int exit_code = 0;
  lm::cli::RegisterInfo(app, exit_code);
  lm::cli::RegisterQuantize(app, exit_code);
  lm::cli::RegisterTokenize(app, exit_code);
  lm::cli::RegisterGenerate(app, exit_code);
  lm::cli::RegisterChat(app, exit_code);
  lm::cli::RegisterPpl(app, exit_code);
  lm::cli::RegisterBench(app, exit_code);
  lm::cli::RegisterDemo(app, exit_code);
  lm::cli::RegisterTrain(app, exit_code);
  lm::cli::RegisterNiah(app, exit_code);
  lm::cli::RegisterCalibrateHeads(app, exit_code);
  lm::cli::RegisterTrainSideNet(app, exit_code);
  lm::cli::RegisterRun(app, exit_code);
  lm::cli::RegisterEvalPpl(app, exit_code);
  lm::cli::RegisterEvalIcl(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
