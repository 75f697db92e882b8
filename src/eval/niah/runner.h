// Needle-in-a-haystack grid: lengths x depths x trials for one memory strategy. Each cell builds its
// prompt from a seed derived from (seed, task, length, depth, trial) only, so every strategy sees the same
// prompts; runs prefill + greedy decoding; scores exactly. Finished cells are appended to a JSONL file as
// they complete, and cells already there (same strategy description, task, seed) are skipped on restart.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/niah/prompt.h"
#include "eval/niah/task.h"
#include "memory/memory.h"
#include "memory/memory_factory.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace lm::niah {

struct CellResult {
  int64_t length = 0;
  double depth = 0;
  int64_t trial = 0;
  double score = 0;  // 0..1
  std::string response, expected;
  int64_t n_prompt = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t n_generated = 0;
  uint64_t kv_bytes = 0;
  // Per layer: the share of the asked needle's tokens attended by the step that read the prompt's last
  // token (and so chose the first answer token); empty where the strategy does not report it.
  std::vector<double> needle_attended;
  bool resumed = false;  // read back from the JSONL file rather than run now

  // Layers whose answer step attended every token of the needle.
  int64_t layers_with_whole_needle() const {
    return std::count_if(needle_attended.begin(), needle_attended.end(), [](double f) { return f >= 1; });
  }
};

struct GridOptions {
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  int64_t trials = 1;
  TaskKind task = TaskKind::kPasskey;
  uint32_t seed = 1234;
  std::string strategy;    // label recorded with each cell (the resolved memory description)
  std::string jsonl_path;  // empty: no resume file
  int64_t batch = 512;
  // After each cell: (cells done, total, the cell).
  std::function<void(int64_t, int64_t, const CellResult&)> on_cell;
};

using MemoryMaker = std::function<Result<std::unique_ptr<Memory>>()>;

// What a system produced for one prompt.
struct Answer {
  std::vector<int32_t> tokens;  // greedy answer, end-of-generation excluded
  uint64_t kv_bytes = 0;        // memory held after reading the prompt
  double prefill_seconds = 0, decode_seconds = 0;
};
// True once the answer so far is complete (its first line has ended).
using AnswerDone = std::function<bool(const std::vector<int32_t>& tokens)>;
// Sees the memory and its layer count once the prompt is read, before the first answer token is chosen.
using AfterPrompt = std::function<void(const Memory& memory, int n_layer)>;
// Any system that reads a prompt and answers greedily with at most max_new tokens: a model with a memory
// strategy (SessionAnswerer), or LongMem's SideNet over its memory bank. after_prompt may be empty, and a
// system without a Memory does not call it.
using Answerer = std::function<Result<Answer>(std::span<const int32_t> prompt, int64_t max_new,
                                              const AnswerDone& done, const AfterPrompt& after_prompt)>;

// Memory options sized for prompts of at most max_len tokens plus their answers: dense always holds the whole
// prompt (past its window too); the others get it as their limit unless one was set, so their caches are
// allocated once, not grown (a vector growing past 2^17 tokens at the first answer step would copy a 128K
// cache).
MemoryOptions SizedForPrompt(MemoryOptions options, int64_t max_len);

// The model with a fresh memory from make_memory per prompt: prefill in batches, then greedy decoding.
Answerer SessionAnswerer(std::shared_ptr<const Model> model, const Tokenizer& tok, MemoryMaker make_memory,
                         int64_t batch);

// One prompt through one system: build the cell's prompt, answer, score.
Result<CellResult> RunCell(const Tokenizer& tok, const Haystack& hay, const Answerer& answer, TaskKind task,
                           int64_t length, double depth, int64_t trial, uint32_t seed);

Result<std::vector<CellResult>> RunGrid(const Tokenizer& tok, const Haystack& hay, const Answerer& answer,
                                        const GridOptions& options);

}  // namespace lm::niah
