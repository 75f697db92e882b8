// LongMem generation: memorise whole segments, then sample from the SideNet over the local window.
#include "sidenet/generate.h"

#include "core/clock.h"
#include "core/str.h"

namespace lm::sidenet {

Result<GenerateStats> Generate(LongMem& lm, const Tokenizer& tok, std::span<const int32_t> input,
                               const GenerateOptions& o, std::vector<int32_t>* generated) {
  const ModelConfig& c = lm.backbone().config();
  if (o.segment < 2 || o.segment > c.n_ctx_train)
    return InvalidArgument(StrCat("longmem: segment of ", o.segment, " tokens must lie in [2, ", c.n_ctx_train, "]"));
  if (input.empty()) return InvalidArgument("longmem: empty input; hint: give a file or a prompt");
  LM_RETURN_IF_ERROR(ValidateSamplingParams(o.sampling));
  GenerateStats st;
  st.n_input = static_cast<int64_t>(input.size());
  const size_t seg = static_cast<size_t>(o.segment);
  size_t start = 0;
  double t = NowSeconds();
  if (o.use_memory) {
    while (input.size() - start > seg) {
      LM_RETURN_IF_ERROR(lm.Memorize(input.subspan(start, seg)));
      start += seg;
      ++st.memorized_segments;
    }
  } else if (input.size() > seg) {
    start = input.size() - seg;  // without memory only the local window can be seen
  }
  st.read_seconds = NowSeconds() - t;

  std::vector<int32_t> local(input.begin() + static_cast<std::ptrdiff_t>(start), input.end());
  std::vector<float> hidden(seg * static_cast<size_t>(c.n_embd)), logits(static_cast<size_t>(c.n_vocab));
  Sampler sampler(o.sampling);
  std::vector<int32_t> history(input.begin(), input.end());
  t = NowSeconds();
  for (int64_t i = 0; i < o.max_tokens; ++i) {
    if (local.size() >= seg) {
      const size_t half = local.size() / 2;
      if (o.use_memory) LM_RETURN_IF_ERROR(lm.Memorize(std::span<const int32_t>(local.data(), half)));
      local.erase(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(half));
    }
    auto s = lm.Segment(local, {.use_memory = o.use_memory, .write_memory = false, .final_hidden = hidden.data()});
    if (!s.ok()) return s.status();
    st.retrieved = s->retrieved;
    lm.side().Logits(hidden.data() + (local.size() - 1) * static_cast<size_t>(c.n_embd), 1, logits.data());
    const int32_t next = sampler.Sample(logits, history);
    if (tok.IsEndOfGeneration(next)) {
      st.stopped_at_eog = true;
      break;
    }
    generated->push_back(next);
    history.push_back(next);
    local.push_back(next);
    if (o.on_token && !o.on_token(next)) break;
  }
  st.generate_seconds = NowSeconds() - t;
  return st;
}

}  // namespace lm::sidenet
