// SideNet and memory settings: defaults from the backbone shape, validation with hints, JSON form.
#include "sidenet/sidenet_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/str.h"

namespace lm::sidenet {

membank::MemoryBankConfig MemoryConfig::BankConfig(const ModelConfig& c) const {
  membank::MemoryBankConfig b;
  b.n_head_kv = c.n_head_kv;
  b.head_dim = c.head_dim;
  b.chunk_size = chunk_size;
  b.capacity_tokens = capacity_tokens;
  b.eviction = eviction;
  b.index = index;
  return b;
}

SideNetConfig DefaultSideNetConfig(const ModelConfig& c) {
  SideNetConfig s;
  s.n_layer = c.n_layer / 2;
  int64_t m = static_cast<int64_t>(std::lround(0.7 * static_cast<double>(c.n_layer)));
  if (m % 2 == 0) m -= 1;
  s.memory_layer = std::max<int64_t>(1, std::min<int64_t>(m, 2 * s.n_layer - 1));
  return s;
}

Status Validate(const SideNetConfig& s, const ModelConfig& c) {
  if (s.n_layer < 1 || 2 * s.n_layer > c.n_layer)
    return InvalidArgument(StrCat("sidenet: ", s.n_layer, " side layers need ", 2 * s.n_layer,
                                  " backbone blocks, the backbone has ", c.n_layer, "; hint: at most L/2 = ",
                                  c.n_layer / 2));
  if (s.memory_layer % 2 != 1 || s.memory_layer < 1 || s.memory_layer > 2 * s.n_layer - 1)
    return InvalidArgument(StrCat("sidenet: memory layer ", s.memory_layer,
                                  " must be an odd backbone block in [1, ", 2 * s.n_layer - 1,
                                  "] (side layer i starts from block 2i+1); hint: --memory-layer ",
                                  DefaultSideNetConfig(c).memory_layer));
  return OkStatus();
}

Status Validate(const MemoryConfig& m) {
  if (m.chunk_size < 1) return InvalidArgument(StrCat("memory: chunk size ", m.chunk_size, " must be >= 1"));
  if (m.retrieve_tokens < m.chunk_size || m.retrieve_tokens % m.chunk_size != 0)
    return InvalidArgument(StrCat("memory: retrieved tokens K=", m.retrieve_tokens, " must be a positive multiple of the chunk size ",
                                  m.chunk_size, " (K / csz chunks are retrieved); hint: --mem-k 64"));
  if (m.capacity_tokens < m.chunk_size || m.capacity_tokens % m.chunk_size != 0)
    return InvalidArgument(StrCat("memory: capacity ", m.capacity_tokens, " must be a positive multiple of the chunk size ",
                                  m.chunk_size));
  return OkStatus();
}

Result<membank::EvictionRule> ParseEviction(const std::string& s) {
  if (s == "spec") return membank::EvictionRule::kSpec;
  if (s == "exact") return membank::EvictionRule::kExact;
  return InvalidArgument(StrCat("memory: eviction '", s, "': expected spec (drop 2x the new chunks, as the official code) or exact"));
}

Result<membank::IndexKind> ParseIndexKind(const std::string& s) {
  if (s == "exact") return membank::IndexKind::kExact;
  if (s == "ivf") return membank::IndexKind::kFaissIvf;
  if (s == "hnsw") return membank::IndexKind::kFaissHnsw;
  if (s == "ivf-int8") return membank::IndexKind::kIvfInt8;
  return InvalidArgument(StrCat("memory: index '", s, "': expected exact, ivf-int8, ivf or hnsw"));
}

Result<SideNetInit> ParseSideNetInit(const std::string& s) {
  if (s == "paper") return SideNetInit::kPaper;
  if (s == "backbone") return SideNetInit::kBackbone;
  if (s == "backbone-memory") return SideNetInit::kBackboneMemory;
  return InvalidArgument(StrCat("sidenet: init '", s, "': expected paper (copies of the odd backbone blocks), backbone "
                                "(the same with output projections zeroed: starts as the backbone) or backbone-memory "
                                "(backbone, with the memory layer starting as the cached block's attention)"));
}

const char* SideNetInitName(SideNetInit i) {
  switch (i) {
    case SideNetInit::kPaper: return "paper";
    case SideNetInit::kBackbone: return "backbone";
    case SideNetInit::kBackboneMemory: return "backbone-memory";
  }
  return "paper";
}

Result<RetrievalQuery> ParseRetrievalQuery(const std::string& s) {
  if (s == "raw") return RetrievalQuery::kRaw;
  if (s == "centred") return RetrievalQuery::kCentred;
  return InvalidArgument(StrCat("memory: retrieval query '", s, "': expected raw (the query itself, as the paper) or "
                                "centred (minus the running mean query of the segment)"));
}

const char* RetrievalQueryName(RetrievalQuery q) { return q == RetrievalQuery::kCentred ? "centred" : "raw"; }

const char* IndexOptionName(membank::IndexKind k) {
  switch (k) {
    case membank::IndexKind::kExact: return "exact";
    case membank::IndexKind::kFaissIvf: return "ivf";
    case membank::IndexKind::kFaissHnsw: return "hnsw";
    case membank::IndexKind::kIvfInt8: return "ivf-int8";
  }
  return "exact";
}

std::string ToJson(const SideNetConfig& s, const MemoryConfig& m) {
  nlohmann::json j = {{"n_layer", s.n_layer},
                      {"init", SideNetInitName(s.init)},
                      {"memory_layer", s.memory_layer},
                      {"chunk_size", m.chunk_size},
                      {"retrieve_tokens", m.retrieve_tokens},
                      {"capacity_tokens", m.capacity_tokens},
                      {"eviction", membank::EvictionRuleName(m.eviction)},
                      {"index", IndexOptionName(m.index)}};
  // Written only when not the default, so files and checkpoints from before the option stay byte-identical
  // (train-sidenet --resume compares this text).
  if (m.query != RetrievalQuery::kRaw) j["retrieval_query"] = RetrievalQueryName(m.query);
  return j.dump();
}

Status FromJson(const std::string& text, SideNetConfig* s, MemoryConfig* m) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Corrupt("sidenet: malformed configuration JSON");
  try {
    s->n_layer = j.at("n_layer").get<int64_t>();
    s->memory_layer = j.at("memory_layer").get<int64_t>();
    auto init = ParseSideNetInit(j.value("init", "paper"));
    if (!init.ok()) return init.status();
    s->init = *init;
    m->chunk_size = j.at("chunk_size").get<int64_t>();
    m->retrieve_tokens = j.at("retrieve_tokens").get<int64_t>();
    m->capacity_tokens = j.at("capacity_tokens").get<int64_t>();
    auto ev = ParseEviction(j.at("eviction").get<std::string>());
    if (!ev.ok()) return ev.status();
    m->eviction = *ev;
    auto ix = ParseIndexKind(j.at("index").get<std::string>());
    if (!ix.ok()) return ix.status();
    m->index = *ix;
    auto rq = ParseRetrievalQuery(j.value("retrieval_query", "raw"));  // files before the option: raw
    if (!rq.ok()) return rq.status();
    m->query = *rq;
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(StrCat("sidenet: configuration field missing or mistyped (", e.what(), ")"));
  }
  return OkStatus();
}

std::string Describe(const MemoryConfig& m) {
  return StrCat("longmem(csz=", m.chunk_size, ",K=", m.retrieve_tokens, ",M=", m.capacity_tokens,
                m.query == RetrievalQuery::kCentred ? ",q=centred" : "", ")");
}

}  // namespace lm::sidenet
