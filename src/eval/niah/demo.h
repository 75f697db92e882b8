// The passkey demo for `longmem demo`: one passkey (or needle) hidden at `depth` in `length` tokens of real text
// (beyond the model's window by default), answered by each memory strategy in turn on the same prompt,
// with the answer, correctness, KV bytes and time of each.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eval/niah/runner.h"
#include "memory/memory_factory.h"

namespace lm::niah {

struct PasskeyDemoOptions {
  int64_t length = 0;  // prompt tokens; 0: twice the model's window
  double depth = 0.5;
  uint32_t seed = 7;
  // The RULER-style needle by default: SmolLM2-135M already misses the landmark passkey wording at 1-2K
  // tokens with dense attention, while it finds a "special magic number" needle at 8K (docs/long_context.md).
  TaskKind task = TaskKind::kNeedle;
  std::vector<MemoryOptions> strategies;  // empty: dense and reattention defaults, SizedForPrompt
  // Further systems answered on the same prompt after the strategies (e.g. LongMem with a trained SideNet).
  struct System {
    std::string name;
    Answerer answer;
  };
  std::vector<System> extra;
  int64_t batch = 512;
  std::function<void(const std::string& line)> print;  // progress lines (may be empty)
};

struct PasskeyDemoRow {
  std::string strategy;  // resolved description
  CellResult cell;       // response, expected, score (0/1), kv_bytes, prefill/decode seconds
};

Result<std::vector<PasskeyDemoRow>> RunPasskeyDemo(std::shared_ptr<const Model> model, const Tokenizer& tok,
                                                   const std::string& haystack_text, const PasskeyDemoOptions& options);

}  // namespace lm::niah
