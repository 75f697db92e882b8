// Parsing of the training commands' MST and layer-checkpointing options.
#include "compute_options.h"

#include <cstdlib>

#include "core/str.h"

namespace lm::cli {

void ComputeCliOptions::Add(CLI::App& cmd, const std::string& blocks) {
  cmd.add_option("--mst-chunks", mst, "MST mini-sequences: auto | off | N")->capture_default_str();
  cmd.add_flag("--checkpoint-layers", checkpoint_layers,
               StrCat("keep only some ", blocks, "' inputs; recompute them in backward"));
  cmd.add_option("--checkpoint-span", checkpoint_span,
                 StrCat(blocks, " recomputed per saved input (implies --checkpoint-layers; 0: the span that saves most)"))
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

Result<train::ComputeOptions> ComputeCliOptions::Parse() const {
  // A span asks for checkpointing by itself.
  train::ComputeOptions c{.checkpoint_layers = checkpoint_layers || checkpoint_span > 0,
                          .checkpoint_span = checkpoint_span};
  if (mst == "auto") {
    c.mlp_chunks = c.head_chunks = -1;
  } else if (mst != "off") {
    char* end = nullptr;
    c.mlp_chunks = c.head_chunks = std::strtoll(mst.c_str(), &end, 10);
    if (*end || c.mlp_chunks <= 0)
      return InvalidArgument(StrCat("--mst-chunks '", mst, "': expected auto, off or a positive count"));
  }
  return c;
}

}  // namespace lm::cli
