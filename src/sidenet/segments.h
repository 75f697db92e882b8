// Document-ordered segments for LongMem: each document is cut into consecutive segments, visited in order,
// so the memory bank holds the earlier segments of the same document when a later one is trained on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm::sidenet {

struct Document {
  std::string name;
  std::vector<int32_t> tokens;
};

class SegmentStream {
 public:
  struct Segment {
    int64_t doc = 0;
    int64_t begin = 0;  // first token of the segment within the document
    int64_t len = 0;    // tokens (inputs); labels are the next tokens, the document's last has none (-100)
    bool first_of_doc = false;
  };
  // Segments of seg_len tokens; a document's shorter tail becomes a last, shorter segment (at least 2 tokens).
  static Result<SegmentStream> Create(std::vector<Document> docs, int64_t seg_len);
  int64_t size() const { return static_cast<int64_t>(segs_.size()); }
  int64_t n_tokens() const;
  const Segment& at(int64_t i) const { return segs_[static_cast<size_t>(i)]; }
  void Get(int64_t i, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const;
  const std::vector<Document>& docs() const { return docs_; }

 private:
  std::vector<Document> docs_;
  std::vector<Segment> segs_;
};

// Splits every document into a training head and a held-out tail of `holdout` of its tokens.
void SplitHoldout(const std::vector<Document>& docs, double holdout, std::vector<Document>* train,
                  std::vector<Document>* held_out);

}  // namespace lm::sidenet
