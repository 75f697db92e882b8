// `longmem niah`: needle-in-a-haystack / passkey grid for one memory strategy: lengths x depths x trials,
// resumable (JSONL log), with a terminal table, a JSON summary and an SVG heatmap.
#include <algorithm>
#include <cstdio>

#include "common.h"
#include "eval/niah/report.h"
#include "eval/niah/runner.h"
#include "long_commands.h"
#include "longmem_answerer.h"
#include "memory_options.h"

namespace lm::cli {

namespace {

std::string Bar(double frac) {
  const int n = 24, full = static_cast<int>(frac * n);
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += i < full ? '#' : '.';
  return s + "]";
}

// " (needle attended whole in A/L layers)" where the strategy reports it: a miss with the needle in scope in
// every layer is the model's, one with it outside the scope the strategy's.
std::string NeedleInScope(const niah::CellResult& cell) {
  if (cell.needle_attended.empty()) return "";
  return StrCat(" (needle attended whole in ", cell.layers_with_whole_needle(), "/", cell.needle_attended.size(),
                " layers)");
}

}  // namespace

void RegisterNiah(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("niah", "needle-in-a-haystack / passkey retrieval grid for a memory strategy");
  struct Opts {
    ModelOptions model;
    MemoryCliOptions memory;
    std::string haystack, task = "passkey", json, jsonl, svg;
    std::vector<int64_t> lengths = {8192};
    std::vector<double> depths = {0.1, 0.5, 0.9};
    int64_t trials = 1, batch = 512;
    uint32_t seed = 1234;
    LongMemSystemOptions longmem;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  AddMemoryOptions(*cmd, o->memory);
  cmd->add_option("--sidenet", o->longmem.sidenet, "with --memory longmem: the trained SideNet");
  cmd->add_option("--segment", o->longmem.segment, "with --memory longmem: segment / local window tokens")
      ->capture_default_str();
  o->longmem.memory.Add(*cmd);
  cmd->add_option("--haystack", o->haystack, "text to hide needles in (default: data/kjv.txt)");
  cmd->add_option("--task", o->task, "passkey | needle | multikey | multivalue")->capture_default_str();
  cmd->add_option("--lengths", o->lengths, "prompt lengths in tokens")->delimiter(',')->capture_default_str();
  cmd->add_option("--depths", o->depths, "needle depths in [0, 1]")->delimiter(',')->capture_default_str();
  cmd->add_option("--trials", o->trials, "prompts per cell")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", o->seed, "seed of the prompts (same for every strategy)")->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "prefill micro-batch")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--json", o->json, "write the summary JSON here");
  cmd->add_option("--jsonl", o->jsonl, "per-cell log, appended and resumed (default: <json>.jsonl if --json)");
  cmd->add_option("--svg", o->svg, "heatmap (default: <json>.svg if --json)");
  cmd->callback([&exit_code, o] {
    auto task = niah::ParseTaskKind(o->task);
    if (!task.ok()) {
      exit_code = Fail(task.status());
      return;
    }
    for (double d : o->depths)
      if (!(d >= 0 && d <= 1)) {
        exit_code = Fail(InvalidArgument(StrCat("niah: depth ", d, " outside [0, 1]")));
        return;
      }
    for (int64_t l : o->lengths)
      if (l < 64) {
        exit_code = Fail(InvalidArgument(StrCat("niah: length ", l, " is too short (need >= 64 tokens)")));
        return;
      }
    const std::string path = o->haystack.empty() ? DefaultTextPath() : o->haystack;
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
    const ModelConfig& c = loaded->model->config();
    const int64_t max_len = *std::max_element(o->lengths.begin(), o->lengths.end());
    const MemoryOptions mo = niah::SizedForPrompt(o->memory.ToOptions(), max_len);
    // Bad options fail here, before tokenising or running anything.
    niah::Answerer answer;
    Result<std::string> desc = std::string();
    if (mo.kind == "longmem") {
      auto a = LongMemAnswerer(*loaded, o->longmem, &*desc);
      if (!a.ok()) {
        exit_code = Fail(a.status());
        return;
      }
      answer = std::move(*a);
    } else {
      desc = DescribeMemory(mo, c);
      if (!desc.ok()) {
        exit_code = Fail(desc.status());
        return;
      }
      answer = niah::SessionAnswerer(loaded->model, *loaded->tokenizer, [mo, &c] { return MakeMemory(mo, c); },
                                     o->batch);
    }
    const double t_tok = NowSeconds();
    auto hay = niah::MakeHaystack(*loaded->tokenizer, *text, static_cast<size_t>(max_len) * 8 + (1 << 20));
    if (!hay.ok()) {
      exit_code = Fail(hay.status());
      return;
    }
    std::fprintf(stderr, "haystack %s: %zu tokens (%.1f s); memory %s\n", path.c_str(), hay->tokens.size(),
                 NowSeconds() - t_tok, desc->c_str());
    niah::GridOptions go{.lengths = o->lengths,
                         .depths = o->depths,
                         .trials = o->trials,
                         .task = *task,
                         .seed = o->seed,
                         .strategy = *desc,
                         .batch = o->batch};
    go.jsonl_path = !o->jsonl.empty() ? o->jsonl : (!o->json.empty() ? o->json + "l" : "");
    // ETA by tokens: cells differ in length, and prefill dominates.
    double total_tokens = 0;
    for (int64_t l : o->lengths)
      total_tokens += static_cast<double>(l * o->trials) * static_cast<double>(o->depths.size());
    auto seen_tokens = std::make_shared<double>(0), run_tokens = std::make_shared<double>(0);
    const double start = NowSeconds();
    go.on_cell = [=](int64_t done, int64_t total, const niah::CellResult& cell) {
      *seen_tokens += static_cast<double>(cell.length);
      if (!cell.resumed) *run_tokens += static_cast<double>(cell.length);
      const double el = NowSeconds() - start;
      const double eta = *run_tokens > 0 ? el / *run_tokens * (total_tokens - *seen_tokens) : 0;
      std::fprintf(stderr, "\r%s %lld/%lld  len %lld depth %.2f: %s%s%s  elapsed %.0f s, ETA %.0f s   ",
                   Bar(static_cast<double>(done) / static_cast<double>(total)).c_str(), static_cast<long long>(done),
                   static_cast<long long>(total), static_cast<long long>(cell.length), cell.depth,
                   cell.score >= 1 ? "ok" : (cell.score > 0 ? "part" : "miss"), NeedleInScope(cell).c_str(),
                   cell.resumed ? " (resumed)" : "", el, eta);
      std::fflush(stderr);
    };
    auto cells = niah::RunGrid(*loaded->tokenizer, *hay, answer, go);
    std::fprintf(stderr, "\n");
    if (!cells.ok()) {
      exit_code = Fail(cells.status());
      return;
    }
    const auto summary = niah::Summarize(go, *cells);
    std::printf("%s", niah::FormatTable(summary).c_str());
    if (!o->json.empty()) {
      if (auto s = niah::WriteTextFile(o->json, niah::SummaryJson(summary, *cells)); !s.ok()) {
        exit_code = Fail(s);
        return;
      }
    }
    const std::string svg =
        !o->svg.empty() ? o->svg : (!o->json.empty() ? o->json.substr(0, o->json.rfind(".json")) + ".svg" : "");
    if (!svg.empty()) {
      if (auto s = niah::WriteTextFile(svg, niah::HeatmapSvg(summary)); !s.ok()) {
        exit_code = Fail(s);
        return;
      }
      std::printf("heatmap: %s\n", svg.c_str());
    }
  });
}

}  // namespace lm::cli
