// Generation loop implementation.
#include "runtime/generator.h"

#include "core/clock.h"
#include "runtime/utf8_stream.h"

namespace lm {

Result<GenerateStats> Generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                               const GenerateOptions& options, const TokenCallback& on_token,
                               std::vector<int32_t>* generated) {
  LM_RETURN_IF_ERROR(ValidateSamplingParams(options.sampling));
  if (options.max_tokens < 0) return InvalidArgument(StrCat("generate: max tokens ", options.max_tokens, " < 0"));
  GenerateStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt.size());
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  const double t0 = NowSeconds();
  if (!prompt.empty()) {
    LM_RETURN_IF_ERROR(session.memory().CanAppend(static_cast<int64_t>(prompt.size())));
    LM_RETURN_IF_ERROR(session.Prefill(prompt, options.prefill_batch));
  } else if (session.logits().empty()) {
    return InvalidArgument("generate: empty prompt and no previous state to continue from");
  }
  const double t1 = NowSeconds();
  stats.prefill_seconds = t1 - t0;

  Sampler sampler(options.sampling);
  Utf8Stream stream;
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    const int32_t tok = sampler.Sample(session.logits(), history);
    if (options.stop_at_end_of_generation && tokenizer.IsEndOfGeneration(tok)) {
      stats.stopped_at_eog = true;
      break;
    }
    history.push_back(tok);
    if (generated) generated->push_back(tok);
    ++stats.n_generated;
    const std::string text = stream.Push(tokenizer.TokenBytes(tok));
    if (on_token && !on_token(tok, text)) break;
    if (i + 1 == options.max_tokens) break;  // the last token needs no forward pass
    LM_RETURN_IF_ERROR(session.Decode(tok));
  }
  if (on_token) {
    const std::string rest = stream.Flush();
    if (!rest.empty()) on_token(-1, rest);
  }
  stats.decode_seconds = NowSeconds() - t1;
  return stats;
}

}  // namespace lm
