// Prompt building for needle-in-a-haystack: real text (a tokenised haystack file, e.g. the KJV Bible from
// the Debian-sourced data/kjv.txt) cut to fit an exact prompt length, needles inserted at line starts near
// their depth, all wrapped in the model's chat template with the answer prefix opening the reply.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/niah/task.h"
#include "tokenizer/tokenizer.h"

namespace lm::niah {

struct Haystack {
  std::vector<int32_t> tokens;      // the text, no BOS
  std::vector<uint8_t> line_start;  // [tokens]: 1 where a line begins (the previous token ends a line)
};

// Tokenises at most max_chars characters of text (cut at a line end), so huge files stay cheap.
Result<Haystack> MakeHaystack(const Tokenizer& tok, const std::string& text, size_t max_chars);

struct BuiltPrompt {
  std::vector<int32_t> tokens;     // exactly the requested length
  std::vector<int64_t> needle_at;   // token index where each needle starts
  std::vector<int64_t> needle_len;  // tokens in each needle
};

// n_tokens: total prompt length; offset: where in the haystack the context starts (wraps around).
Result<BuiltPrompt> BuildPrompt(const Tokenizer& tok, const Haystack& hay, const TaskInstance& task, int64_t n_tokens,
                                int64_t offset);

}  // namespace lm::niah
