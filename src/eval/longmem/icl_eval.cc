// The ICL evaluation loop: sample per seed, score every system on the same items, aggregate over seeds.
#include "eval/longmem/icl_eval.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/clock.h"
#include "core/str.h"
#include "eval/longmem/prefix_scorer.h"
#include "eval/longmem/retrieval_probe.h"
#include "memory/dense_kv.h"
#include "sidenet/longmem.h"

namespace lm::eval_longmem {

namespace {

struct SeedData {
  std::vector<IclExample> local, memory, test;
  std::vector<int64_t> test_memory_index;  // test_in_memory: which memory demonstration each test item is
};

Result<SeedData> Sample(const IclTask& task, const IclEvalOptions& o, int64_t n_max, int64_t n_min, uint64_t seed) {
  const auto n_train = static_cast<int64_t>(task.train.size());
  if (n_max > n_train)
    return InvalidArgument(StrCat("icl: task '", task.name, "' has ", n_train, " training items, fewer than N = ", n_max,
                                  "; hint: a smaller --n-memory"));
  SeedData d;
  auto take = [&](const std::vector<int64_t>& idx, std::vector<IclExample>& dst) {
    for (int64_t i : idx) dst.push_back(task.train[static_cast<size_t>(i)]);
  };
  if (task.test_in_memory) {
    if (n_min <= 0) return InvalidArgument("icl: the mapping probe tests items held in memory; hint: every --n-memory > 0");
    const auto mem = SampleIndices(n_train, n_max, seed * 7919 + 1);
    take(mem, d.memory);
    d.test_memory_index = SampleIndices(n_min, std::min(o.n_test, n_min), seed * 7919 + 2);
    std::set<std::string> tested;
    for (int64_t i : d.test_memory_index) {
      d.test.push_back(d.memory[static_cast<size_t>(i)]);
      tested.insert(d.memory[static_cast<size_t>(i)].x);
    }
    for (int64_t i : SampleIndices(n_train, n_train, seed * 7919 + 3)) {  // local demos never show a test item
      if (static_cast<int64_t>(d.local.size()) == o.k) break;
      if (!tested.count(task.train[static_cast<size_t>(i)].x)) d.local.push_back(task.train[static_cast<size_t>(i)]);
    }
    return d;
  }
  if (o.k > n_train) return InvalidArgument(StrCat("icl: --k ", o.k, " exceeds the ", n_train, " training items"));
  take(SampleIndices(n_train, o.k, seed * 7919 + 1), d.local);
  take(SampleIndices(n_train, n_max, seed * 7919 + 2), d.memory);  // independent, as the official code
  // Test items balanced over labels (round robin over per-label shuffles), so chance is 1 / labels.
  std::vector<std::vector<int64_t>> by_label(task.labels.size());
  for (int64_t i : SampleIndices(static_cast<int64_t>(task.test.size()), static_cast<int64_t>(task.test.size()), seed * 7919 + 3))
    by_label[static_cast<size_t>(task.test[static_cast<size_t>(i)].label)].push_back(i);
  for (size_t round = 0; static_cast<int64_t>(d.test.size()) < o.n_test; ++round) {
    bool any = false;
    for (const auto& l : by_label) {
      if (round < l.size() && static_cast<int64_t>(d.test.size()) < o.n_test) {
        d.test.push_back(task.test[static_cast<size_t>(l[round])]);
        any = true;
      }
    }
    if (!any) break;
  }
  return d;
}

// P(at least one of `hit` chunks among `pick` drawn without replacement from `total`).
double ChanceHit(int64_t total, int64_t hit, int64_t pick) {
  if (total <= 0 || hit <= 0) return 0;
  double miss = 1;
  for (int64_t i = 0; i < pick; ++i) miss *= std::max(0.0, static_cast<double>(total - hit - i) / static_cast<double>(total - i));
  return 1 - miss;
}

struct Cells {
  std::vector<IclCell> cells;
  IclCell& At(const std::string& system, int64_t n) {
    for (IclCell& c : cells)
      if (c.system == system && c.n_memory == n) return c;
    cells.push_back({.system = system, .n_memory = n});
    return cells.back();
  }
};

void Finish(IclCell& c) {
  auto stats = [](const std::vector<double>& v, double* mean, double* sd) {
    *mean = 0;
    for (double x : v) *mean += x / static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - *mean) * (x - *mean);
    *sd = v.empty() ? 0 : std::sqrt(ss / static_cast<double>(v.size()));
  };
  stats(c.accuracy, &c.mean, &c.std);
  stats(c.accuracy_full_vocab, &c.mean_full_vocab, &c.std_full_vocab);
}

}  // namespace

Result<IclReport> RunIclEval(std::shared_ptr<const Model> model, sidenet::SideNet* side, const IclTask& task,
                             const IclCodec& codec, const IclEvalOptions& o) {
  if ((o.sidenet || !o.memories.empty()) && !side)
    return InvalidArgument("icl: the sidenet and longmem systems need a SideNet; hint: --sidenet PATH");
  if (o.k < 0 || o.seeds < 1 || o.n_test < 1 || o.n_memory.empty())
    return InvalidArgument(StrCat("icl: need k >= 0, seeds >= 1, n_test >= 1 and at least one N (got k=", o.k,
                                  " seeds=", o.seeds, " n_test=", o.n_test, ")"));
  auto label_tokens = LabelFirstTokens(codec, task.labels);
  if (!label_tokens.ok()) return label_tokens.status();
  MemoryOptions strategy = o.strategy_options;
  strategy.kind = o.strategy;
  if (!o.strategy.empty()) {
    auto d = DescribeMemory(strategy, model->config());
    if (!d.ok()) return d.status();
  }
  const ModelConfig& c = model->config();
  std::vector<int64_t> ns = o.n_memory;
  std::sort(ns.begin(), ns.end());
  ns.erase(std::unique(ns.begin(), ns.end()), ns.end());

  // One LongMem per memory setting (plus one for the memory-less SideNet), each with its probe.
  std::vector<std::unique_ptr<sidenet::LongMem>> lms;
  std::vector<std::unique_ptr<RetrievalProbe>> probes;
  std::vector<sidenet::MemoryConfig> mems = o.memories;
  if (side) mems.insert(mems.begin(), side->memory_config());  // index 0: the SideNet without memory
  for (const auto& m : mems) {
    auto lm = sidenet::LongMem::Create(model, side, m);
    if (!lm.ok()) return lm.status();
    probes.push_back(std::make_unique<RetrievalProbe>(**lm));
    lms.push_back(std::move(*lm));
  }

  IclReport rep{.task = task.name, .labels = task.labels, .k = o.k, .n_test = o.n_test, .seeds = o.seeds, .n_memory = ns};
  Cells cells;
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  int64_t prompt_tokens = 0, n_prompts = 0;
  std::vector<int64_t> gold_count(task.labels.size(), 0);
  for (int64_t s = 0; s < o.seeds; ++s) {
    const uint64_t seed = o.first_seed + static_cast<uint64_t>(s);
    auto data = Sample(task, o, ns.back(), ns.front(), seed);
    if (!data.ok()) return data.status();
    const auto local_ids = EncodeDemos(codec, task, data->local);
    std::vector<std::vector<int32_t>> queries, prompts;
    size_t longest = 0;
    for (const IclExample& t : data->test) {
      queries.push_back(codec.encode(QueryText(task.tmpl, t.x)));
      prompts.push_back(local_ids);
      prompts.back().insert(prompts.back().end(), queries.back().begin(), queries.back().end());
      longest = std::max(longest, queries.back().size());
      if (static_cast<int64_t>(prompts.back().size()) > std::min(o.segment, c.n_ctx_train))
        return InvalidArgument(StrCat("icl: a local prompt of ", prompts.back().size(), " tokens exceeds the ",
                                      std::min(o.segment, c.n_ctx_train), "-token local window; hint: a smaller --k or a larger --segment"));
      prompt_tokens += static_cast<int64_t>(prompts.back().size());
      ++n_prompts;
      if (s == 0) ++gold_count[static_cast<size_t>(t.label)];
    }
    // Scores every test item with next_logits(i) filling `logits`; records accuracy in the cell.
    auto score = [&](IclCell& cell, auto&& next_logits) -> Status {
      const double t0 = NowSeconds();
      int64_t right = 0, right_full = 0;
      for (size_t i = 0; i < data->test.size(); ++i) {
        LM_RETURN_IF_ERROR(next_logits(i));
        const IclExample& t = data->test[i];
        const IclPrediction p = Predict(logits, *label_tokens, codec, task.labels[static_cast<size_t>(t.label)]);
        right += p.label == t.label ? 1 : 0;
        right_full += p.full_vocab_correct ? 1 : 0;
      }
      const auto n = static_cast<double>(data->test.size());
      cell.accuracy.push_back(static_cast<double>(right) / n);
      cell.accuracy_full_vocab.push_back(static_cast<double>(right_full) / n);
      cell.seconds += NowSeconds() - t0;
      if (o.on_progress)
        o.on_progress(StrCat("seed ", seed, " ", cell.system, " N=", cell.n_memory, ": accuracy ", cell.accuracy.back()));
      return OkStatus();
    };
    if (o.backbone) {
      auto mem = std::make_unique<DenseKv>(GeometryOf(c), static_cast<int64_t>(local_ids.size() + longest), KvCacheType::kF32);
      auto scorer = PrefixScorer::Create(model, std::move(mem), local_ids);
      if (!scorer.ok()) return scorer.status();
      LM_RETURN_IF_ERROR(score(cells.At("backbone", 0), [&](size_t i) { return (*scorer)->NextLogits(queries[i], &logits); }));
    }
    ProbedSegment probed;
    if (o.sidenet) {
      auto local_only = [&](size_t i) {
        LM_RETURN_IF_ERROR(probes[0]->Run(prompts[i], false, &probed));
        side->Logits(probed.last_hidden.data(), 1, logits.data());
        return OkStatus();
      };
      LM_RETURN_IF_ERROR(score(cells.At("sidenet", 0), local_only));
    }
    for (int64_t n : ns) {
      std::vector<int64_t> starts;
      const std::span<const IclExample> mem_demos(data->memory.data(), static_cast<size_t>(n));
      const auto mem_ids = EncodeDemos(codec, task, mem_demos, &starts);
      if (s == 0) rep.memory_tokens.push_back(static_cast<int64_t>(mem_ids.size()));
      for (size_t j = 1; j < lms.size(); ++j) {
        sidenet::LongMem& lm = *lms[j];
        const sidenet::MemoryConfig& m = mems[j];
        lm.ResetMemory();
        const int64_t evicted_before = lm.bank().chunks_evicted();
        for (size_t b = 0; b < mem_ids.size(); b += static_cast<size_t>(o.segment))
          LM_RETURN_IF_ERROR(lm.Memorize(std::span<const int32_t>(mem_ids).subspan(b, std::min(mem_ids.size() - b, static_cast<size_t>(o.segment)))));
        const bool probe_hits = task.test_in_memory && lm.bank().chunks_evicted() == evicted_before;
        const auto slots = probe_hits ? StreamSlots(static_cast<int64_t>(mem_ids.size()), o.segment, m.chunk_size)
                                      : std::vector<int32_t>{};
        IclCell& cell = cells.At(sidenet::Describe(m), n);
        double retrieved = 0, hits = 0, any_hits = 0, chance = 0, rows = 0;
        auto with_memory = [&](size_t i) {
          LM_RETURN_IF_ERROR(probes[j]->Run(prompts[i], true, &probed));
          side->Logits(probed.last_hidden.data(), 1, logits.data());
          retrieved += static_cast<double>(probed.retrieved);
          if (probe_hits && probed.retrieved > 0) {
            const int64_t demo = data->test_memory_index[i];
            std::set<int32_t> demo_slots, demo_chunks;
            for (int64_t t = starts[static_cast<size_t>(demo)]; t < starts[static_cast<size_t>(demo) + 1]; ++t)
              if (slots[static_cast<size_t>(t)] >= 0) {
                demo_slots.insert(slots[static_cast<size_t>(t)]);
                demo_chunks.insert(static_cast<int32_t>(slots[static_cast<size_t>(t)] / m.chunk_size));
              }
            bool any = false;
            for (int64_t h = 0; h < c.n_head; ++h) {
              bool hit = false;
              for (int64_t q = 0; q < probed.retrieved && !hit; ++q)
                hit = demo_slots.count(probed.last_slots[static_cast<size_t>(h * probed.retrieved + q)]) > 0;
              hits += hit ? 1 : 0;
              any = any || hit;
            }
            any_hits += any ? 1 : 0;
            chance += ChanceHit(lm.bank().n_chunks(), static_cast<int64_t>(demo_chunks.size()), probed.retrieved / m.chunk_size);
            rows += 1;
          }
          return OkStatus();
        };
        LM_RETURN_IF_ERROR(score(cell, with_memory));
        const auto n_items = static_cast<double>(data->test.size());
        cell.mean_retrieved += retrieved / n_items / static_cast<double>(o.seeds);
        if (rows > 0) {
          auto acc = [&](double& dst, double v) { dst = (dst < 0 ? 0 : dst) + v / static_cast<double>(o.seeds); };
          acc(cell.hit_rate, hits / (rows * static_cast<double>(c.n_head)));
          acc(cell.any_head_hit_rate, any_hits / rows);
          acc(cell.chance_hit_rate, chance / rows);
        }
      }
      if (!o.strategy.empty()) {
        auto mem = MakeMemory(strategy, c);
        if (!mem.ok()) return mem.status();
        std::vector<int32_t> prefix = mem_ids;
        prefix.insert(prefix.end(), local_ids.begin(), local_ids.end());
        if (o.on_progress) o.on_progress(StrCat("seed ", seed, " ", o.strategy, " N=", n, ": reading ", prefix.size(), " tokens"));
        auto scorer = PrefixScorer::Create(model, std::move(*mem), prefix);
        if (!scorer.ok()) return scorer.status();
        LM_RETURN_IF_ERROR(score(cells.At(o.strategy, n), [&](size_t i) { return (*scorer)->NextLogits(queries[i], &logits); }));
      }
    }
  }
  for (IclCell& cell : cells.cells) Finish(cell);
  rep.cells = std::move(cells.cells);
  int64_t total = 0, most = 0;
  for (int64_t g : gold_count) total += g, most = std::max(most, g);
  rep.majority_rate = total > 0 ? static_cast<double>(most) / static_cast<double>(total) : 0;
  rep.mean_local_prompt_tokens = n_prompts > 0 ? static_cast<double>(prompt_tokens) / static_cast<double>(n_prompts) : 0;
  return rep;
}

}  // namespace lm::eval_longmem
