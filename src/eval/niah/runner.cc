// Needle-in-a-haystack grid runner with a resumable JSONL log.
#include "eval/niah/runner.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/clock.h"
#include "runtime/session.h"

namespace lm::niah {

namespace {

uint32_t CellSeed(uint32_t seed, TaskKind task, int64_t length, double depth, int64_t trial) {
  // FNV-1a over the cell coordinates: independent of the strategy, stable across runs and builds.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
  };
  mix(seed);
  mix(static_cast<uint64_t>(task));
  mix(static_cast<uint64_t>(length));
  mix(static_cast<uint64_t>(std::llround(depth * 1e6)));
  mix(static_cast<uint64_t>(trial));
  return static_cast<uint32_t>(h ^ (h >> 32));
}

using Key = std::tuple<int64_t, int64_t, int64_t>;  // length, depth * 1e6, trial
Key KeyOf(int64_t length, double depth, int64_t trial) { return {length, std::llround(depth * 1e6), trial}; }

nlohmann::json ToJson(const GridOptions& o, const CellResult& c) {
  return {{"strategy", o.strategy},
          {"task", TaskName(o.task)},
          {"seed", o.seed},
          {"length", c.length},
          {"depth", c.depth},
          {"trial", c.trial},
          {"score", c.score},
          {"expected", c.expected},
          {"response", c.response},
          {"n_prompt", c.n_prompt},
          {"prefill_seconds", c.prefill_seconds},
          {"decode_seconds", c.decode_seconds},
          {"n_generated", c.n_generated},
          {"kv_bytes", c.kv_bytes},
          {"needle_attended", c.needle_attended}};
}

}  // namespace

MemoryOptions SizedForPrompt(MemoryOptions options, int64_t max_len) {
  constexpr int64_t kAnswerRoom = 64;  // the longest answer (multivalue) is 48 tokens
  if (options.kind == "dense" || !options.n_ctx) options.n_ctx = max_len + kAnswerRoom;
  return options;
}

Answerer SessionAnswerer(std::shared_ptr<const Model> model, const Tokenizer& tok, MemoryMaker make_memory,
                         int64_t batch) {
  return [model = std::move(model), &tok, make_memory = std::move(make_memory), batch](
             std::span<const int32_t> prompt, int64_t max_new, const AnswerDone& done,
             const AfterPrompt& after_prompt) -> Result<Answer> {
    auto memory = make_memory();
    if (!memory.ok()) return memory.status();
    Session s(model, std::move(*memory));
    Answer a;
    double t0 = NowSeconds();
    LM_RETURN_IF_ERROR(s.Prefill(std::vector<int32_t>(prompt.begin(), prompt.end()), batch));
    a.prefill_seconds = NowSeconds() - t0;
    if (after_prompt) after_prompt(s.memory(), static_cast<int>(model->config().n_layer));
    t0 = NowSeconds();
    for (int64_t i = 0; i < max_new; ++i) {
      const auto logits = s.logits();
      const auto id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      if (tok.IsEndOfGeneration(id)) break;
      a.tokens.push_back(id);
      if (done(a.tokens)) break;
      if (i + 1 < max_new) LM_RETURN_IF_ERROR(s.Decode(id));
    }
    a.decode_seconds = NowSeconds() - t0;
    a.kv_bytes = s.memory().kv_bytes();
    return a;
  };
}

Result<CellResult> RunCell(const Tokenizer& tok, const Haystack& hay, const Answerer& answer, TaskKind task,
                           int64_t length, double depth, int64_t trial, uint32_t seed) {
  std::mt19937 rng(CellSeed(seed, task, length, depth, trial));
  const TaskInstance inst = MakeTask(task, depth, rng);
  const auto offset = static_cast<int64_t>(rng() % static_cast<uint32_t>(hay.tokens.size()));
  auto prompt = BuildPrompt(tok, hay, inst, length, offset);
  if (!prompt.ok()) return prompt.status();
  CellResult c{.length = length, .depth = depth, .trial = trial};
  c.n_prompt = static_cast<int64_t>(prompt->tokens.size());
  for (const auto& a : inst.answers) c.expected += (c.expected.empty() ? "" : " ") + a;
  // The answer is one line; stop at its end rather than spend decode steps on what follows.
  const AnswerDone done = [&tok](const std::vector<int32_t>& out) {
    const std::string text = tok.Decode(out, true);
    return text.find('\n') != std::string::npos && text.find_first_not_of(" \n") < text.find('\n');
  };
  const int64_t needle_begin = prompt->needle_at[0], needle_end = needle_begin + prompt->needle_len[0];
  const AfterPrompt probe = [&](const Memory& m, int n_layer) {
    for (int l = 0; l < n_layer; ++l) {
      const int64_t hits = m.AttendedByLastStep(l, needle_begin, needle_end);
      if (hits < 0) return;
      c.needle_attended.push_back(static_cast<double>(hits) / static_cast<double>(needle_end - needle_begin));
    }
  };
  auto a = answer(prompt->tokens, inst.max_new_tokens, done, probe);
  if (!a.ok()) return a.status();
  c.prefill_seconds = a->prefill_seconds;
  c.decode_seconds = a->decode_seconds;
  c.n_generated = static_cast<int64_t>(a->tokens.size());
  c.response = tok.Decode(a->tokens, true);
  c.score = ScoreResponse(task, inst, c.response);
  c.kv_bytes = a->kv_bytes;
  return c;
}

Result<std::vector<CellResult>> RunGrid(const Tokenizer& tok, const Haystack& hay, const Answerer& answer,
                                        const GridOptions& o) {
  std::map<Key, CellResult> done;
  if (!o.jsonl_path.empty()) {
    std::ifstream in(o.jsonl_path);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;  // a line cut by an interruption
      if (j.value("strategy", "") != o.strategy || j.value("task", "") != TaskName(o.task) ||
          j.value("seed", 0u) != o.seed)
        continue;
      CellResult c{.length = j.value("length", int64_t{0}),
                   .depth = j.value("depth", 0.0),
                   .trial = j.value("trial", int64_t{0}),
                   .score = j.value("score", 0.0),
                   .response = j.value("response", ""),
                   .expected = j.value("expected", ""),
                   .n_prompt = j.value("n_prompt", int64_t{0}),
                   .prefill_seconds = j.value("prefill_seconds", 0.0),
                   .decode_seconds = j.value("decode_seconds", 0.0),
                   .n_generated = j.value("n_generated", int64_t{0}),
                   .kv_bytes = j.value("kv_bytes", uint64_t{0}),
                   .needle_attended = j.value("needle_attended", std::vector<double>{}),
                   .resumed = true};
      done[KeyOf(c.length, c.depth, c.trial)] = c;
    }
  }
  std::ofstream log;
  if (!o.jsonl_path.empty()) {
    bool cut = false;  // an interrupted write left a partial last line: end it so new lines stay whole
    if (std::ifstream in(o.jsonl_path, std::ios::binary | std::ios::ate); in && in.tellg() > 0) {
      in.seekg(-1, std::ios::end);
      cut = in.get() != '\n';
    }
    log.open(o.jsonl_path, std::ios::app);
    if (!log) return IoError(StrCat("niah: cannot append to '", o.jsonl_path, "'"));
    if (cut) log << "\n";
  }
  std::vector<CellResult> results;
  const auto total = static_cast<int64_t>(o.lengths.size() * o.depths.size()) * o.trials;
  for (int64_t length : o.lengths)
    for (double depth : o.depths)
      for (int64_t trial = 0; trial < o.trials; ++trial) {
        auto it = done.find(KeyOf(length, depth, trial));
        if (it != done.end()) {
          results.push_back(it->second);
        } else {
          auto c = RunCell(tok, hay, answer, o.task, length, depth, trial, o.seed);
          if (!c.ok()) return c.status();
          results.push_back(*c);
          if (log.is_open()) log << ToJson(o, *c).dump() << "\n" << std::flush;  // one line per finished cell
        }
        if (o.on_cell) o.on_cell(static_cast<int64_t>(results.size()), total, results.back());
      }
  return results;
}

}  // namespace lm::niah
