// Document-ordered segmentation and the held-out split.
#include "sidenet/segments.h"

#include "core/str.h"

namespace lm::sidenet {

Result<SegmentStream> SegmentStream::Create(std::vector<Document> docs, int64_t seg_len) {
  if (seg_len < 2) return InvalidArgument(StrCat("segments: segment length ", seg_len, " must be at least 2"));
  SegmentStream s;
  s.docs_ = std::move(docs);
  for (size_t d = 0; d < s.docs_.size(); ++d) {
    const int64_t n = static_cast<int64_t>(s.docs_[d].tokens.size());
    for (int64_t b = 0; b + 1 < n; b += seg_len) {
      const int64_t len = std::min(seg_len, n - b);
      if (len < 2) break;
      s.segs_.push_back({.doc = static_cast<int64_t>(d), .begin = b, .len = len, .first_of_doc = b == 0});
    }
  }
  if (s.segs_.empty())
    return InvalidArgument("segments: the data holds no segment of at least 2 tokens; hint: give longer --data files");
  return s;
}

int64_t SegmentStream::n_tokens() const {
  int64_t n = 0;
  for (const auto& s : segs_) n += s.len;
  return n;
}

void SegmentStream::Get(int64_t i, std::vector<int32_t>* tokens, std::vector<int32_t>* labels) const {
  const Segment& s = at(i);
  const auto& t = docs_[static_cast<size_t>(s.doc)].tokens;
  tokens->assign(t.begin() + s.begin, t.begin() + s.begin + s.len);
  labels->resize(static_cast<size_t>(s.len));
  for (int64_t j = 0; j < s.len; ++j) {
    const int64_t next = s.begin + j + 1;
    (*labels)[static_cast<size_t>(j)] = next < static_cast<int64_t>(t.size()) ? t[static_cast<size_t>(next)] : -100;
  }
}

void SplitHoldout(const std::vector<Document>& docs, double holdout, std::vector<Document>* train,
                  std::vector<Document>* held_out) {
  for (const Document& d : docs) {
    const size_t n = d.tokens.size();
    const size_t cut = n - static_cast<size_t>(static_cast<double>(n) * holdout);
    train->push_back({d.name, std::vector<int32_t>(d.tokens.begin(), d.tokens.begin() + static_cast<std::ptrdiff_t>(cut))});
    if (cut < n)
      held_out->push_back({d.name + " (held out)",
                           std::vector<int32_t>(d.tokens.begin() + static_cast<std::ptrdiff_t>(cut), d.tokens.end())});
  }
}

}  // namespace lm::sidenet
