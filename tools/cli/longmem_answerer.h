// LongMem as a needle-in-a-haystack system: `niah --memory longmem --sidenet PATH` reads each prompt into
// a fresh memory bank segment by segment and answers from the last segment with the SideNet.
#pragma once

#include <memory>
#include <string>

#include "eval/niah/runner.h"
#include "longmem_options.h"
#include "runtime/loader.h"

namespace lm::cli {

struct LongMemSystemOptions {
  std::string sidenet;   // sidenet.safetensors
  int64_t segment = 512;
  LongMemCliOptions memory;
};

// The answerer and its description ("longmem sidenet=... csz=4 K=64 M=65536 segment=512").
Result<niah::Answerer> LongMemAnswerer(const LoadedModel& loaded, const LongMemSystemOptions& o,
                                       std::string* description);

}  // namespace lm::cli
