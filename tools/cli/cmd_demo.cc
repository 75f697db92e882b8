// `longmem demo`: the README's main job. Loads the default model, answers a question through the chat
// template, measures perplexity and speed on a long public-domain text, then hides a needle in real text
// twice as long as the model's window and asks dense attention and ReAttention (LongCache) to find it — and
// LongMem too when --sidenet names a trained SideNet.
#include <cstdio>

#include "common.h"
#include "longmem_answerer.h"
#include "eval/niah/demo.h"
#include "eval/perplexity.h"
#include "ops/matmul.h"
#include "runtime/generator.h"
#include "tokenizer/chat_template.h"

namespace lm::cli {

void RegisterDemo(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("demo", "answer a question, then measure perplexity and speed on a long text");
  struct Opts {
    ModelOptions model;
    std::string question = "What is the capital of France?";
    std::string file;
    int64_t ctx = 1024;
    int64_t chunks = 4;
    int64_t long_length = 0;
    bool skip_long = false;
    LongMemSystemOptions longmem;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("-q,--question", o->question, "question to answer")->capture_default_str();
  cmd->add_option("-f,--file", o->file, "long text for perplexity (default: data/kjv.txt)");
  cmd->add_option("-c,--ctx", o->ctx, "perplexity window")->capture_default_str()->check(CLI::Range(16, 1 << 20));
  cmd->add_option("--chunks", o->chunks, "perplexity windows")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--long-length", o->long_length, "tokens of the long-memory test (default: twice the window)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 22));
  cmd->add_flag("--skip-long", o->skip_long, "skip the long-memory part (it takes a few minutes on 2 cores)");
  cmd->add_option("--sidenet", o->longmem.sidenet, "also answer with LongMem (a SideNet from `longmem train-sidenet`)");
  cmd->callback([&exit_code, o] {
    std::printf("== longmem demo ==\n");
    const double t0 = NowSeconds();
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const auto& model = loaded->model;
    const Tokenizer& tok = *loaded->tokenizer;
    std::printf("model: %s (%s)\n       %s\n       loaded in %.2f s with %d threads\n\n", model->source().c_str(),
                model->config().name.c_str(), DescribeConfig(model->config()).c_str(), NowSeconds() - t0,
                GlobalPoolThreads());

    auto prompt = ApplyChatTemplate(DetectChatFormat(tok.vocab().chat_template), {{"user", o->question}}, true);
    if (!prompt.ok()) {
      exit_code = Fail(prompt.status());
      return;
    }
    const auto ids = tok.Encode(*prompt);
    auto session = NewDenseSession(model, static_cast<int64_t>(ids.size()) + 128);
    std::printf("Q: %s\nA: ", o->question.c_str());
    std::fflush(stdout);
    GenerateOptions go{.max_tokens = 96, .sampling = {.temperature = 0.0f}};
    // The answer's first token is a near-tie for this model ("The" leads by 0.08 logits), which the int8
    // activation rounding of the fast matmul path flips; a 37-token prompt costs nothing in exact f32.
    ops::SetMatMulMode(ops::MatMulMode::kExact);
    auto stats = Generate(*session, tok, ids, go, [](int32_t, std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    ops::SetMatMulMode(ops::MatMulMode::kFast);
    if (!stats.ok()) {
      exit_code = Fail(stats.status());
      return;
    }
    std::printf("\n   [prompt %lld tokens at %.1f tokens/s; answer %lld tokens at %.1f tokens/s, greedy, exact f32 "
                "activations]\n\n",
                static_cast<long long>(stats->n_prompt), stats->prefill_tps(),
                static_cast<long long>(stats->n_generated), stats->decode_tps());
    std::fflush(stdout);  // progress lines go to stderr; keep the two streams in order

    const std::string path = o->file.empty() ? DefaultTextPath() : o->file;
    auto text = ReadTextFile(path);
    if (!text.ok()) {
      exit_code = Fail(text.status());
      return;
    }
    const double tt = NowSeconds();
    const auto all = tok.Encode(*text, {.add_bos = true, .parse_special = false});
    std::printf("long text: %s, %zu tokens (tokenized in %.2f s)\n", path.c_str(), all.size(), NowSeconds() - tt);
    std::fflush(stdout);
    PerplexityOptions po{.n_ctx = o->ctx, .max_windows = o->chunks,
                         .bos_id = tok.vocab().add_bos ? tok.bos() : -1};
    po.on_progress = [](int64_t done, int64_t total, double ppl) {
      std::fprintf(stderr, "\r  window %lld/%lld, running PPL %.3f", static_cast<long long>(done),
                   static_cast<long long>(total), ppl);
    };
    auto r = Perplexity(model, all, po);
    std::fprintf(stderr, "\n");
    if (!r.ok()) {
      exit_code = Fail(r.status());
      return;
    }
    std::printf("PPL = %.4f +/- %.4f over %lld windows of %lld tokens, %.1f tokens/s\n", r->ppl,
                r->ppl * r->nll_stderr, static_cast<long long>(r->n_windows), static_cast<long long>(o->ctx),
                r->tokens_per_second);
    std::printf("peak RSS: %s\n", HumanBytes(PeakRssBytes()).c_str());
    if (o->skip_long) return;

    // Long memory: the same needle in the same real text, read by each strategy.
    niah::PasskeyDemoOptions long_options{.length = o->long_length};
    if (!o->longmem.sidenet.empty()) {
      std::string name;
      auto answer = LongMemAnswerer(*loaded, o->longmem, &name);
      if (!answer.ok()) {
        exit_code = Fail(answer.status());
        return;
      }
      long_options.extra.push_back({name, std::move(*answer)});
    }
    long_options.print = [](const std::string& line) { std::printf("  %s\n", line.c_str()); std::fflush(stdout); };
    std::printf("\nlong memory: a needle at half depth in %lld tokens of %s (the model's window is %lld)\n",
                static_cast<long long>(o->long_length > 0 ? o->long_length : 2 * model->config().n_ctx_train),
                path.c_str(), static_cast<long long>(model->config().n_ctx_train));
    auto rows = niah::RunPasskeyDemo(model, tok, *text, long_options);
    if (!rows.ok()) {
      exit_code = Fail(rows.status());
      return;
    }
    std::printf("\n  %-64s %-8s %-12s %-10s %s\n", "strategy", "found", "KV memory", "time", "answer");
    for (const auto& row : *rows) {
      std::string answer = row.cell.response.substr(0, 40);
      for (char& ch : answer) ch = ch == '\n' ? ' ' : ch;
      std::printf("  %-64s %-8s %-12s %7.1f s  %s (expected %s)\n", row.strategy.substr(0, 64).c_str(),
                  row.cell.score > 0.5 ? "yes" : "no", HumanBytes(row.cell.kv_bytes).c_str(),
                  row.cell.prefill_seconds + row.cell.decode_seconds, answer.c_str(), row.cell.expected.c_str());
    }
  });
}

}  // namespace lm::cli
