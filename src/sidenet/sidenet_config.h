// LongMem SideNet geometry (which backbone layer is cached, how many side layers) and the memory-bank
// settings a run uses, with defaults derived from the backbone and JSON round-trips for SideNet files.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "memory/memory_bank/memory_bank.h"
#include "model/config.h"

namespace lm::sidenet {

enum class SideNetInit {
  // Side layer i = a copy of backbone block 2i+1; the last cross-network residual ends at the final-normed
  // state H[L] (spec §2–3, the official code).
  kPaper,
  // The same copies with each block's output projections (attn_output, ffn_down) zeroed, and the last
  // residual ending at the backbone's final residual state *before* its norm. Every side block starts as
  // the identity, the residuals telescope, and the untrained SideNet reproduces the backbone's output
  // exactly: short training runs start from the backbone's loss, not far above it (the paper's init costs
  // ~10 nats at step 0 on SmolLM2, recovered only after hundreds of steps).
  kBackbone,
  // `kBackbone` with the memory path live from step 0. Under kBackbone the memory layer's output projection
  // starts at zero, so neither the memory attention nor the gate gets any gradient until that projection
  // has grown, and short runs never learn to use the memory. Here the memory layer keeps block m's output
  // projection and reads H[m] (the layer below it adds H[m] − H[m−2]); its own residual then adds
  // H[m+1] − M[m], M[m] = H[m] + block m's attention output. With an empty memory (or a shut gate) the
  // memory layer *is* block m's attention and the SideNet still reproduces the backbone; with memory the
  // joint attention changes the output from the first step.
  kBackboneMemory,
};

struct SideNetConfig {
  int64_t n_layer = 0;       // SideNet layers: L / 2 (layer i starts from backbone block 2i + 1)
  int64_t memory_layer = 0;  // backbone block m whose keys/values fill the bank; odd, so that SideNet layer
                             // (m − 1) / 2, the memory-augmented one, starts from block m itself (spec §3.5)
  SideNetInit init = SideNetInit::kPaper;
  int64_t side_memory_layer() const { return (memory_layer - 1) / 2; }
  // Whether the last cross-network residual reads the backbone's pre-norm final state.
  bool prenorm_last() const { return init != SideNetInit::kPaper; }
  // Whether the memory layer reads H[m] and its residual starts from M[m] (kBackboneMemory).
  bool live_memory() const { return init == SideNetInit::kBackboneMemory; }
};

// What the memory layer searches the bank with (scoring of the retrieved tokens always uses the raw query).
enum class RetrievalQuery {
  kRaw,      // the un-rotated query itself, as the spec (inner product with each chunk's mean key)
  kCentred,  // the query minus the causal mean of its segment's queries (memory_bank/query_centring.h):
             // removes the "hub" chunks raw search returns for every query on RoPE backbones
};

// Memory bank settings of a run (the official code trains with csz 4 and evaluates ICL with csz 2).
struct MemoryConfig {
  int64_t chunk_size = 4;          // csz: consecutive tokens per chunk
  int64_t retrieve_tokens = 64;    // K tokens per query and head (K / csz chunks)
  int64_t capacity_tokens = 65536; // M
  membank::EvictionRule eviction = membank::EvictionRule::kSpec;
  membank::IndexKind index = membank::IndexKind::kExact;
  RetrievalQuery query = RetrievalQuery::kRaw;
  membank::MemoryBankConfig BankConfig(const ModelConfig& backbone) const;
};
// "longmem(csz=4,K=64,M=65536)": how evaluations name a memory setting in tables, plots and JSON.
std::string Describe(const MemoryConfig& m);

// The spec's proportions on any backbone: L / 2 side layers; m = the odd block nearest 0.7 · L (17 of 24
// in the paper; 21 of 30 for SmolLM2-135M).
SideNetConfig DefaultSideNetConfig(const ModelConfig& backbone);
Status Validate(const SideNetConfig& s, const ModelConfig& backbone);
Status Validate(const MemoryConfig& m);

std::string ToJson(const SideNetConfig& s, const MemoryConfig& m);
Status FromJson(const std::string& text, SideNetConfig* s, MemoryConfig* m);

Result<membank::EvictionRule> ParseEviction(const std::string& s);
Result<membank::IndexKind> ParseIndexKind(const std::string& s);
Result<SideNetInit> ParseSideNetInit(const std::string& s);
Result<RetrievalQuery> ParseRetrievalQuery(const std::string& s);
const char* RetrievalQueryName(RetrievalQuery q);  // the option spelling ParseRetrievalQuery reads
const char* SideNetInitName(SideNetInit i);  // the option spelling ParseSideNetInit reads
const char* IndexOptionName(membank::IndexKind k);  // the option spelling ParseIndexKind reads

}  // namespace lm::sidenet
