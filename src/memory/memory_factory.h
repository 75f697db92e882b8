// MakeMemory: builds the memory strategy a run asks for (dense, streaming, reattention, razor) from named
// options, filling unset ones with defaults derived from the model's pretrained window W, and refusing
// nonsense (unknown names, negative sizes, scopes larger than W, a head profile of another model) before
// any work starts. Lives in its own library (lm_memory_factory) because it reads ModelConfig (lm_model),
// which itself sits on top of lm_memory.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "memory/kv_cache_type.h"
#include "memory/memory.h"
#include "memory/razor/head_profile.h"
#include "model/config.h"

namespace lm {

struct MemoryOptions {
  std::string kind = "dense";                     // dense | streaming | reattention | razor
  std::optional<int64_t> n_ctx;                   // dense: capacity (default W); others: max tokens (default unlimited)
  KvCacheType kv_type = KvCacheType::kF16;        // dense/razor/reattention: element type of the cache
  std::optional<int64_t> sinks;    // streaming/razor: attention sinks (4); reattention: global tokens (32)
  std::optional<int64_t> window;   // streaming: recent tokens (W - sinks); reattention: local (W/2);
                                   // razor: S0, the least recent tokens a compressed head keeps (W/8)
  std::optional<int64_t> top_k;    // reattention: anchors per query and head (4)
  std::optional<int64_t> span;     // reattention: tokens per anchor (32)
  std::optional<int64_t> clip;     // reattention: max distinct anchors ((W - global - local) / span)
  std::optional<int64_t> chunk;    // streaming/reattention: queries per selection step (512)
  std::optional<KvCacheType> select_type;  // reattention: pre-RoPE selection keys, f16 or q8_0 (f16)
  std::optional<int64_t> select_blocks;    // reattention: keys per block summary at decode; 0: exact sweep (32)
  std::optional<double> select_share;      // reattention: share of blocks a query row scores exactly (0.2)
  std::optional<double> compress;  // razor: C in max(S0, N/C) (5)
  std::string head_profile;        // razor: file from `longmem calibrate-heads`
  double echo_ratio = 0.01;        // razor: share of heads kept by echo score
  double induction_ratio = 0.14;   // razor: share kept by induction score
};

Result<std::unique_ptr<Memory>> MakeMemory(const MemoryOptions& options, const ModelConfig& config);

// One line with every resolved parameter, e.g. "reattention(global=32 local=4096 top_k=4 span=32 clip=127
// chunk=512 scope=8192 select=f16)", or the same error MakeMemory would give.
Result<std::string> DescribeMemory(const MemoryOptions& options, const ModelConfig& config);

// Identity of a model, as head profiles record it.
ModelIdentity IdentityOf(const ModelConfig& config);

}  // namespace lm
