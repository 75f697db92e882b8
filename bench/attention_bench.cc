// Attention at the default model's shape (H=9, Hkv=3, D=64) on the global pool: decode (one query over S
// cached keys, S = 512 / 4096 / 8192) and prefill (a 512-token batch after a cache of depth S, causal), for
// f16, q8_0 and f32 K/V. Counters: K/V bytes streamed per second (decode) and query tokens per second.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/quant.h"
#include "ops/attention.h"

namespace lm {
namespace {

constexpr int64_t kH = 9, kHkv = 3, kD = 64;

struct KvData {
  std::vector<float> q, k, v, out;
  std::vector<uint16_t> k16, v16;
  std::vector<BlockQ8_0> k8, v8;
  std::vector<int32_t> q_pos, k_pos;
};

// Random queries and a cache of n_kv tokens stored as t only (the 30-layer cold benchmarks at 32K would
// otherwise hold every type's copy: gigabytes).
KvData Make(int64_t n_q, int64_t n_kv, ops::KvDType t) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  KvData d;
  d.q.resize(static_cast<size_t>(n_q * kH * kD));
  d.k.resize(static_cast<size_t>(n_kv * kHkv * kD));
  d.v.resize(d.k.size());
  for (auto* x : {&d.q, &d.k, &d.v})
    for (auto& e : *x) e = nd(rng);
  if (t == ops::KvDType::kF16) {
    d.k16.resize(d.k.size());
    d.v16.resize(d.v.size());
    ops::ConvertF32ToF16(d.k.data(), d.k16.data(), static_cast<int64_t>(d.k.size()));
    ops::ConvertF32ToF16(d.v.data(), d.v16.data(), static_cast<int64_t>(d.v.size()));
  } else if (t == ops::KvDType::kQ8_0) {
    d.k8.resize(d.k.size() / 32);
    d.v8.resize(d.v.size() / 32);
    ops::StoreKv(ops::KvDType::kQ8_0, d.k.data(), d.k8.data(), static_cast<int64_t>(d.k.size()));
    ops::StoreKv(ops::KvDType::kQ8_0, d.v.data(), d.v8.data(), static_cast<int64_t>(d.v.size()));
  }
  if (t != ops::KvDType::kF32) {
    std::vector<float>().swap(d.k);
    std::vector<float>().swap(d.v);
  }
  d.out.resize(d.q.size());
  for (int64_t j = 0; j < n_kv; ++j) d.k_pos.push_back(static_cast<int32_t>(j));
  for (int64_t i = 0; i < n_q; ++i) d.q_pos.push_back(static_cast<int32_t>(n_kv - n_q + i));
  return d;
}

// The attention call over d's queries and cache (f32, f16 or q8_0 K/V).
ops::AttentionArgs ArgsFor(KvData& d, int64_t n_q, int64_t n_kv, ops::KvDType t) {
  const void* k = t == ops::KvDType::kF16 ? static_cast<const void*>(d.k16.data())
                  : t == ops::KvDType::kQ8_0 ? static_cast<const void*>(d.k8.data()) : d.k.data();
  const void* v = t == ops::KvDType::kF16 ? static_cast<const void*>(d.v16.data())
                  : t == ops::KvDType::kQ8_0 ? static_cast<const void*>(d.v8.data()) : d.v.data();
  return {.q = d.q.data(), .k = k, .v = v, .kv_dtype = t,
          .q_pos = d.q_pos.data(), .k_pos = d.k_pos.data(), .out = d.out.data(), .n_q = n_q, .n_kv = n_kv,
          .n_head = kH, .n_head_kv = kHkv, .head_dim = kD, .scale = 1.0f / std::sqrt(static_cast<float>(kD))};
}

void Run(benchmark::State& state, int64_t n_q, int64_t n_kv, ops::KvDType t) {
  KvData d = Make(n_q, n_kv, t);
  const ops::AttentionArgs a = ArgsFor(d, n_q, n_kv, t);
  for (auto _ : state) {
    ops::Attention(a);
    benchmark::DoNotOptimize(d.out.data());
  }
  const double kv_bytes = static_cast<double>(2 * ops::KvBytes(t, n_kv * kHkv * kD));
  state.counters["kv_GB/s"] =
      benchmark::Counter(kv_bytes * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(n_q * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_AttentionDecodeF16(benchmark::State& s) { Run(s, 1, s.range(0), ops::KvDType::kF16); }
// Decode as the model runs it: 30 layers' caches in turn (the default model's depth), so at 4096+ tokens the
// K/V of a step (94+ MB in f16) comes from DRAM, not from the L3 that one repeated layer fits in. Time per layer.
void RunCold(benchmark::State& state, ops::KvDType t) {
  constexpr int kLayers = 30;
  const int64_t n_kv = state.range(0);
  std::vector<KvData> layers;
  for (int i = 0; i < kLayers; ++i) layers.push_back(Make(1, n_kv, t));
  int i = 0;
  for (auto _ : state) {
    KvData& d = layers[static_cast<size_t>(i)];
    i = (i + 1) % kLayers;
    ops::Attention(ArgsFor(d, 1, n_kv, t));
    benchmark::DoNotOptimize(d.out.data());
  }
  state.counters["kv_GB/s"] = benchmark::Counter(static_cast<double>(2 * ops::KvBytes(t, n_kv * kHkv * kD)) * 1e-9 *
                                                     static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
void BM_AttentionDecodeF16Cold(benchmark::State& s) { RunCold(s, ops::KvDType::kF16); }
void BM_AttentionDecodeQ8_0Cold(benchmark::State& s) { RunCold(s, ops::KvDType::kQ8_0); }
void BM_AttentionDecodeQ8_0(benchmark::State& s) { Run(s, 1, s.range(0), ops::KvDType::kQ8_0); }
void BM_AttentionDecodeF32(benchmark::State& s) { Run(s, 1, s.range(0), ops::KvDType::kF32); }
// Prefill: 512 new queries after range(0) cached tokens (n_kv = depth + 512).
void BM_AttentionPrefillF16(benchmark::State& s) { Run(s, 512, s.range(0) + 512, ops::KvDType::kF16); }
void BM_AttentionPrefillF32(benchmark::State& s) { Run(s, 512, s.range(0) + 512, ops::KvDType::kF32); }

// ReAttention's decode scope at 32K tokens: 32 global keys, 127 spans of 32 keys spread over the middle and
// the 4096 most recent, each span its own run with its own query copy (ops::AttentionRuns); 8192 keys in all,
// as BM_AttentionDecodeF16/8192 attends in one run. 30 layers in turn (cold), time per layer.
void RunRunsCold(benchmark::State& state, ops::KvDType t) {
  constexpr int kLayers = 30;
  constexpr int64_t kN = 32768, kSpans = 127, kSpan = 32;
  std::vector<KvData> layers;
  for (int i = 0; i < kLayers; ++i) layers.push_back(Make(1, kN, t));
  std::vector<ops::KeyRun> runs{{.k0 = 0, .n = 32, .q_variant = 0}};
  for (int64_t s = 0; s < kSpans; ++s)
    runs.push_back({.k0 = 64 + s * ((kN - 4096 - 128) / kSpans), .n = kSpan, .q_variant = 1 + s});
  runs.push_back({.k0 = kN - 4096, .n = 4096, .q_variant = 1 + kSpans});
  const auto n_var = static_cast<int64_t>(runs.size());
  std::vector<float> q(static_cast<size_t>(n_var * kH * kD), 0.1f);
  int i = 0;
  for (auto _ : state) {
    KvData& d = layers[static_cast<size_t>(i)];
    i = (i + 1) % kLayers;
    ops::AttentionArgs a = ArgsFor(d, 1, kN, t);
    a.q = q.data();
    ops::AttentionRuns(a, runs, n_var);
    benchmark::DoNotOptimize(d.out.data());
  }
}
void BM_AttentionDecodeRunsF16Cold(benchmark::State& s) { RunRunsCold(s, ops::KvDType::kF16); }
void BM_AttentionDecodeRunsQ8_0Cold(benchmark::State& s) { RunRunsCold(s, ops::KvDType::kQ8_0); }

BENCHMARK(BM_AttentionDecodeF16)->Arg(512)->Arg(4096)->Arg(8192)->UseRealTime();
BENCHMARK(BM_AttentionDecodeRunsF16Cold)->UseRealTime();
BENCHMARK(BM_AttentionDecodeRunsQ8_0Cold)->UseRealTime();
BENCHMARK(BM_AttentionDecodeF16Cold)->Arg(4096)->Arg(8192)->UseRealTime();
BENCHMARK(BM_AttentionDecodeQ8_0)->Arg(512)->Arg(4096)->Arg(8192)->UseRealTime();
BENCHMARK(BM_AttentionDecodeQ8_0Cold)->Arg(4096)->Arg(8192)->UseRealTime();
BENCHMARK(BM_AttentionDecodeF32)->Arg(512)->Arg(4096)->Arg(8192)->UseRealTime();
BENCHMARK(BM_AttentionPrefillF16)->Arg(0)->Arg(1536)->Arg(7680)->UseRealTime();
BENCHMARK(BM_AttentionPrefillF32)->Arg(0)->Arg(1536)->Arg(7680)->UseRealTime();

}  // namespace
}  // namespace lm
