// `longmem ppl`: perplexity over a text file, computed like llama.cpp's perplexity tool.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>

#include "common.h"
#include "eval/perplexity.h"
#include "memory_options.h"

namespace lm::cli {
namespace {

Status WriteNllFile(const std::string& path, std::span<const float> nll) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return IoError(StrCat("ppl: cannot open --nll-file ", path, ": ", std::strerror(errno),
                          "; hint: check that its directory exists"));
  }
  for (float v : nll) std::fprintf(f, "%.6f\n", v);
  if (std::fclose(f) != 0) return IoError(StrCat("ppl: writing --nll-file ", path, " failed: ", std::strerror(errno)));
  return OkStatus();
}

}  // namespace

void RegisterPpl(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("ppl", "perplexity of a text (llama.cpp-compatible windows)");
  struct Opts {
    ModelOptions model;
    std::string file;
    int64_t ctx = 2048;
    int64_t chunks = -1;
    int64_t batch = 512;
    int64_t decode_tail = 0;
    std::string nll_file;
    bool json = false;
    MemoryCliOptions memory;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("-f,--file", o->file, "text file (default: data/kjv.txt)");
  cmd->add_option("-c,--ctx", o->ctx, "window size in tokens")->capture_default_str()->check(CLI::Range(4, 1 << 20));
  cmd->add_option("--chunks", o->chunks, "windows to evaluate (-1: all)")->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "prefill micro-batch")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--decode-tail", o->decode_tail,
                  "score only each window's last N tokens, read one per step as generation reads them")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--nll-file", o->nll_file, "write each scored token's NLL, one per line (for paired comparisons)");
  cmd->add_flag("--json", o->json, "print the result as JSON");
  AddMemoryOptions(*cmd, o->memory);
  cmd->callback([&exit_code, o] {
    const std::string path = o->file.empty() ? DefaultTextPath() : o->file;
    auto text = ReadTextFile(path);
    if (!text.ok()) {
      exit_code = Fail(text.status());
      return;
    }
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const Tokenizer& tok = *loaded->tokenizer;
    const double t0 = NowSeconds();
    MemoryOptions mo = o->memory.ToOptions();
    if (mo.kind == "dense" || !mo.n_ctx) mo.n_ctx = o->ctx;  // every cache sized once for the window
    if (auto d = DescribeMemory(mo, loaded->model->config()); !d.ok()) {  // bad options fail before tokenising
      exit_code = Fail(d.status());
      return;
    }
    const auto ids = tok.Encode(*text, {.add_bos = true, .parse_special = false});
    std::fprintf(stderr, "tokenized %s: %zu tokens in %.2f s\n", path.c_str(), ids.size(), NowSeconds() - t0);
    PerplexityOptions po{.n_ctx = o->ctx,
                         .max_windows = o->chunks,
                         .batch = o->batch,
                         .decode_tail = o->decode_tail,
                         .bos_id = tok.vocab().add_bos ? tok.bos() : -1,
                         .kv_type = o->memory.kv_type};
    if (mo.kind != "dense") {
      auto model = loaded->model;
      po.make_memory = [mo, model] { return MakeMemory(mo, model->config()); };
    }
    const double start = NowSeconds();
    po.on_progress = [start](int64_t done, int64_t total, double ppl) {
      const double el = NowSeconds() - start;
      std::fprintf(stderr, "\r[%lld/%lld] ppl %.4f  %.0f s elapsed, ETA %.0f s   ", static_cast<long long>(done),
                   static_cast<long long>(total), ppl, el, el / static_cast<double>(done) * static_cast<double>(total - done));
    };
    auto r = Perplexity(loaded->model, ids, po);
    std::fprintf(stderr, "\n");
    if (!r.ok()) {
      exit_code = Fail(r.status());
      return;
    }
    if (!o->nll_file.empty()) {
      if (Status st = WriteNllFile(o->nll_file, r->token_nll); !st.ok()) {
        exit_code = Fail(st);
        return;
      }
    }
    if (o->json) {
      std::printf("{\"file\": \"%s\", \"n_ctx\": %lld, \"decode_tail\": %lld, \"n_windows\": %lld, "
                  "\"n_scored\": %lld, \"ppl\": %.6f, "
                  "\"nll_mean\": %.6f, \"nll_stderr\": %.6f, \"tokens_per_second\": %.2f, \"peak_rss_bytes\": %llu}\n",
                  path.c_str(), static_cast<long long>(o->ctx), static_cast<long long>(o->decode_tail),
                  static_cast<long long>(r->n_windows),
                  static_cast<long long>(r->n_scored), r->ppl, r->nll_mean, r->nll_stderr, r->tokens_per_second,
                  static_cast<unsigned long long>(PeakRssBytes()));
    } else {
      std::printf("PPL = %.4f +/- %.4f over %lld windows of %lld tokens (%lld scored), %.1f tokens/s\n", r->ppl,
                  r->ppl * r->nll_stderr, static_cast<long long>(r->n_windows), static_cast<long long>(o->ctx),
                  static_cast<long long>(r->n_scored), r->tokens_per_second);
    }
  });
}

}  // namespace lm::cli
