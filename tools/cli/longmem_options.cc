// LongMem memory options: --mem-chunk, --mem-k, --mem-size, --mem-eviction, --mem-index, --mem-query.
#include "longmem_options.h"

#include "core/str.h"

namespace lm::cli {

void LongMemCliOptions::Add(CLI::App& cmd) {
  cmd.add_option("--mem-chunk", chunk_size, "tokens per memory chunk, csz (default 4; the paper's ICL used 2)");
  cmd.add_option("--mem-k", retrieve_tokens, "tokens retrieved per query and head, K (default 64 = 16 chunks of 4)");
  cmd.add_option("--mem-size", capacity_tokens, "memory bank capacity in tokens, M (default 65536)");
  cmd.add_option("--mem-eviction", eviction, "spec (drop 2x the incoming chunks, as the official code) | exact");
  cmd.add_option("--mem-index", index, "exact (every chunk scored, SIMD kernel) | ivf-int8 (approximate, longmem's int8 IVF) | ivf | hnsw (faiss, approximate)");
  cmd.add_option("--mem-query", query,
                 "raw (search with the query, as the paper) | centred (query minus its segment's running mean: "
                 "removes chunks every query ranks high)");
}

Status LongMemCliOptions::Apply(sidenet::MemoryConfig* m) const {
  if (chunk_size > 0) m->chunk_size = chunk_size;
  if (retrieve_tokens > 0) m->retrieve_tokens = retrieve_tokens;
  if (capacity_tokens > 0) m->capacity_tokens = capacity_tokens;
  if (!eviction.empty()) {
    auto e = sidenet::ParseEviction(eviction);
    if (!e.ok()) return e.status();
    m->eviction = *e;
  }
  if (!index.empty()) {
    auto k = sidenet::ParseIndexKind(index);
    if (!k.ok()) return k.status();
    m->index = *k;
  }
  if (!query.empty()) {
    auto q = sidenet::ParseRetrievalQuery(query);
    if (!q.ok()) return q.status();
    m->query = *q;
  }
  return sidenet::Validate(*m);
}

Result<OpenedLongMem> OpenLongMem(const LoadedModel& loaded, const std::string& sidenet_path,
                                  const LongMemCliOptions& mem, std::string_view who) {
  if (!loaded.gguf) return Unsupported(StrCat(who, ": the backbone must be a GGUF file; hint: -m model.gguf"));
  OpenedLongMem out;
  auto net = sidenet::SideNet::Load(loaded.gguf, sidenet_path);
  if (!net.ok()) return net.status();
  out.side = std::move(*net);
  out.memory = out.side->memory_config();
  LM_RETURN_IF_ERROR(mem.Apply(&out.memory));
  auto lm = sidenet::LongMem::Create(loaded.model, out.side.get(), out.memory);
  if (!lm.ok()) return lm.status();
  out.lm = std::move(*lm);
  return out;
}

}  // namespace lm::cli
