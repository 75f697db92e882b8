// `longmem chat`: an interactive conversation; the cache is reused across turns when the rendered
// conversation extends what is already cached.
#include <cstdio>
#include <iostream>

#include "common.h"
#include "runtime/generator.h"
#include "sampling_options.h"
#include "tokenizer/chat_template.h"

namespace lm::cli {

void RegisterChat(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("chat", "chat with the model (reads lines from standard input)");
  struct Opts {
    ModelOptions model;
    std::string system;
    int64_t n = 256;
    int64_t ctx = 0;
    SamplingParams sampling;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("--system", o->system, "system prompt (default: the template's own)");
  cmd->add_option("-n,--n-predict", o->n, "max tokens per answer")->capture_default_str();
  cmd->add_option("-c,--ctx", o->ctx, "context size (default: the model's window)");
  AddSamplingOptions(*cmd, o->sampling);
  cmd->callback([&exit_code, o] {
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const Tokenizer& tok = *loaded->tokenizer;
    const ChatFormat format = DetectChatFormat(tok.vocab().chat_template);
    const int64_t ctx = o->ctx > 0 ? o->ctx : loaded->model->config().n_ctx_train;
    auto session = NewDenseSession(loaded->model, ctx);
    std::vector<ChatMessage> messages;
    if (!o->system.empty()) messages.push_back({"system", o->system});
    std::vector<int32_t> cached;  // tokens whose K/V the session holds
    std::fprintf(stderr, "longmem chat: type a message, an empty line or Ctrl-D ends.\n");
    std::string line;
    while (std::fprintf(stderr, "> "), std::getline(std::cin, line)) {
      if (line.empty()) break;
      messages.push_back({"user", line});
      auto rendered = ApplyChatTemplate(format, messages, true);
      if (!rendered.ok()) {
        exit_code = Fail(rendered.status());
        return;
      }
      const auto ids = tok.Encode(*rendered);
      size_t common = 0;
      while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
      if (common < cached.size()) {  // the history re-tokenised differently: start over
        session->Reset();
        cached.clear();
        common = 0;
      }
      std::vector<int32_t> fresh(ids.begin() + static_cast<std::ptrdiff_t>(common), ids.end());
      if (session->n_past() + static_cast<int64_t>(fresh.size()) + o->n > ctx) {
        std::fprintf(stderr, "longmem: the conversation would exceed the %lld-token context; starting over\n",
                     static_cast<long long>(ctx));
        messages.erase(messages.begin(), messages.end() - 1);
        session->Reset();
        cached.clear();
        auto again = ApplyChatTemplate(format, messages, true);
        fresh = tok.Encode(again.ok() ? *again : line);
      }
      std::string answer;
      std::vector<int32_t> generated;
      GenerateOptions go{.max_tokens = o->n, .sampling = o->sampling};
      auto stats = Generate(*session, tok, fresh, go, [&](int32_t, std::string_view piece) {
        answer += piece;
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      }, &generated);
      std::printf("\n");
      if (!stats.ok()) {
        exit_code = Fail(stats.status());
        return;
      }
      cached.insert(cached.end(), fresh.begin(), fresh.end());
      // Generated tokens that went through the model (the last sampled one may not have).
      const auto decoded = static_cast<size_t>(session->n_past()) - cached.size();
      cached.insert(cached.end(), generated.begin(), generated.begin() + static_cast<std::ptrdiff_t>(decoded));
      messages.push_back({"assistant", answer});
      std::fprintf(stderr, "[%lld tokens, %.1f tokens/s]\n", static_cast<long long>(stats->n_generated),
                   stats->decode_tps());
    }
  });
}

}  // namespace lm::cli
