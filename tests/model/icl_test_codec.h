// A byte-level IclCodec for ICL tests with tiny models: one token per byte (7 bits), no tokenizer file needed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eval/longmem/icl_prompt.h"

namespace lm::eval_longmem {

inline IclCodec ByteCodec() {
  return {.encode = [](std::string_view s) {
            std::vector<int32_t> ids;
            for (char c : s) ids.push_back(static_cast<unsigned char>(c) & 127);
            return ids;
          },
          .decode = [](int32_t id) { return std::string(1, static_cast<char>(id)); }};
}

}  // namespace lm::eval_longmem
