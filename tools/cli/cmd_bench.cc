// `longmem bench`: prefill and decode throughput in llama-bench's terms (-p -n -d -r -t -o json), so rows
// line up with llama-bench's: pp<P> times a P-token prefill, tg<N> times N single-token decodes, both after
// an untimed prefill of <D> tokens of depth. Tokens are random ids, as llama-bench uses.
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "common.h"
#include "memory_options.h"
#include "runtime/session.h"

namespace lm::cli {

namespace {

std::vector<int64_t> ParseList(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(std::stoll(item));
  }
  return out;
}

struct TestResult {
  int64_t n_prompt = 0, n_gen = 0, n_depth = 0;
  std::vector<double> samples_ts;
  double avg() const {
    double s = 0;
    for (double x : samples_ts) s += x;
    return samples_ts.empty() ? 0 : s / static_cast<double>(samples_ts.size());
  }
  double stddev() const {
    if (samples_ts.size() < 2) return 0;
    const double m = avg();
    double s = 0;
    for (double x : samples_ts) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(samples_ts.size() - 1));
  }
};

}  // namespace

void RegisterBench(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("bench", "prefill/decode tokens per second and peak memory (llama-bench style)");
  struct Opts {
    ModelOptions model;
    std::string prompts = "512,2048", gens = "128", depths = "0", output = "json";
    int reps = 3;
    MemoryCliOptions memory;  // dense by default, as llama-bench; any strategy can be timed the same way
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("-p,--n-prompt", o->prompts, "prompt lengths, comma-separated (0 = none)")->capture_default_str();
  cmd->add_option("-n,--n-gen", o->gens, "decode lengths, comma-separated (0 = none)")->capture_default_str();
  cmd->add_option("-d,--n-depth", o->depths, "context depths before each test")->capture_default_str();
  cmd->add_option("-r,--repetitions", o->reps, "repetitions per test")->capture_default_str()->check(CLI::Range(1, 1000));
  AddMemoryOptions(*cmd, o->memory);
  cmd->add_option("-o,--output", o->output, "json or md")->capture_default_str()->check(CLI::IsMember({"json", "md"}));
  cmd->callback([&exit_code, o] {
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const auto& model = loaded->model;
    const int64_t V = model->config().n_vocab;
    std::mt19937 rng(1234);
    auto random_tokens = [&](int64_t n) {
      std::vector<int32_t> t(static_cast<size_t>(n));
      for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(V));
      return t;
    };
    // A fresh memory of the chosen strategy per repetition, sized to exactly what the test needs.
    auto new_session = [&](int64_t n_tokens) -> Result<std::unique_ptr<Session>> {
      MemoryOptions mo = o->memory.ToOptions();
      mo.n_ctx = n_tokens;  // dense: its capacity; the others: their limit, so they can allocate once
      auto memory = MakeMemory(mo, model->config());
      if (!memory.ok()) return memory.status();
      return std::make_unique<Session>(model, std::move(*memory));
    };
    if (auto probe = new_session(1); !probe.ok()) {  // bad memory options fail before any timing
      exit_code = Fail(probe.status());
      return;
    }
    const auto memory_desc = DescribeMemory(o->memory.ToOptions(), model->config());
    // Dense is sized per test, so its description would name the wrong capacity.
    const std::string memory_name =
        memory_desc.ok() && o->memory.kind != "dense" ? *memory_desc : o->memory.kind;
    // StreamingKv keeps f32 whatever --kv-type says; report what is stored.
    const std::string kv_name(o->memory.kind == "streaming" ? "f32" : KvCacheTypeName(o->memory.kv_type));
    std::vector<TestResult> results;
    for (int64_t d : ParseList(o->depths)) {
      for (int64_t p : ParseList(o->prompts)) {
        if (p <= 0) continue;
        TestResult r{.n_prompt = p, .n_depth = d};
        for (int rep = 0; rep < o->reps; ++rep) {
          auto made = new_session(d + p);
          if (!made.ok()) {
            exit_code = Fail(made.status());
            return;
          }
          auto& session = *made;
          if (d > 0) {
            if (auto s = session->Prefill(random_tokens(d)); !s.ok()) {
              exit_code = Fail(s);
              return;
            }
          }
          const auto toks = random_tokens(p);
          const double t0 = NowSeconds();
          if (auto s = session->Prefill(toks); !s.ok()) {
            exit_code = Fail(s);
            return;
          }
          r.samples_ts.push_back(static_cast<double>(p) / (NowSeconds() - t0));
        }
        results.push_back(r);
      }
      for (int64_t n : ParseList(o->gens)) {
        if (n <= 0) continue;
        TestResult r{.n_gen = n, .n_depth = d};
        for (int rep = 0; rep < o->reps; ++rep) {
          auto made = new_session(d + n + 1);
          if (!made.ok()) {
            exit_code = Fail(made.status());
            return;
          }
          auto& session = *made;
          if (auto s = session->Prefill(random_tokens(d > 0 ? d : 1)); !s.ok()) {
            exit_code = Fail(s);
            return;
          }
          const auto toks = random_tokens(n);
          const double t0 = NowSeconds();
          for (int32_t t : toks) {
            if (auto s = session->Decode(t); !s.ok()) {
              exit_code = Fail(s);
              return;
            }
          }
          r.samples_ts.push_back(static_cast<double>(n) / (NowSeconds() - t0));
        }
        results.push_back(r);
      }
    }
    const auto& c = model->config();
    const std::string type = StrCat(c.arch_name, " ", c.name);
    const uint64_t rss = PeakRssBytes();
    if (o->output == "md") {
      std::printf("| model | threads | test | t/s |\n|---|---|---|---|\n");
      for (const auto& r : results) {
        std::string test = r.n_prompt ? StrCat("pp", r.n_prompt) : StrCat("tg", r.n_gen);
        if (r.n_depth) test += StrCat(" @ d", r.n_depth);
        std::printf("| %s | %d | %s | %.2f ± %.2f |\n", type.c_str(), GlobalPoolThreads(), test.c_str(), r.avg(),
                    r.stddev());
      }
      std::printf("\nmemory: %s, KV %s; peak RSS: %s\n", memory_name.c_str(), kv_name.c_str(),
                  HumanBytes(rss).c_str());
      return;
    }
    // llama-bench's model_filename is the path as given.
    const std::string model_path = o->model.model.empty() ? DefaultModelPath() : o->model.model;
    std::printf("[\n");
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      std::printf("  {\"build_commit\": \"%s\", \"model_filename\": \"%s\", \"model_type\": \"%s\", "
                  "\"memory\": \"%s\", \"type_kv\": \"%s\", \"n_threads\": %d, \"n_prompt\": %lld, \"n_gen\": %lld, \"n_depth\": %lld, "
                  "\"avg_ts\": %.6f, \"stddev_ts\": %.6f, \"samples_ts\": [",
                  GitRevision().c_str(), model_path.c_str(), type.c_str(), memory_name.c_str(),
                  kv_name.c_str(), GlobalPoolThreads(),
                  static_cast<long long>(r.n_prompt), static_cast<long long>(r.n_gen),
                  static_cast<long long>(r.n_depth), r.avg(), r.stddev());
      for (size_t j = 0; j < r.samples_ts.size(); ++j) std::printf(j ? ", %.4f" : "%.4f", r.samples_ts[j]);
      std::printf("], \"peak_rss_bytes\": %llu}%s\n", static_cast<unsigned long long>(rss),
                  i + 1 < results.size() ? "," : "");
    }
    std::printf("]\n");
  });
}

}  // namespace lm::cli
