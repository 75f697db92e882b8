// Length bucket parsing, assignment and labels.
#include "eval/longmem/buckets.h"

#include <algorithm>
#include <charconv>

#include "core/str.h"

namespace lm::eval_longmem {

Result<std::vector<int64_t>> ParseIntList(std::string_view csv, std::string_view what) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= csv.size()) {
    const size_t end = std::min(csv.find(',', at), csv.size());
    const std::string_view item = csv.substr(at, end - at);
    int64_t v = 0;
    const auto r = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || r.ec != std::errc() || r.ptr != item.data() + item.size() || v <= 0)
      return InvalidArgument(StrCat(what, ": '", item, "' in '", csv,
                                    "' is not a positive integer; hint: comma-separated, e.g. 4096,16384"));
    out.push_back(v);
    at = end + 1;
  }
  return out;
}

Result<LengthBuckets> LengthBuckets::FromEdges(std::vector<int64_t> upper) {
  if (upper.empty()) return InvalidArgument("buckets: no edge given; hint: e.g. --buckets 4096,16384,65536");
  for (size_t i = 0; i < upper.size(); ++i) {
    if (upper[i] <= 0 || (i > 0 && upper[i] <= upper[i - 1]))
      return InvalidArgument(StrCat("buckets: edges ", ShapeString(upper), " must be positive and strictly increasing"));
  }
  LengthBuckets b;
  b.upper_ = std::move(upper);
  return b;
}

Result<LengthBuckets> LengthBuckets::Parse(std::string_view csv) {
  auto v = ParseIntList(csv, "--buckets");
  if (!v.ok()) return v.status();
  return FromEdges(std::move(*v));
}

int64_t LengthBuckets::Index(int64_t n) const {
  return static_cast<int64_t>(std::lower_bound(upper_.begin(), upper_.end(), n) - upper_.begin());
}

std::string LengthBuckets::Label(int64_t b) const {
  const auto n = static_cast<int64_t>(upper_.size());
  if (b <= 0) return StrCat("<=", upper_[0]);
  if (b >= n) return StrCat(">", upper_.back());
  return StrCat(upper_[static_cast<size_t>(b - 1)] + 1, "-", upper_[static_cast<size_t>(b)]);
}

}  // namespace lm::eval_longmem
