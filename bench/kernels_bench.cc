// Product kernels at the default model's shapes (K=576→N=576/192/1536, K=1536→N=576, LM head 576→49152),
// single-threaded kernel calls and ops::MatMul on the global pool, for T=1 (decode) and T=512 (prefill).
// Counters: weight GB/s (bytes of W read per call / time) and GFLOP/s (2·T·N·K / time). BM_StreamRead is the
// memory-bandwidth ceiling that decode's weight reads are held to.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "backend/cpu/blas.h"
#include "backend/cpu/gemm.h"
#include "core/thread_pool.h"
#include "ops/gemm_test_util.h"
#include "ops/matmul.h"

namespace lm {
namespace {

constexpr int64_t kShapes[][2] = {{576, 576}, {576, 192}, {576, 1536}, {1536, 576}, {576, 49152}};

void SetCounters(benchmark::State& st, DType t, int64_t N, int64_t K, int64_t T) {
  const double w_bytes = static_cast<double>(*BytesFor(t, N * K));
  st.counters["W_GB/s"] = benchmark::Counter(w_bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * T * N * K * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ops::MatMul end to end (activation quantisation + dispatch + thread pool), args: K, N, T, threads.
void BM_MatMul(benchmark::State& st, DType t, ops::MatMulMode mode) {
  const int64_t K = st.range(0), N = st.range(1), T = st.range(2);
  SetGlobalThreads(static_cast<int>(st.range(3)));
  const auto w = test::RandomRows(t, N, K, 1);
  const Tensor wt = Tensor::View(t, {N, K}, w.data(), nullptr);
  const auto x = test::RandomActivations(T * K, 2);
  std::vector<float> y(static_cast<size_t>(T * N));
  ops::SetMatMulMode(mode);
  for (auto _ : st) {
    ops::MatMul(x.data(), wt, y.data(), T);
    benchmark::DoNotOptimize(y.data());
  }
  ops::SetMatMulMode(ops::MatMulMode::kFast);
  SetCounters(st, t, N, K, T);
}

// QuantGemm alone on one thread (no pool, no activation quantisation): args K, N, T. Single-threaded
// numbers are the robust ones on a shared 2-core machine, where a 2-thread region waits on a busy core.
void BM_Kernel(benchmark::State& st, DType t) {
  const int64_t K = st.range(0), N = st.range(1), T = st.range(2);
  const auto w = test::RandomRows(t, N, K, 1);
  const auto x = test::RandomActivations(T * K, 2);
  Q8Buffer buf;
  const Q8Rows xq = buf.Quantize(x.data(), T, K);
  std::vector<float> y(static_cast<size_t>(T * N));
  const QuantGemmArgs a{.w_type = t, .w = w.data(), .row_bytes = static_cast<int64_t>(*BytesFor(t, K)), .n_rows = N,
                        .x = xq, .T = T, .y = y.data(), .ldy = N};
  for (auto _ : st) {
    QuantGemm(a);
    benchmark::DoNotOptimize(y.data());
  }
  SetCounters(st, t, N, K, T);
}

// The decode limit: reading a buffer far larger than the caches once, split across the pool's threads the way
// a matmul splits its rows (args: MiB, threads). 64-bit XOR lanes vectorise and cost nothing beside the loads.
void BM_StreamRead(benchmark::State& st) {
  const int64_t n = st.range(0) * (1 << 20) / 8;
  SetGlobalThreads(static_cast<int>(st.range(1)));
  std::vector<uint64_t> buf(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  std::vector<uint64_t> part(64);
  for (auto _ : st) {
    GlobalPool().ParallelFor(n / 4096, [&](int64_t b, int64_t e, int thread) {
      uint64_t x[8] = {};
      for (int64_t i = b * 4096; i < e * 4096; i += 8)
        for (int j = 0; j < 8; ++j) x[j] ^= buf[i + j];
      part[static_cast<size_t>(thread)] ^= x[0] ^ x[1] ^ x[2] ^ x[3] ^ x[4] ^ x[5] ^ x[6] ^ x[7];
    });
    benchmark::DoNotOptimize(part.data());
  }
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(n) * 8e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StreamRead)->Args({512, 1})->Args({512, 2})->ArgNames({"MiB", "thr"})->UseRealTime()->MinTime(1.0);

void KernelArgs(benchmark::internal::Benchmark* b) {
  for (const auto& s : kShapes)
    for (int64_t T : {1, 64, 512})
      if (!(s[1] > 4096 && T > 64)) b->Args({s[0], s[1], T});
  b->ArgNames({"K", "N", "T"})->MinTime(0.1);
}
BENCHMARK_CAPTURE(BM_Kernel, q4_1, DType::kQ4_1)->Apply(KernelArgs);
BENCHMARK_CAPTURE(BM_Kernel, q8_0, DType::kQ8_0)->Apply(KernelArgs);
BENCHMARK_CAPTURE(BM_Kernel, q4_0, DType::kQ4_0)->Apply(KernelArgs);
BENCHMARK_CAPTURE(BM_Kernel, q5_1, DType::kQ5_1)->Apply(KernelArgs);
BENCHMARK_CAPTURE(BM_Kernel, q4_K, DType::kQ4_K)->Apply(KernelArgs);

void Args(benchmark::internal::Benchmark* b) {
  for (const auto& s : kShapes)
    for (int64_t T : {1, 512})
      b->Args({s[0], s[1], T, 2});
  b->ArgNames({"K", "N", "T", "thr"})->UseRealTime()->MinTime(0.2);
}

#define LM_BENCH_MATMUL(name, type, mode) \
  BENCHMARK_CAPTURE(BM_MatMul, name, type, mode)->Apply(Args)

LM_BENCH_MATMUL(q4_1, DType::kQ4_1, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(q8_0, DType::kQ8_0, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(q4_0, DType::kQ4_0, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(q5_1, DType::kQ5_1, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(q4_K, DType::kQ4_K, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(q6_K, DType::kQ6_K, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(f16, DType::kF16, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(bf16, DType::kBF16, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(f32_blas, DType::kF32, ops::MatMulMode::kFast);
LM_BENCH_MATMUL(q4_1_exact, DType::kQ4_1, ops::MatMulMode::kExact);
LM_BENCH_MATMUL(q8_0_exact, DType::kQ8_0, ops::MatMulMode::kExact);
LM_BENCH_MATMUL(f16_exact, DType::kF16, ops::MatMulMode::kExact);

}  // namespace
}  // namespace lm

int main(int argc, char** argv) {
  std::printf("SIMD target: %s, OpenBLAS kernels: %s\n", lm::GemmTargetName(), lm::BlasCoreName().c_str());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
