// ChunkIndex factory for builds without faiss: the bank then offers only exact search.
#include "core/str.h"
#include "memory/memory_bank/faiss_index.h"

namespace lm::membank {

bool HaveFaiss() { return false; }

Result<std::unique_ptr<ChunkIndex>> MakeFaissIndex(const MemoryBankConfig& c) {
  return Unavailable(StrCat("memory_bank: index '", IndexKindName(c.index),
                            "' needs faiss, and this build has none; hint: install libfaiss-dev "
                            "(scripts/setup.sh) and reconfigure, or use IndexKind::kExact"));
}

}  // namespace lm::membank
