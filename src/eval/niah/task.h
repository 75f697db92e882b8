// Needle-in-a-haystack tasks (spec E): passkey retrieval (landmark-attention style), a RULER-style single
// needle ("One of the special magic numbers for {key} is: {value}."), multi-key (four needles with
// different keys, one is asked) and multi-value (four values under one key, all are asked). A task draws
// its needles from a seeded RNG and scores a response by exact match.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm::niah {

enum class TaskKind { kPasskey, kNeedle, kMultiKey, kMultiValue };

Result<TaskKind> ParseTaskKind(const std::string& name);  // passkey | needle | multikey | multivalue
const char* TaskName(TaskKind kind);

struct Needle {
  std::string text;    // inserted into the haystack as its own line
  double depth = 0.5;  // fraction of the haystack before it
};

struct TaskInstance {
  std::string instruction;    // before the haystack
  std::string question;       // after the haystack
  std::string answer_prefix;  // starts the assistant's reply, so the answer is the next tokens
  std::vector<Needle> needles;
  std::vector<std::string> answers;  // all must appear (multivalue); passkey compares the first integer
  int64_t max_new_tokens = 12;
};

// depth: where the asked needle goes; other needles (multi-key/value) go to random depths.
TaskInstance MakeTask(TaskKind kind, double depth, std::mt19937& rng);

// Score in [0, 1]: passkey = the first integer in the response equals the key (InfiniteBench); the others
// = fraction of answers contained in the response (RULER string_match_all, case-insensitive).
double ScoreResponse(TaskKind kind, const TaskInstance& task, const std::string& response);

}  // namespace lm::niah
