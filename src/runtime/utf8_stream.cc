// Utf8Stream implementation.
#include "runtime/utf8_stream.h"

namespace lm {

namespace {
// Length of the sequence a lead byte announces (1 for ASCII and for stray bytes, which pass through).
size_t SeqLen(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  if (c < 0xF8) return 4;
  return 1;
}
}  // namespace

std::string Utf8Stream::Push(std::string_view bytes) {
  pending_.append(bytes);
  size_t i = 0, complete = 0;
  while (i < pending_.size()) {
    const size_t n = SeqLen(static_cast<unsigned char>(pending_[i]));
    if (i + n > pending_.size()) break;
    i += n;
    complete = i;
  }
  std::string out = pending_.substr(0, complete);
  pending_.erase(0, complete);
  return out;
}

std::string Utf8Stream::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace lm
