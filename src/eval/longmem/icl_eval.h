// Memory-augmented in-context learning (LongMem spec §7.1): per seed, k demonstrations in the local context
// and N more written into memory, test items read with no memory write, accuracy as mean ± std over seeds.
// Systems on the same demonstrations and test items:
//   backbone            the frozen backbone with the k local demonstrations
//   sidenet             the SideNet with the k local demonstrations and no memory
//   longmem(...)        the SideNet with k local demonstrations and N in its memory bank (one per memory
//                       setting, for chunk-size / K / capacity sweeps)
//   <strategy>          the backbone reading all N + k demonstrations in its context through a long-context
//                       memory strategy (reattention by default)
// Memory demonstrations are written by Memorize in segments of `segment` tokens (the official code drops a
// trailing partial segment; here it is kept, so small N still reaches memory), and the bank is reset for
// every N and seed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/longmem/icl_prompt.h"
#include "eval/longmem/icl_task.h"
#include "memory/memory_factory.h"
#include "model/model.h"
#include "sidenet/sidenet.h"

namespace lm::eval_longmem {

struct IclEvalOptions {
  int64_t k = 20;                          // local demonstrations
  std::vector<int64_t> n_memory = {2000};  // demonstrations in memory (one evaluation per value)
  int64_t seeds = 3;
  uint64_t first_seed = 1;
  int64_t n_test = 100;   // test items per seed (balanced over labels when the task has a test split)
  int64_t segment = 512;  // tokens per memory-writing segment; the local prompt must fit in it
  bool backbone = true, sidenet = true;
  std::vector<sidenet::MemoryConfig> memories;  // one LongMem system each
  std::string strategy = "reattention";         // empty: no long-context system
  MemoryOptions strategy_options;               // kind is taken from `strategy`
  std::function<void(const std::string&)> on_progress;
};

struct IclCell {  // one system at one N
  std::string system;
  int64_t n_memory = 0;  // 0 for systems that see only the local demonstrations
  std::vector<double> accuracy, accuracy_full_vocab;  // per seed
  double mean = 0, std = 0, mean_full_vocab = 0, std_full_vocab = 0;  // std: population (np.std), as the paper
  double seconds = 0;
  // LongMem only: retrieval diagnostics over test items.
  double mean_retrieved = 0;          // tokens per query and head
  double hit_rate = -1;               // mapping probe: share of (item, head) whose retrieval holds the answer's
  double any_head_hit_rate = -1;      //   demonstration; any head; -1 when not measured
  double chance_hit_rate = -1;        //   the same for chunks drawn at random
};

struct IclReport {
  std::string task;
  std::vector<std::string> labels;
  int64_t k = 0, n_test = 0, seeds = 0;
  double majority_rate = 0;           // share of the most frequent gold label among test items
  double mean_local_prompt_tokens = 0;
  std::vector<int64_t> n_memory;
  std::vector<int64_t> memory_tokens;  // demonstration tokens for each N (first seed)
  std::vector<IclCell> cells;
};

// side may be null when neither sidenet nor longmem systems are asked for.
Result<IclReport> RunIclEval(std::shared_ptr<const Model> model, sidenet::SideNet* side, const IclTask& task,
                             const IclCodec& codec, const IclEvalOptions& o);

}  // namespace lm::eval_longmem
