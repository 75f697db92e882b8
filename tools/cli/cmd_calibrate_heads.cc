// `longmem calibrate-heads`: measures RazorAttention's echo and induction score of every KV head on
// repeated random tokens (spec B.2) and writes the head profile that `--memory razor` reads.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "common.h"
#include "long_commands.h"
#include "memory/memory_factory.h"
#include "memory/razor/head_calibration.h"
#include "model/forward.h"
#include "runtime/session.h"

namespace lm::cli {

void RegisterCalibrateHeads(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("calibrate-heads", "score retrieval heads (echo/induction) for --memory razor");
  struct Opts {
    ModelOptions model;
    std::string out;
    int64_t segment = 0, repeats = 4, rows = 512;
    uint32_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("-o,--output", o->out, "head profile to write (JSON)")->required();
  cmd->add_option("--segment", o->segment, "random tokens per copy (default min(2500, (window-1)/repeats))");
  cmd->add_option("--repeats", o->repeats, "copies of the segment")->capture_default_str()->check(CLI::Range(2, 64));
  cmd->add_option("--rows", o->rows, "query rows sampled per layer")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
  cmd->callback([&exit_code, o] {
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const ModelConfig& c = loaded->model->config();
    const Tokenizer& tok = *loaded->tokenizer;
    const int32_t bos = tok.vocab().add_bos || tok.bos() >= 0 ? tok.bos() : -1;
    const int64_t first = bos >= 0 ? 1 : 0;
    CalibrationParams cp{.repeats = o->repeats, .seed = o->seed, .rows = o->rows};
    cp.segment = o->segment > 0 ? o->segment : std::min<int64_t>(2500, (c.n_ctx_train - first) / o->repeats);
    if (first + cp.segment * cp.repeats > c.n_ctx_train) {
      exit_code = Fail(
          InvalidArgument(StrCat("calibrate-heads: ", cp.segment, " x ", cp.repeats,
                                 " tokens exceed the model's window of ", c.n_ctx_train, "; hint: lower --segment")));
      return;
    }
    // The reference draws ids from [10000, 12500]; keep that range when the vocabulary has it.
    cp.token_hi = static_cast<int32_t>(std::min<int64_t>(12500, c.n_vocab - 1));
    cp.token_lo = static_cast<int32_t>(std::min<int64_t>(10000, c.n_vocab / 2));
    const auto tokens = CalibrationTokens(cp, bos >= 0 ? bos : -1);
    auto probe = std::make_unique<HeadScoreProbe>(GeometryOf(c), cp, first);
    HeadScoreProbe* raw = probe.get();
    Session session(loaded->model, std::move(probe));
    std::fprintf(stderr, "calibrating %s on %zu tokens (%lld x %lld random ids in [%d, %d]) ...\n", c.name.c_str(),
                 tokens.size(), static_cast<long long>(cp.repeats), static_cast<long long>(cp.segment), cp.token_lo,
                 cp.token_hi);
    const double t0 = NowSeconds();
    if (auto s = session.Prefill(tokens, 512); !s.ok()) {
      exit_code = Fail(s);
      return;
    }
    HeadProfile p{.model = IdentityOf(c),
                  .segment = cp.segment,
                  .repeats = cp.repeats,
                  .rows_sampled = raw->rows_sampled(),
                  .seed = cp.seed,
                  .echo = raw->echo(),
                  .induction = raw->induction()};
    if (auto s = WriteHeadProfile(o->out, p); !s.ok()) {
      exit_code = Fail(s);
      return;
    }
    const auto mask = SelectRetrievalHeads(p, 0.01, 0.14);
    std::printf("wrote %s in %.1f s: %lld layers x %lld KV heads, %lld retrieval heads at the default ratios:\n",
                o->out.c_str(), NowSeconds() - t0, static_cast<long long>(c.n_layer),
                static_cast<long long>(c.n_head_kv),
                static_cast<long long>(std::accumulate(mask.begin(), mask.end(), int64_t{0})));
    for (size_t i = 0; i < mask.size(); ++i)
      if (mask[i])
        std::printf("  layer %2zu kv head %zu  echo %.3g  induction %.3g\n", i / static_cast<size_t>(c.n_head_kv),
                    i % static_cast<size_t>(c.n_head_kv), p.echo[i], p.induction[i]);
  });
}

}  // namespace lm::cli
