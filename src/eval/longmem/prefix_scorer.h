// Next-token logits for many short queries that follow one shared prefix: the prefix is read once into a
// memory (dense, reattention, ...), and each query continues from a clone of that state at the prefix's
// positions. N queries after an L-token prefix cost one L-token read plus N short reads, and the prefix
// state never changes, so queries are independent (ICL test items after the same demonstrations).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "memory/memory.h"
#include "model/forward.h"
#include "model/model.h"

namespace lm::eval_longmem {

class PrefixScorer {
 public:
  // memory must be empty and able to hold the prefix plus the longest query.
  static Result<std::unique_ptr<PrefixScorer>> Create(std::shared_ptr<const Model> model,
                                                      std::unique_ptr<Memory> memory,
                                                      std::span<const int32_t> prefix, int64_t batch = 512);
  // logits: [V] after the query's last token.
  Status NextLogits(std::span<const int32_t> query, std::vector<float>* logits);
  int64_t prefix_tokens() const { return n_prefix_; }
  uint64_t kv_bytes() const { return memory_->kv_bytes(); }

 private:
  PrefixScorer() = default;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Memory> memory_;
  int64_t n_prefix_ = 0;
  ForwardScratch scratch_;
  std::vector<int32_t> pos_;
};

}  // namespace lm::eval_longmem
