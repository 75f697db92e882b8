// `longmem eval-ppl`: long-text perplexity by length bucket, LongMem against its baselines on the same
// held-out documents (e.g. data/eval/austen-*.txt): the backbone limited to the segment window, the backbone
// with its native window (sliding), the backbone reading whole documents through a long-context memory
// strategy, the SideNet without memory and LongMem with memory (reset per document). Prints a table and
// writes JSON and an SVG chart (PPL vs bucket, 95% bootstrap intervals).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common.h"
#include "core/str.h"
#include "eval/longmem/ppl_report.h"
#include "eval/longmem/sidenet_info.h"
#include "eval_options.h"
#include "longmem_commands.h"
#include "memory_options.h"

namespace lm::cli {

namespace {

namespace el = eval_longmem;

struct Opts {
  ModelOptions model;
  std::string sidenet, buckets = "4096,16384,65536", doc_lengths, systems = "window,dense,strategy,sidenet,longmem";
  std::vector<std::string> docs;
  int64_t segment = 512, max_tokens = 0, max_docs = 0, dense_ctx = 0, dense_stride = 0, resamples = 1000;
  uint64_t seed = 1;
  std::string json, plot;
  CLI::Option* json_opt = nullptr;
  MemoryCliOptions strategy;
  EvalMemorySweep sweep;
};

Result<std::vector<el::PplSystem>> MakeSystems(const Opts& o, const ModelConfig& c, sidenet::SideNet* side) {
  std::vector<el::PplSystem> out;
  for (const std::string& name : SplitNames(o.systems)) {
    if (name == "window") {
      out.push_back({.name = StrCat("backbone window ", o.segment), .kind = el::PplSystemKind::kBackboneWindow,
                     .window = {.ctx = o.segment, .stride = o.segment}});
    } else if (name == "dense") {
      const int64_t ctx = o.dense_ctx > 0 ? o.dense_ctx : c.n_ctx_train;
      const int64_t stride = o.dense_stride > 0 ? o.dense_stride : std::max<int64_t>(1, ctx / 2);
      out.push_back({.name = StrCat("backbone dense ", ctx, "/", stride), .kind = el::PplSystemKind::kBackboneDense,
                     .window = {.ctx = ctx, .stride = stride}});
    } else if (name == "strategy") {
      MemoryOptions mo = o.strategy.ToOptions();
      out.push_back({.name = StrCat("backbone + ", mo.kind), .kind = el::PplSystemKind::kStrategy, .strategy = mo});
    } else if (name == "sidenet") {
      out.push_back({.name = "sidenet (no memory)", .kind = el::PplSystemKind::kSideNet});
    } else if (name == "longmem") {
      if (!side) return InvalidArgument("eval-ppl: system 'longmem' needs --sidenet PATH");
      auto mems = o.sweep.Expand(*side);
      if (!mems.ok()) return mems.status();
      for (const auto& m : *mems)
        out.push_back({.name = StrCat("longmem csz", m.chunk_size, " K", m.retrieve_tokens, " M", m.capacity_tokens,
                                      m.query == sidenet::RetrievalQuery::kCentred ? " qc" : ""),
                       .kind = el::PplSystemKind::kLongMem, .memory = m});
    } else {
      return InvalidArgument(StrCat("eval-ppl: unknown system '", name,
                                    "'; hint: --systems from window,dense,strategy,sidenet,longmem"));
    }
  }
  return out;
}

Status Run(const Opts& o) {
  if (o.docs.empty()) return InvalidArgument("eval-ppl: --docs FILE... is required (e.g. data/eval/austen-*.txt)");
  auto buckets = el::LengthBuckets::Parse(o.buckets);
  if (!buckets.ok()) return buckets.status();
  std::vector<int64_t> lengths;
  if (!o.doc_lengths.empty()) {
    auto l = el::ParseIntList(o.doc_lengths, "--doc-lengths");
    if (!l.ok()) return l.status();
    lengths = *l;
  }
  auto loaded = LoadForCli(o.model);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<sidenet::SideNet> side;
  const auto names = SplitNames(o.systems);
  const bool needs_side = std::find(names.begin(), names.end(), "sidenet") != names.end() ||
                          std::find(names.begin(), names.end(), "longmem") != names.end();
  if (needs_side) {
    if (o.sidenet.empty()) return InvalidArgument("eval-ppl: --sidenet PATH is required for the sidenet/longmem systems");
    auto s = LoadSideNetForEval(*loaded, o.sidenet, o.sweep.memory_layer);
    if (!s.ok()) return s.status();
    side = std::move(*s);
  }
  const ModelConfig& c = loaded->model->config();
  auto systems = MakeSystems(o, c, side.get());
  if (!systems.ok()) return systems.status();

  std::vector<el::PplDocument> docs;
  for (const std::string& f : o.docs) {
    auto text = ReadTextFile(f);
    if (!text.ok()) return text.status();
    const auto ids = loaded->tokenizer->Encode(*text, {.add_bos = true, .parse_special = false});
    auto cut = el::CutDocuments(std::filesystem::path(f).stem().string(), ids, lengths, o.max_tokens);
    if (o.max_docs > 0 && static_cast<int64_t>(cut.size()) > o.max_docs) cut.resize(static_cast<size_t>(o.max_docs));
    for (auto& d : cut) {
      if (o.max_tokens > 0 && static_cast<int64_t>(d.tokens.size()) > o.max_tokens) d.tokens.resize(static_cast<size_t>(o.max_tokens));
      if (d.tokens.size() >= 2) docs.push_back(std::move(d));
    }
  }
  int64_t total = 0;
  for (const auto& d : docs) total += static_cast<int64_t>(d.tokens.size());
  std::fprintf(stderr, "eval-ppl: %zu documents, %lld tokens, %zu systems, segment %lld\n", docs.size(),
               static_cast<long long>(total), systems->size(), static_cast<long long>(o.segment));
  if (side) std::fprintf(stderr, "eval-ppl: %s\n", el::GateSummary(*side).c_str());

  const double t0 = NowSeconds();
  el::PplEvalOptions eo{.segment = o.segment, .buckets = *buckets,
                        .bootstrap = {.n_resamples = o.resamples, .seed = o.seed}, .systems = *systems};
  eo.on_progress = [t0](const std::string& what) {
    std::fprintf(stderr, "[%6.0f s] %s\n", NowSeconds() - t0, what.c_str());
  };
  auto rep = el::RunPplEval(loaded->model, side.get(), docs, eo);
  if (!rep.ok()) return rep.status();
  std::printf("%s", el::FormatPplTable(*rep).c_str());

  nlohmann::json j = el::PplReportJson(*rep);
  j["model"] = o.model.model.empty() ? DefaultModelPath() : o.model.model;
  j["threads"] = GlobalPoolThreads();
  j["revision"] = GitRevision();
  if (side) j["sidenet"] = el::SideNetInfoJson(*side, o.sidenet);
  LM_RETURN_IF_ERROR(WriteEvalReport("eval-ppl", j, o.json, o.json_opt && o.json_opt->count() > 0, o.plot,
                                     el::PplChart(*rep, StrCat("perplexity by document length (segment ", o.segment, ")"))));
  return OkStatus();
}

}  // namespace

void RegisterEvalPpl(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("eval-ppl", "LongMem evaluation: perplexity by document length vs baselines");
  auto o = std::make_shared<Opts>();
  o->strategy.kind = "reattention";
  AddModelOptions(*cmd, o->model);
  cmd->add_option("--sidenet", o->sidenet, "trained SideNet (sidenet.safetensors from train-sidenet)");
  cmd->add_option("--docs", o->docs, "held-out text files, one document each (or cut by --doc-lengths)")->expected(1, -1);
  cmd->add_option("--segment", o->segment, "LongMem segment = local window, in tokens")->capture_default_str()->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--buckets", o->buckets, "upper edges of the length buckets, in tokens")->capture_default_str();
  cmd->add_option("--max-tokens-per-doc", o->max_tokens, "truncate each document to N tokens (0: no limit)");
  cmd->add_option("--doc-lengths", o->doc_lengths, "cut each file into consecutive documents of these lengths, cycling (e.g. 4096,16384)");
  cmd->add_option("--max-docs-per-file", o->max_docs, "keep at most N documents of each file (0: all)");
  cmd->add_option("--systems", o->systems, "comma-separated: window,dense,strategy,sidenet,longmem (the first is the reference)")->capture_default_str();
  cmd->add_option("--dense-ctx", o->dense_ctx, "dense system window (default: the model's context)");
  cmd->add_option("--dense-stride", o->dense_stride, "dense system stride (default: half the window)");
  cmd->add_option("--bootstrap", o->resamples, "bootstrap resamples")->capture_default_str()->check(CLI::Range(0, 1000000));
  cmd->add_option("--seed", o->seed, "bootstrap seed")->capture_default_str();
  o->json_opt = cmd->add_option("--json", o->json, "write the JSON report to this path (no path: print it)")->expected(0, 1);
  cmd->add_option("--plot", o->plot, "SVG chart path (default: the --json path with .svg)");
  AddMemoryOptions(*cmd, o->strategy);
  o->sweep.Add(*cmd);
  cmd->callback([&exit_code, o] {
    const Status s = Run(*o);
    if (!s.ok()) exit_code = Fail(s);
  });
}

}  // namespace lm::cli
