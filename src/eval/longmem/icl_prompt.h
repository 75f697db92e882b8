// ICL prompts and label scoring. Demonstrations are encoded one by one and concatenated (the official
// evaluation encodes each on its own too), so a demonstration's tokens never depend on its neighbours.
// A prediction is the label whose first token (of " label") has the highest logit after the query; the
// official code's full-vocabulary rule (argmax over every token, correct when the gold label starts with
// the decoded, stripped token) is reported beside it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "eval/longmem/icl_task.h"

namespace lm::eval_longmem {

// The tokenizer as the evaluation needs it (tests use a byte codec with a tiny model).
struct IclCodec {
  std::function<std::vector<int32_t>(std::string_view)> encode;  // no BOS
  std::function<std::string(int32_t)> decode;
};

std::string DemoText(const IclTemplate& t, const std::string& x, const std::string& label);
std::string QueryText(const IclTemplate& t, const std::string& x);
// starts (optional): where each demonstration begins in the result, plus its total length at the end.
std::vector<int32_t> EncodeDemos(const IclCodec& codec, const IclTask& task, std::span<const IclExample> demos,
                                 std::vector<int64_t>* starts = nullptr);

// First token of " label" for each label; InvalidArgument when two labels share it (the restricted argmax
// could not tell them apart).
Result<std::vector<int32_t>> LabelFirstTokens(const IclCodec& codec, std::span<const std::string> labels);

struct IclPrediction {
  int32_t label = 0;              // restricted argmax over the labels' first tokens
  bool full_vocab_correct = false;
  std::string full_vocab_token;   // the decoded full-vocabulary argmax
};
IclPrediction Predict(std::span<const float> logits, std::span<const int32_t> label_tokens, const IclCodec& codec,
                      const std::string& gold_label);

}  // namespace lm::eval_longmem
