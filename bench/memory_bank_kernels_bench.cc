// The ivf-int8 kernels at LongMem's real shapes (D = 64, lists of 16-64 chunks, ~100 rows probing a list):
// the int8 list scan with every key rejected in registers (its compute rate; counter: row-keys per second and
// int8 multiply-adds per second), the same with every key accepted into a row's candidates (the push path), and
// the top-p selection of a row's centroid scores.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "memory/memory_bank/ivf_scan.h"

namespace lm::membank {
namespace {

constexpr int64_t kD = 64, kR = 32;

struct ScanData {
  std::vector<uint8_t> codes;
  std::vector<int64_t> ids;
  std::vector<int32_t> q4, corr;
  std::vector<float> base, scale;
  std::vector<CandList> cands;

  ScanData(int64_t rows, int64_t keys) {
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> byte(0, 255), qv(-kIvfQueryMax, kIvfQueryMax);
    codes.resize(static_cast<size_t>((keys + kIvfGroup - 1) / kIvfGroup * kD * kIvfGroup));
    for (uint8_t& c : codes) c = static_cast<uint8_t>(byte(rng));
    for (int64_t i = 0; i < keys; ++i) ids.push_back(i);
    q4.resize(static_cast<size_t>(rows * kD / 4));
    std::vector<int8_t> q(static_cast<size_t>(rows * kD));
    for (int8_t& x : q) x = static_cast<int8_t>(qv(rng));
    std::memcpy(q4.data(), q.data(), q.size());
    corr.assign(static_cast<size_t>(rows), 0);
    base.assign(static_cast<size_t>(rows), 0.0f);
    scale.assign(static_cast<size_t>(rows), 1e-3f);
    cands.resize(static_cast<size_t>(rows));
  }
  // reject: every row already holds kR candidates scoring 1e30, so no key passes its threshold.
  void Reset(bool reject) {
    for (CandList& c : cands) {
      c.Init(kR);
      if (reject) {
        for (int64_t i = 0; i < kR; ++i) c.Add(1e30f, -1);
        c.Shrink();
      }
    }
  }
  IvfScanArgs Args(int64_t rows, int64_t keys) {
    return {.q4 = q4.data(), .scale = scale.data(), .corr = corr.data(), .cands = cands.data(), .base = base.data(),
            .n_rows = rows, .dim4 = kD / 4, .codes = codes.data(), .ids = ids.data(), .first_id = 0, .n_keys = keys};
  }
};

void BM_IvfScan(benchmark::State& state) {
  const int64_t rows = state.range(0), keys = state.range(1);
  const bool reject = state.range(2) != 0;
  ScanData d(rows, keys);
  const IvfScanArgs a = d.Args(rows, keys);
  for (auto _ : state) {
    state.PauseTiming();
    d.Reset(reject);
    state.ResumeTiming();
    IvfScan(a);
    benchmark::ClobberMemory();
  }
  const double row_keys = static_cast<double>(rows * keys);
  state.counters["row_keys/s"] = benchmark::Counter(row_keys, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["int8_MAC/s"] = benchmark::Counter(row_keys * kD, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(IvfScanTargetName());
}
BENCHMARK(BM_IvfScan)
    ->Args({128, 32, 1})
    ->Args({128, 64, 1})
    ->Args({1024, 32, 1})
    ->Args({128, 32, 0})
    ->ArgNames({"rows", "keys", "reject"});

void BM_SelectTop(benchmark::State& state) {
  const int64_t n = state.range(0), p = state.range(1);
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  std::vector<float> s(static_cast<size_t>(n * 64));
  for (float& x : s) x = normal(rng);
  std::vector<Cand> out(static_cast<size_t>(n));
  int64_t row = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(SelectTop(s.data() + (row++ % 64) * n, n, p, out.data()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SelectTop)->Args({512, 64})->Args({1024, 96})->ArgNames({"n", "p"});

}  // namespace
}  // namespace lm::membank
