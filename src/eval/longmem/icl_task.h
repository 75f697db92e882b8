// In-context-learning tasks for LongMem's memory-augmented ICL evaluation (spec §7.1): labelled inputs, a
// prompt template, the label words, and a fixed train/test split. Tasks come from word lists shipped by
// Debian packages (scripts/setup.sh writes data/eval/icl-*.tsv) or are synthetic:
//   sentiment  Bing lexicon words → positive / negative, "Review: {x} Sentiment: {y}. "
//   pos        common words → noun / verb / adjective / adverb (Moby), "Input: {x} Type: {y}. "
//   mapping    the same words → an arbitrary colour, fixed per word; test items are drawn from the memory
//              demonstrations, so memory is the only source of the answer (a clean retrieval probe).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm::eval_longmem {

// demonstration: input_prefix + x + label_prefix + " " + y + ". "; query: input_prefix + x + label_prefix.
struct IclTemplate {
  std::string input_prefix = "Review: ";
  std::string label_prefix = " Sentiment:";
};

struct IclExample {
  std::string x;
  int32_t label = 0;  // index into IclTask::labels
};

struct IclTask {
  std::string name;
  IclTemplate tmpl;
  std::vector<std::string> labels;
  std::vector<IclExample> train, test;
  bool test_in_memory = false;  // test items are sampled from the memory demonstrations (mapping probe)
};

// Lines "x<TAB>label"; labels are the distinct second fields, sorted. A seeded shuffle puts test_fraction
// of the items in the test split.
Result<IclTask> LoadTsvTask(const std::string& name, const std::string& path, const IclTemplate& t,
                            uint64_t split_seed = 7, double test_fraction = 0.2);
// Each word gets one of `labels` at random (seeded); every word is in train (test items come from memory).
IclTask MakeMappingTask(std::span<const std::string> words, std::vector<std::string> labels, uint64_t seed = 7);
// sentiment | pos | mapping, reading data_dir/icl-sentiment.tsv or data_dir/icl-pos.tsv.
Result<IclTask> MakeNamedTask(const std::string& name, const std::string& data_dir);

// Portable seeded helpers (std::shuffle's results differ between standard libraries).
void SeededShuffle(std::vector<int64_t>& v, uint64_t seed);
// n distinct indices of [0, size) in random order (n <= size).
std::vector<int64_t> SampleIndices(int64_t size, int64_t n, uint64_t seed);

}  // namespace lm::eval_longmem
