// The chunk index factory: longmem's int8 IVF here, the faiss kinds in faiss_index.cc (or its stub).
#include "memory/memory_bank/chunk_index.h"

#include "memory/memory_bank/faiss_index.h"
#include "memory/memory_bank/ivf_int8_index.h"

namespace lm::membank {

Result<std::unique_ptr<ChunkIndex>> MakeChunkIndex(const MemoryBankConfig& c) {
  if (c.index == IndexKind::kIvfInt8) return MakeIvfInt8Index(c);
  return MakeFaissIndex(c);
}

}  // namespace lm::membank
