// ReAttention's decode-step top-k sweep at the default model's shape (3 KV heads x 3 query rows, head_dim 64,
// top-4) over n middle keys per KV head, f16 or q8_0 selection keys. Cold: 30 layers' keys in turn, as a decode
// step reads them (at 28,672 keys 330 MB of f16 per step, from DRAM). Time per layer; keys_GB/s = key bytes read.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "memory/reattention/scorer.h"
#include "ops/attention.h"

namespace lm {
namespace {

constexpr int64_t kHkv = 3, kRows = 3, kD = 64, kTopK = 4, kLayers = 30;

void RunSweep(benchmark::State& state, ops::KvDType t) {
  const int64_t n = state.range(0);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(kHkv * kRows * kD)), k(static_cast<size_t>(n * kD));
  for (auto& x : q) x = nd(rng);
  std::vector<std::vector<uint8_t>> keys(static_cast<size_t>(kLayers * kHkv));
  for (auto& layer_head : keys) {
    for (auto& x : k) x = nd(rng);
    layer_head.resize(static_cast<size_t>(ops::KvBytes(t, n * kD)));
    ops::StoreKv(t, k.data(), layer_head.data(), n * kD);
  }
  std::vector<float> best_s(static_cast<size_t>(kHkv * kRows * kTopK));
  std::vector<int32_t> best_i(best_s.size());
  std::vector<reattention::ScoreJob> jobs(static_cast<size_t>(kHkv));
  reattention::TopKScorer scorer;
  int64_t layer = 0;
  for (auto _ : state) {
    for (int64_t h = 0; h < kHkv; ++h)
      jobs[static_cast<size_t>(h)] = {.q = q.data() + h * kRows * kD, .n_rows = kRows,
                                      .keys = keys[static_cast<size_t>(layer * kHkv + h)].data(), .n_keys = n,
                                      .type = t, .best_s = best_s.data() + h * kRows * kTopK,
                                      .best_i = best_i.data() + h * kRows * kTopK};
    scorer.Run(jobs, kD, kTopK);
    benchmark::DoNotOptimize(best_i.data());
    layer = (layer + 1) % kLayers;
  }
  state.counters["keys_GB/s"] = benchmark::Counter(
      static_cast<double>(kHkv * ops::KvBytes(t, n * kD)) * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
void BM_ReAttentionSweepF16(benchmark::State& s) { RunSweep(s, ops::KvDType::kF16); }
void BM_ReAttentionSweepQ8_0(benchmark::State& s) { RunSweep(s, ops::KvDType::kQ8_0); }

BENCHMARK(BM_ReAttentionSweepF16)->Arg(4096)->Arg(28672)->UseRealTime();
BENCHMARK(BM_ReAttentionSweepQ8_0)->Arg(4096)->Arg(28672)->UseRealTime();

}  // namespace
}  // namespace lm
