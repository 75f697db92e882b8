// ReAttention's decode step at the default model's shape (3 KV heads x 3 query rows, head_dim 64, top-4).
// The top-k sweep alone over n middle keys per KV head, f16 or q8_0 selection keys; a whole decode step of
// ReAttentionKv (append, selection, attention over the re-positioned scope) after 32K cached tokens, q8_0 keys
// and values, exact sweep or block selection; and a 512-token prefill chunk's sweep. Decode benches are cold:
// 30 layers in turn, as a decode step reads them (at 28,672 keys 330 MB of f16 per step, from DRAM). Time per
// layer; keys_GB/s = key bytes read.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "memory/reattention/reattention.h"
#include "memory/reattention/scorer.h"
#include "ops/attention.h"

namespace lm {
namespace {

constexpr int64_t kHkv = 3, kRows = 3, kD = 64, kTopK = 4, kLayers = 30;

// The top-k sweep of `rows` query rows per KV head over n middle keys per KV head (state.range(0)), keys of
// `layers` layers taken in turn. GFLOP/s counts the q . k products.
void RunSweep(benchmark::State& state, ops::KvDType t, int64_t rows, int64_t layers) {
  const int64_t n = state.range(0);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(kHkv * rows * kD)), k(static_cast<size_t>(n * kD));
  for (auto& x : q) x = nd(rng);
  std::vector<std::vector<uint8_t>> keys(static_cast<size_t>(layers * kHkv));
  for (auto& layer_head : keys) {
    for (auto& x : k) x = nd(rng);
    layer_head.resize(static_cast<size_t>(ops::KvBytes(t, n * kD)));
    ops::StoreKv(t, k.data(), layer_head.data(), n * kD);
  }
  std::vector<float> best_s(static_cast<size_t>(kHkv * rows * kTopK));
  std::vector<int32_t> best_i(best_s.size());
  std::vector<reattention::ScoreJob> jobs(static_cast<size_t>(kHkv));
  reattention::TopKScorer scorer;
  int64_t layer = 0;
  for (auto _ : state) {
    for (int64_t h = 0; h < kHkv; ++h)
      jobs[static_cast<size_t>(h)] = {.q = q.data() + h * rows * kD, .n_rows = rows,
                                      .keys = keys[static_cast<size_t>(layer * kHkv + h)].data(), .n_keys = n,
                                      .type = t, .best_s = best_s.data() + h * rows * kTopK,
                                      .best_i = best_i.data() + h * rows * kTopK};
    scorer.Run(jobs, kD, kTopK);
    benchmark::DoNotOptimize(best_i.data());
    layer = (layer + 1) % layers;
  }
  const auto iters = static_cast<double>(state.iterations());
  state.counters["keys_GB/s"] = benchmark::Counter(
      static_cast<double>(kHkv * ops::KvBytes(t, n * kD)) * 1e-9 * iters, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(kHkv * rows * n * kD) * 1e-9 * iters,
                                                 benchmark::Counter::kIsRate);
}

void BM_ReAttentionSweepF16(benchmark::State& s) { RunSweep(s, ops::KvDType::kF16, kRows, kLayers); }
void BM_ReAttentionSweepQ8_0(benchmark::State& s) { RunSweep(s, ops::KvDType::kQ8_0, kRows, kLayers); }
// The prefill sweep: a 512-token chunk's rows (3 x 512 per KV head: sgemm against widened key blocks, then each
// row's running top-k), one layer's f16 keys (in L3 at 4096 keys, DRAM beyond).
void BM_ReAttentionChunkSweep(benchmark::State& s) { RunSweep(s, ops::KvDType::kF16, 512 * kRows, 1); }

// One decode step of one layer after kDepth tokens (random keys: block selection still scores its share F of
// the blocks, and the vote still names up to 36 spans), with the defaults of `--memory reattention` for an 8K
// window and q8_0 caches. Arg: select_blocks (0 = exact sweep). The filled cache is kept between calls with
// the same arg, so --benchmark_repetitions costs one fill.
struct DecodeStepFixture {
  static constexpr int64_t kDepth = 32768, kH = 9, kFill = 1024, kQueries = 64;
  explicit DecodeStepFixture(int64_t blocks) : blocks(blocks), mem(Geometry(), Params(blocks)) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    // Keys and values are windows of one pool of normals at random offsets (drawing 377M normals would take
    // longer than the benchmark).
    pool.resize(static_cast<size_t>(5 * kFill * kHkv * kD));
    qs.resize(static_cast<size_t>(kQueries * kH * kD));
    for (auto* x : {&pool, &qs})
      for (auto& e : *x) e = nd(rng);
    std::uniform_int_distribution<int64_t> at(0, 4 * kFill * kHkv * kD);
    for (int l = 0; l < kLayers; ++l)
      for (int64_t t0 = 0; t0 < kDepth; t0 += kFill) mem.Append(l, &pool[at(rng)], &pool[at(rng)], kFill);
  }
  static MemoryGeometry Geometry() {
    MemoryGeometry g{.n_layer = kLayers, .n_head = kH, .n_head_kv = kHkv, .head_dim = kD};
    g.rope = {.head_dim = kD, .rot_dim = kD, .theta = 100000.0f};
    return g;
  }
  static ReAttentionParams Params(int64_t blocks) {
    ReAttentionParams p;
    p.n_local = 4096;
    p.selection.top_k = kTopK;
    p.selection.recall_clip = (8192 - p.n_global - p.n_local) / p.selection.span;
    p.max_tokens = kDepth + 16384;  // reserved once: the steps append without reallocating
    p.kv_type = p.select_type = ops::KvDType::kQ8_0;
    p.select_blocks = blocks;
    return p;
  }
  int64_t blocks;
  ReAttentionKv mem;
  std::vector<float> pool, qs;
  int layer = 0, step = 0;
  int32_t pos = kDepth;
};

void BM_ReAttentionDecodeStep(benchmark::State& state) {
  static std::unique_ptr<DecodeStepFixture> f;
  if (!f || f->blocks != state.range(0)) {
    f.reset();  // one 0.9 GB cache at a time
    f = std::make_unique<DecodeStepFixture>(state.range(0));
  }
  constexpr int64_t kQ = DecodeStepFixture::kH * kD;
  std::vector<float> q(static_cast<size_t>(kQ)), out(q.size());
  for (auto _ : state) {
    // A fresh copy of one of the queries (Attend rotates it in place).
    std::copy_n(f->qs.begin() + (f->step++ % DecodeStepFixture::kQueries) * kQ, kQ, q.begin());
    const AttendRequest r{.layer = f->layer, .q = q.data(), .k = f->pool.data(), .v = f->pool.data() + kQ,
                          .pos = &f->pos, .n_tokens = 1, .out = out.data()};
    benchmark::DoNotOptimize(f->mem.Attend(r));
    if (++f->layer == kLayers) f->layer = 0, ++f->pos;
  }
  state.counters["scope"] = static_cast<double>(f->mem.last_scope(0));
}

BENCHMARK(BM_ReAttentionDecodeStep)->Arg(0)->Arg(32)->ArgNames({"blocks"})->UseRealTime();
BENCHMARK(BM_ReAttentionSweepF16)->Arg(4096)->Arg(28672)->UseRealTime();
BENCHMARK(BM_ReAttentionSweepQ8_0)->Arg(4096)->Arg(28672)->UseRealTime();
BENCHMARK(BM_ReAttentionChunkSweep)->Arg(4096)->Arg(28672)->UseRealTime();

}  // namespace
}  // namespace lm
