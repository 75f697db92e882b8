// Prompt text, demo encoding and label scoring.
#include "eval/longmem/icl_prompt.h"

#include <algorithm>

#include "core/str.h"

namespace lm::eval_longmem {

std::string DemoText(const IclTemplate& t, const std::string& x, const std::string& label) {
  return StrCat(t.input_prefix, x, t.label_prefix, " ", label, ". ");
}

std::string QueryText(const IclTemplate& t, const std::string& x) { return StrCat(t.input_prefix, x, t.label_prefix); }

std::vector<int32_t> EncodeDemos(const IclCodec& codec, const IclTask& task, std::span<const IclExample> demos,
                                 std::vector<int64_t>* starts) {
  std::vector<int32_t> ids;
  if (starts) starts->clear();
  for (const IclExample& d : demos) {
    if (starts) starts->push_back(static_cast<int64_t>(ids.size()));
    const auto one = codec.encode(DemoText(task.tmpl, d.x, task.labels[static_cast<size_t>(d.label)]));
    ids.insert(ids.end(), one.begin(), one.end());
  }
  if (starts) starts->push_back(static_cast<int64_t>(ids.size()));
  return ids;
}

Result<std::vector<int32_t>> LabelFirstTokens(const IclCodec& codec, std::span<const std::string> labels) {
  std::vector<int32_t> first;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto ids = codec.encode(" " + labels[i]);
    if (ids.empty()) return InvalidArgument(StrCat("icl: label '", labels[i], "' encodes to no token"));
    for (size_t j = 0; j < first.size(); ++j)
      if (first[j] == ids[0])
        return InvalidArgument(StrCat("icl: labels '", labels[j], "' and '", labels[i], "' start with the same token ",
                                      ids[0], "; hint: choose label words with distinct first tokens"));
    first.push_back(ids[0]);
  }
  return first;
}

IclPrediction Predict(std::span<const float> logits, std::span<const int32_t> label_tokens, const IclCodec& codec,
                      const std::string& gold_label) {
  IclPrediction p;
  for (size_t i = 1; i < label_tokens.size(); ++i)
    if (logits[static_cast<size_t>(label_tokens[i])] > logits[static_cast<size_t>(label_tokens[static_cast<size_t>(p.label)])])
      p.label = static_cast<int32_t>(i);
  const auto best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::string tok = codec.decode(best);
  const size_t a = tok.find_first_not_of(" \t\n\r"), b = tok.find_last_not_of(" \t\n\r");
  tok = a == std::string::npos ? std::string() : tok.substr(a, b - a + 1);
  p.full_vocab_token = tok;
  p.full_vocab_correct = !tok.empty() && gold_label.compare(0, tok.size(), tok) == 0;
  return p;
}

}  // namespace lm::eval_longmem
