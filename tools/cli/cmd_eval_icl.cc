// `longmem eval-icl`: memory-augmented in-context learning (LongMem spec §7.1) on word-level tasks built
// from offline data (data/eval/icl-*.tsv) or the synthetic mapping probe: k local demonstrations, N more
// in memory, accuracy mean ± std over seeds for the backbone, the SideNet without memory, LongMem, and a
// long-context strategy reading all N + k demonstrations. Prints a table; writes JSON and an SVG chart.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common.h"
#include "core/str.h"
#include "eval/longmem/buckets.h"
#include "eval/longmem/icl_report.h"
#include "eval/longmem/sidenet_info.h"
#include "eval_options.h"
#include "longmem_commands.h"
#include "memory_options.h"

namespace lm::cli {

namespace {

namespace el = eval_longmem;

struct Opts {
  ModelOptions model;
  std::string sidenet, task = "sentiment", data_dir, n_memory = "2000", systems = "backbone,sidenet,longmem,strategy";
  int64_t k = 20, seeds = 3, n_test = 100, segment = 512;
  uint64_t first_seed = 1;
  std::string json, plot;
  CLI::Option* json_opt = nullptr;
  MemoryCliOptions strategy;
  EvalMemorySweep sweep;
};

Status Run(const Opts& o) {
  auto ns = el::ParseIntList(o.n_memory, "--n-memory");
  if (!ns.ok()) return ns.status();
  auto task = el::MakeNamedTask(o.task, o.data_dir.empty() ? DefaultEvalDataDir() : o.data_dir);
  if (!task.ok()) return task.status();
  el::IclEvalOptions eo{.k = o.k, .n_memory = *ns, .seeds = o.seeds, .first_seed = o.first_seed, .n_test = o.n_test,
                        .segment = o.segment, .backbone = false, .sidenet = false, .strategy = ""};
  bool longmem = false;
  for (const std::string& s : SplitNames(o.systems)) {
    if (s == "backbone") eo.backbone = true;
    else if (s == "sidenet") eo.sidenet = true;
    else if (s == "longmem") longmem = true;
    else if (s == "strategy") eo.strategy = o.strategy.kind;
    else return InvalidArgument(StrCat("eval-icl: unknown system '", s, "'; hint: --systems from backbone,sidenet,longmem,strategy"));
  }
  eo.strategy_options = o.strategy.ToOptions();
  auto loaded = LoadForCli(o.model);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<sidenet::SideNet> side;
  if (eo.sidenet || longmem) {
    if (o.sidenet.empty()) return InvalidArgument("eval-icl: --sidenet PATH is required for the sidenet/longmem systems");
    auto s = LoadSideNetForEval(*loaded, o.sidenet, o.sweep.memory_layer);
    if (!s.ok()) return s.status();
    side = std::move(*s);
    if (longmem) {
      EvalMemorySweep sweep = o.sweep;
      if (sweep.chunks.empty()) sweep.chunks = "2";  // the official ICL evaluation overrides csz to 2 (spec §7.1)
      auto mems = sweep.Expand(*side);
      if (!mems.ok()) return mems.status();
      eo.memories = *mems;
    }
    std::fprintf(stderr, "eval-icl: %s\n", el::GateSummary(*side).c_str());
  }
  const Tokenizer& tok = *loaded->tokenizer;
  el::IclCodec codec{
      .encode = [&tok](std::string_view s) { return tok.Encode(s, {.add_bos = false, .parse_special = false}); },
      .decode = [&tok](int32_t id) { return tok.Decode(std::span<const int32_t>(&id, 1)); }};
  const double t0 = NowSeconds();
  eo.on_progress = [t0](const std::string& what) { std::fprintf(stderr, "[%6.0f s] %s\n", NowSeconds() - t0, what.c_str()); };
  std::fprintf(stderr, "eval-icl: task %s (%zu train / %zu test items, labels", task->name.c_str(), task->train.size(),
               task->test.size());
  for (const auto& l : task->labels) std::fprintf(stderr, " %s", l.c_str());
  std::fprintf(stderr, ")\n");
  auto rep = el::RunIclEval(loaded->model, side.get(), *task, codec, eo);
  if (!rep.ok()) return rep.status();
  std::printf("%s", el::FormatIclTable(*rep).c_str());

  nlohmann::json j = el::IclReportJson(*rep);
  j["model"] = o.model.model.empty() ? DefaultModelPath() : o.model.model;
  j["segment"] = o.segment;
  j["seconds"] = NowSeconds() - t0;
  j["peak_rss_bytes"] = PeakRssBytes();
  j["threads"] = GlobalPoolThreads();
  j["revision"] = GitRevision();
  if (!eo.strategy.empty()) j["strategy"] = DescribeMemory(eo.strategy_options, loaded->model->config()).value();
  if (side) {
    j["sidenet"] = el::SideNetInfoJson(*side, o.sidenet);
    nlohmann::json mems = nlohmann::json::array();
    for (const auto& m : eo.memories) mems.push_back(el::MemoryConfigJson(m));
    j["memories"] = mems;
  }
  LM_RETURN_IF_ERROR(WriteEvalReport("eval-icl", j, o.json, o.json_opt && o.json_opt->count() > 0, o.plot,
                                     el::IclChart(*rep, StrCat("ICL accuracy vs N (", rep->task, ", k=", rep->k, ")"))));
  return OkStatus();
}

}  // namespace

void RegisterEvalIcl(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("eval-icl", "LongMem evaluation: memory-augmented in-context learning");
  auto o = std::make_shared<Opts>();
  o->strategy.kind = "reattention";
  AddModelOptions(*cmd, o->model);
  cmd->add_option("--sidenet", o->sidenet, "trained SideNet (sidenet.safetensors from train-sidenet)");
  cmd->add_option("--task", o->task, "sentiment | pos | mapping (synthetic word->colour probe)")->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "folder with icl-*.tsv (default: data/eval, made by scripts/setup.sh)");
  cmd->add_option("--k", o->k, "local demonstrations")->capture_default_str()->check(CLI::Range(0, 100000));
  cmd->add_option("--n-memory", o->n_memory, "demonstrations in memory, one evaluation each (e.g. 500,2000)")->capture_default_str();
  cmd->add_option("--seeds", o->seeds, "seeds (sampling of demonstrations and test items)")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--first-seed", o->first_seed, "first seed")->capture_default_str();
  cmd->add_option("--n-test", o->n_test, "test items per seed")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--segment", o->segment, "tokens per memory-writing segment (and the local window)")->capture_default_str();
  cmd->add_option("--systems", o->systems, "comma-separated: backbone,sidenet,longmem,strategy")->capture_default_str();
  o->json_opt = cmd->add_option("--json", o->json, "write the JSON report to this path (no path: print it)")->expected(0, 1);
  cmd->add_option("--plot", o->plot, "SVG chart path (default: the --json path with .svg)");
  AddMemoryOptions(*cmd, o->strategy);
  o->sweep.Add(*cmd);  // --mem-chunk defaults to 2 here, as in the official ICL evaluation
  cmd->callback([&exit_code, o] {
    const Status s = Run(*o);
    if (!s.ok()) exit_code = Fail(s);
  });
}

}  // namespace lm::cli
