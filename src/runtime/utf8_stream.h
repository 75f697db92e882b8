// Utf8Stream: joins token bytes and releases only complete UTF-8 sequences, so streamed output never
// splits a multi-byte character that spans two tokens.
#pragma once

#include <string>
#include <string_view>

namespace lm {

class Utf8Stream {
 public:
  // Appends bytes and returns the longest prefix that ends on a character boundary.
  std::string Push(std::string_view bytes);
  // Whatever is left (an incomplete sequence at the end of generation), emitted as is.
  std::string Flush();

 private:
  std::string pending_;
};

}  // namespace lm
