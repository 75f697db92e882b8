// Needle-in-a-haystack tasks: needle text, questions, answers, scoring.
#include "eval/niah/task.h"

#include <algorithm>
#include <cctype>

namespace lm::niah {

namespace {

// RULER draws keys from a word list; a fixed list keeps the harness free of data files.
constexpr const char* kWords[] = {"harbor",  "lantern", "meadow",  "copper", "falcon",  "orchard", "glacier",
                                  "velvet",  "thunder", "saffron", "marble", "compass", "willow",  "ember",
                                  "quartz",  "canyon",  "beacon",  "walnut", "island",  "cobalt",  "prairie",
                                  "sparrow", "anchor",  "crimson", "violet", "granite", "pepper",  "summit"};

std::string Number7(std::mt19937& rng) {
  return std::to_string(std::uniform_int_distribution<int>(1000000, 9999999)(rng));
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string MagicNeedle(const std::string& key, const std::string& value) {
  return "One of the special magic numbers for " + key + " is: " + value + ".";
}

}  // namespace

Result<TaskKind> ParseTaskKind(const std::string& name) {
  if (name == "passkey") return TaskKind::kPasskey;
  if (name == "needle") return TaskKind::kNeedle;
  if (name == "multikey") return TaskKind::kMultiKey;
  if (name == "multivalue") return TaskKind::kMultiValue;
  return InvalidArgument(StrCat("niah: unknown task '", name, "'; choose passkey, needle, multikey or multivalue"));
}

const char* TaskName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kPasskey:
      return "passkey";
    case TaskKind::kNeedle:
      return "needle";
    case TaskKind::kMultiKey:
      return "multikey";
    case TaskKind::kMultiValue:
      return "multivalue";
  }
  return "?";
}

TaskInstance MakeTask(TaskKind kind, double depth, std::mt19937& rng) {
  TaskInstance t;
  std::uniform_real_distribution<double> any_depth(0.02, 0.98);
  std::vector<std::string> words(std::begin(kWords), std::end(kWords));
  std::shuffle(words.begin(), words.end(), rng);
  if (kind == TaskKind::kPasskey) {
    const std::string k = std::to_string(std::uniform_int_distribution<int>(1, 50000)(rng));
    t.instruction =
        "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
        "I will quiz you about the important information there.";
    t.needles.push_back({"The pass key is " + k + ". Remember it. " + k + " is the pass key.", depth});
    t.question = "What is the pass key?";
    t.answer_prefix = "The pass key is";
    t.answers = {k};
    t.max_new_tokens = 10;
    return t;
  }
  const std::string key = words[0];
  t.instruction =
      "Some special magic numbers are hidden within the following text. Make sure to memorize it. "
      "I will quiz you about the numbers afterwards.";
  if (kind == TaskKind::kMultiValue) {
    for (int i = 0; i < 4; ++i) {
      t.answers.push_back(Number7(rng));
      t.needles.push_back({MagicNeedle(key, t.answers.back()), i == 0 ? depth : any_depth(rng)});
    }
    t.question = "What are all the special magic numbers for " + key + " mentioned in the provided text?";
    t.answer_prefix = "The special magic numbers for " + key + " mentioned in the provided text are";
    t.max_new_tokens = 48;
    return t;
  }
  t.answers = {Number7(rng)};
  t.needles.push_back({MagicNeedle(key, t.answers[0]), depth});
  if (kind == TaskKind::kMultiKey)
    for (int i = 1; i < 4; ++i)
      t.needles.push_back({MagicNeedle(words[static_cast<size_t>(i)], Number7(rng)), any_depth(rng)});
  t.question = "What is the special magic number for " + key + " mentioned in the provided text?";
  t.answer_prefix = "The special magic number for " + key + " mentioned in the provided text is";
  t.max_new_tokens = 14;
  return t;
}

double ScoreResponse(TaskKind kind, const TaskInstance& task, const std::string& response) {
  if (kind == TaskKind::kPasskey) {
    size_t i = 0;
    while (i < response.size() && !std::isdigit(static_cast<unsigned char>(response[i]))) ++i;
    size_t j = i;
    while (j < response.size() && std::isdigit(static_cast<unsigned char>(response[j]))) ++j;
    return i < response.size() && response.substr(i, j - i) == task.answers[0] ? 1.0 : 0.0;
  }
  const std::string r = Lower(response);
  int hit = 0;
  for (const auto& a : task.answers) hit += r.find(Lower(a)) != std::string::npos ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(task.answers.size());
}

}  // namespace lm::niah
