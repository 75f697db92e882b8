// LongMem answerer for the needle grid: fresh bank per prompt, greedy SideNet generation.
#include "longmem_answerer.h"

#include "common.h"
#include "core/str.h"
#include "sidenet/generate.h"

namespace lm::cli {

Result<niah::Answerer> LongMemAnswerer(const LoadedModel& loaded, const LongMemSystemOptions& o,
                                       std::string* description) {
  if (o.sidenet.empty())
    return InvalidArgument("--memory longmem needs --sidenet PATH (sidenet.safetensors from `longmem train-sidenet`)");
  auto opened = OpenLongMem(loaded, o.sidenet, o.memory, "--memory longmem");
  if (!opened.ok()) return opened.status();
  const sidenet::MemoryConfig mc = opened->memory;
  std::shared_ptr<sidenet::SideNet> side = std::move(opened->side);
  std::shared_ptr<sidenet::LongMem> shared = std::move(opened->lm);
  *description = StrCat("longmem sidenet=", o.sidenet, " csz=", mc.chunk_size, " K=", mc.retrieve_tokens,
                        " M=", mc.capacity_tokens, " segment=", o.segment);
  const Tokenizer* tok = loaded.tokenizer.get();
  const int64_t segment = o.segment;
  return niah::Answerer([side, shared, tok, segment](std::span<const int32_t> prompt, int64_t max_new,
                                                     const niah::AnswerDone& done,
                                                     const niah::AfterPrompt&) -> Result<niah::Answer> {
    shared->ResetMemory();
    niah::Answer a;
    sidenet::GenerateOptions go{.segment = segment, .max_tokens = max_new, .sampling = {.temperature = 0.0f}};
    go.on_token = [&](int32_t) { return !done(a.tokens); };
    // Generate appends to a.tokens before calling on_token, so `done` sees the answer so far.
    auto st = sidenet::Generate(*shared, *tok, prompt, go, &a.tokens);
    if (!st.ok()) return st.status();
    a.prefill_seconds = st->read_seconds;
    a.decode_seconds = st->generate_seconds;
    a.kv_bytes = shared->bank().stored_bytes();  // what is held, not the capacity allocated up front
    return a;
  });
}

}  // namespace lm::cli
