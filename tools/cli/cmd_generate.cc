// `longmem generate`: continue a prompt (optionally wrapped in the chat template) and stream the text.
#include <cstdio>

#include "common.h"
#include "memory_options.h"
#include "runtime/generator.h"
#include "sampling_options.h"
#include "tokenizer/chat_template.h"

namespace lm::cli {

void RegisterGenerate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("generate", "generate text from a prompt");
  struct Opts {
    ModelOptions model;
    std::string prompt;
    int64_t n = 128;
    int64_t ctx = 0;
    bool chat = false;
    MemoryCliOptions memory;
    SamplingParams sampling;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("-p,--prompt", o->prompt, "prompt text")->required();
  cmd->add_option("-n,--n-predict", o->n, "tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-c,--ctx", o->ctx, "context size in tokens (default: the model's window)");
  cmd->add_flag("--chat", o->chat, "wrap the prompt as a user message in the model's chat template");
  AddMemoryOptions(*cmd, o->memory);
  AddSamplingOptions(*cmd, o->sampling);
  cmd->callback([&exit_code, o] {
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const Tokenizer& tok = *loaded->tokenizer;
    std::string text = o->prompt;
    if (o->chat) {
      auto rendered = ApplyChatTemplate(DetectChatFormat(tok.vocab().chat_template), {{"user", o->prompt}}, true);
      if (!rendered.ok()) {
        exit_code = Fail(rendered.status());
        return;
      }
      text = *rendered;
    }
    const auto ids = tok.Encode(text);
    const int64_t ctx = o->ctx > 0 ? o->ctx : loaded->model->config().n_ctx_train;
    MemoryOptions mo = o->memory.ToOptions();
    if (mo.kind == "dense") mo.n_ctx = ctx;
    // Only the dense cache is bounded by --ctx; the other strategies read past the window by design.
    if (mo.kind == "dense" && static_cast<int64_t>(ids.size()) + o->n > ctx) {
      exit_code = Fail(OutOfRange(StrCat("prompt of ", ids.size(), " tokens + ", o->n, " to generate exceeds the ",
                                         ctx, "-token context; hint: shorten the prompt, lower -n or raise --ctx")));
      return;
    }
    auto memory = MakeMemory(mo, loaded->model->config());
    if (!memory.ok()) {
      exit_code = Fail(memory.status());
      return;
    }
    auto session = std::make_unique<Session>(loaded->model, std::move(*memory));
    GenerateOptions go{.max_tokens = o->n, .sampling = o->sampling};
    auto stats = Generate(*session, tok, ids, go, [](int32_t, std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
    if (!stats.ok()) {
      exit_code = Fail(stats.status());
      return;
    }
    std::fprintf(stderr, "\nprompt: %lld tokens, %.1f tokens/s | generated: %lld tokens, %.1f tokens/s | peak RSS %s\n",
                 static_cast<long long>(stats->n_prompt), stats->prefill_tps(),
                 static_cast<long long>(stats->n_generated), stats->decode_tps(), HumanBytes(PeakRssBytes()).c_str());
  });
}

}  // namespace lm::cli
