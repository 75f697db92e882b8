// Long-text perplexity by length bucket (the LongMem paper's PG-22 style evaluation): the same documents
// and token stream through several systems, NLL summed per segment, perplexity per bucket with a
// bootstrap interval, the paired NLL difference to a reference system, throughput and peak memory.
// Systems run one after another over every document, so each one's peak RSS can be measured alone.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/longmem/bootstrap.h"
#include "eval/longmem/buckets.h"
#include "eval/longmem/token_nll.h"
#include "memory/memory_factory.h"
#include "model/model.h"
#include "sidenet/sidenet.h"

namespace lm::eval_longmem {

enum class PplSystemKind {
  kBackboneWindow,  // the backbone, each segment read on its own (LongMem's local window)
  kBackboneDense,   // the backbone with its native window, sliding
  kStrategy,        // the backbone reading the whole document through a memory strategy
  kSideNet,         // the SideNet without memory
  kLongMem,         // the SideNet with its memory bank
};
const char* KindName(PplSystemKind k);

struct PplSystem {
  std::string name;
  PplSystemKind kind = PplSystemKind::kBackboneWindow;
  WindowOptions window;          // kBackboneWindow (ctx = stride = segment) and kBackboneDense
  MemoryOptions strategy;        // kStrategy
  sidenet::MemoryConfig memory;  // kLongMem
};

struct PplDocument {
  std::string name;
  std::vector<int32_t> tokens;
};

// Cuts a token stream into consecutive documents whose lengths cycle through `lengths` (a tail shorter
// than the smallest length is dropped); empty lengths: the whole stream, truncated to max_tokens if > 0.
std::vector<PplDocument> CutDocuments(const std::string& name, std::span<const int32_t> tokens,
                                      std::span<const int64_t> lengths, int64_t max_tokens);

struct PplEvalOptions {
  int64_t segment = 512;
  LengthBuckets buckets;
  BootstrapOptions bootstrap;
  std::vector<PplSystem> systems;  // the first is the reference of the paired differences
  std::function<void(const std::string&)> on_progress;
};

struct BucketResult {
  int64_t n_docs = 0, n_tokens = 0, n_segments = 0;  // tokens: scored targets
  Interval ppl;
  Interval delta_nll;  // per-token NLL minus the reference's on the same segments (nats)
  // LongMem systems, when a SideNet-without-memory system ran too: NLL minus that system's, which is what the
  // memory itself buys (same SideNet, same segments); NaN otherwise.
  Interval delta_nll_memory{NAN, NAN, NAN};
};

struct SystemResult {
  std::string name, kind, description;
  std::vector<BucketResult> buckets;  // per length bucket (empty buckets have n_docs 0)
  BucketResult all;
  double seconds = 0, tokens_per_second = 0;  // scored tokens per second
  uint64_t peak_rss_bytes = 0;
  bool peak_rss_isolated = false;  // the peak was reset before this system ran
  StateStats state;
};

struct PplEvalReport {
  int64_t segment = 0;
  std::vector<std::string> bucket_labels;
  struct Doc {
    std::string name;
    int64_t n_tokens = 0, bucket = 0;
  };
  std::vector<Doc> docs;
  std::vector<SystemResult> systems;
  BootstrapOptions bootstrap;
};

// side may be null when no system needs it.
Result<PplEvalReport> RunPplEval(std::shared_ptr<const Model> model, sidenet::SideNet* side,
                                 std::span<const PplDocument> docs, const PplEvalOptions& o);

}  // namespace lm::eval_longmem
