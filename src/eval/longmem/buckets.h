// Length buckets for long-text perplexity: documents are grouped by their token count, the way the
// LongMem paper splits PG-22 by book length. Upper edges are inclusive; a last, open bucket takes longer
// documents.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lm::eval_longmem {

class LengthBuckets {
 public:
  // "4096,16384,65536": strictly increasing positive upper edges.
  static Result<LengthBuckets> Parse(std::string_view csv);
  static Result<LengthBuckets> FromEdges(std::vector<int64_t> upper);

  int64_t size() const { return static_cast<int64_t>(upper_.size()) + 1; }  // with the open bucket
  // Bucket of a document of n tokens: the first edge >= n, or the open bucket past the last edge.
  int64_t Index(int64_t n_tokens) const;
  // "<=4096", "4097-16384", ">65536".
  std::string Label(int64_t bucket) const;
  const std::vector<int64_t>& upper() const { return upper_; }

 private:
  std::vector<int64_t> upper_;
};

// Comma-separated positive integers ("2,4,8"); `what` names the option in errors.
Result<std::vector<int64_t>> ParseIntList(std::string_view csv, std::string_view what);

}  // namespace lm::eval_longmem
