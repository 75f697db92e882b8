// MatMul dispatch by weight type: f32 → OpenBLAS; quantised → int8 kernels on Q8 activations;
// f16/bf16 → widening f32 kernels; prefill-sized batches (and kExact mode) → dequantise row panels to f32
// and use OpenBLAS. One ParallelFor per call over output rows (MatMulMulti: one for several weights sharing
// the input), slices claimed dynamically; buffers are reused, so steady-state calls do not allocate.
#include "ops/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend/cpu/blas.h"
#include "backend/cpu/gemm.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "ops/activations.h"
#include "ops/half.h"

namespace lm::ops {

namespace {

// LONGMEM_MATMUL_MODE=exact selects kExact from the start (CLI tests that expect reference tokens).
MatMulMode InitialMode() {
  const char* v = std::getenv("LONGMEM_MATMUL_MODE");
  return v != nullptr && std::strcmp(v, "exact") == 0 ? MatMulMode::kExact : MatMulMode::kFast;
}
std::atomic<MatMulMode> g_mode{InitialMode()};

// Row slices of 16 keep each thread's columns of y on whole 64-byte lines.
constexpr int64_t kRowAlign = 16;

// Slices per thread: more than one, handed out dynamically, so that on a shared machine a worker that
// starts late (descheduled) does not hold the others up - the thread that is running takes its slices.
constexpr int64_t kSlicesPerThread = 4;

// From this many tokens on, a product dequantises W in row panels and runs sgemm: each weight is converted
// once per panel and used by T tokens, and the blocked sgemm kernels beat the int8 and widening kernels,
// which re-read activations per row tile. Crossovers measured on AVX2 (`lm_bench_kernels`, 576 x 1536, 2
// threads, docs/RESULTS.md): ~32 tokens for f16 and q8_0, whose rows convert with SIMD or a simple scale,
// 64-128 for the nibble formats, whose block decoders (core/quant) are scalar.
int64_t PanelMinTokens(DType t) {
  return t == DType::kF16 || t == DType::kBF16 || t == DType::kQ8_0 ? 32 : 128;
}

// A panel is at most this many bytes of f32: larger panels mean fewer sgemm calls, each of which packs all
// of x again (256 KiB panels, 32 rows at K = 1536, cost the down projection ~25%).
constexpr int64_t kPanelBytes = 1024 * 1024;

// Splits rows [0, N) into slices aligned to kRowAlign and calls fn(n0, n1, thread) for each, the slices
// claimed from an atomic counter by whichever pool thread comes first.
template <class Fn>
void ForRowSlices(int64_t N, const Fn& fn, int64_t slices_per_thread = kSlicesPerThread) {
  const int threads = GlobalPool().n_threads();
  struct Slices {
    const Fn* fn;
    int64_t N, n;
    std::atomic<int64_t> next{0};
  } sl{&fn, N, std::min<int64_t>(threads * slices_per_thread, (N + kRowAlign - 1) / kRowAlign)};
  // Capturing one pointer keeps the std::function inside ParallelFor in its small buffer (no allocation).
  GlobalPool().ParallelFor(std::min<int64_t>(threads, sl.n), [&sl](int64_t, int64_t, int thread) {
    for (int64_t s = sl.next.fetch_add(1, std::memory_order_relaxed); s < sl.n;
         s = sl.next.fetch_add(1, std::memory_order_relaxed)) {
      const int64_t n0 = (sl.N * s / sl.n) / kRowAlign * kRowAlign;
      const int64_t n1 = s + 1 == sl.n ? sl.N : (sl.N * (s + 1) / sl.n) / kRowAlign * kRowAlign;
      if (n1 > n0) (*sl.fn)(n0, n1, thread);
    }
  });
}

void MatMulBlas(const float* x, const Tensor& w, float* y, int64_t T) {
  const int64_t N = w.dim(0), K = w.dim(1);
  // One thread pool for the process: OpenBLAS runs single-threaded inside each worker's slice.
  ForRowSlices(N, [&](int64_t n0, int64_t n1, int) {
    SgemmNTStrided(T, n1 - n0, K, x, w.data<float>() + n0 * K, y + n0, N);
  });
}

// Per-thread f32 panel for the panel path; grown on first use, reused afterwards.
std::vector<float>& Panel(int thread) {
  static std::vector<std::vector<float>> panels(256);
  return panels[static_cast<size_t>(thread) % panels.size()];
}

// Rows [r0, r0 + rows) of w as f32. The values are the dequantised weights exactly, whichever routine
// converts them (f16 takes the SIMD widening; the rest core/quant's block decoders).
void DequantizeRows(const Tensor& w, int64_t r0, int64_t rows, float* dst) {
  const int64_t K = w.dim(1);
  if (w.dtype() == DType::kF16) {
    ConvertF16ToF32(static_cast<const uint16_t*>(w.raw()) + r0 * K, dst, rows * K);
    return;
  }
  const uint64_t row_bytes = *BytesFor(w.dtype(), K);
  const auto* base = static_cast<const uint8_t*>(w.raw());
  for (int64_t r = 0; r < rows; ++r)
    DequantizeRow(w.dtype(), base + static_cast<uint64_t>(r0 + r) * row_bytes, dst + r * K, K);
}

// Rows [n0, n1) of y = x · wᵀ, panel by panel; y has row stride ldy.
void PanelRows(const float* x, const Tensor& w, float* y, int64_t ldy, int64_t T, int64_t n0, int64_t n1,
               int thread) {
  const int64_t K = w.dim(1);
  const int64_t panel_rows = std::max<int64_t>(kRowAlign, kPanelBytes / (K * 4) / kRowAlign * kRowAlign);
  std::vector<float>& panel = Panel(thread);
  if (panel.size() < static_cast<size_t>(panel_rows * K)) panel.resize(static_cast<size_t>(panel_rows * K));
  for (int64_t p0 = n0; p0 < n1; p0 += panel_rows) {
    const int64_t rows = std::min(panel_rows, n1 - p0);
    DequantizeRows(w, p0, rows, panel.data());
    SgemmNTStrided(T, rows, K, x, panel.data(), y + p0, ldy);
  }
}

// Two slices per thread: sgemm's cost per call (packing x) favours few large calls over load balance.
constexpr int64_t kPanelSlicesPerThread = 2;

void MatMulPanels(const float* x, const Tensor& w, float* y, int64_t T) {
  const int64_t N = w.dim(0);
  ForRowSlices(
      N, [&](int64_t n0, int64_t n1, int thread) { PanelRows(x, w, y, N, T, n0, n1, thread); },
      kPanelSlicesPerThread);
}

void MatMulQuant(const float* x, const Tensor& w, float* y, int64_t T) {
  const int64_t N = w.dim(0), K = w.dim(1);
  // Activations are quantised once, before the parallel region; the buffer belongs to the calling thread.
  thread_local Q8Buffer buffer;
  const Q8Rows xq = buffer.Quantize(x, T, K);
  const int64_t row_bytes = static_cast<int64_t>(*BytesFor(w.dtype(), K));
  const auto* base = static_cast<const uint8_t*>(w.raw());
  ForRowSlices(N, [&](int64_t n0, int64_t n1, int) {
    QuantGemm({.w_type = w.dtype(), .w = base + n0 * row_bytes, .row_bytes = row_bytes, .n_rows = n1 - n0,
               .x = xq, .T = T, .y = y + n0, .ldy = N});
  });
}

void MatMulFloat(const float* x, const Tensor& w, float* y, int64_t T) {
  const int64_t N = w.dim(0), K = w.dim(1);
  const auto* base = static_cast<const uint16_t*>(w.raw());
  ForRowSlices(N, [&](int64_t n0, int64_t n1, int) {
    FloatGemm({.w_type = w.dtype(), .w = base + n0 * K, .n_rows = n1 - n0, .x = x, .K = K, .T = T, .y = y + n0,
               .ldy = N});
  });
}

bool UsesPanels(const Tensor& w, int64_t T) {
  return w.dtype() != DType::kF32 && (GetMatMulMode() == MatMulMode::kExact || T >= PanelMinTokens(w.dtype()));
}

// QuantGemmSupports admits only the block formats (not f32, f16 or bf16).
bool UsesQuantKernel(const Tensor& w, int64_t T) {
  return w.rank() == 2 && QuantGemmSupports(w.dtype()) && !UsesPanels(w, T) && w.dim(1) % 32 == 0;
}

}  // namespace

void SetMatMulMode(MatMulMode mode) { g_mode.store(mode); }
MatMulMode GetMatMulMode() { return g_mode.load(); }

void MatMul(const float* x, const Tensor& w, float* y, int64_t n_tokens, const float* bias) {
  LM_CHECK(w.rank() == 2, "MatMul expects a 2-d weight, got rank ", w.rank());
  const DType t = w.dtype();
  if (t == DType::kF32) {
    MatMulBlas(x, w, y, n_tokens);
  } else if (UsesPanels(w, n_tokens)) {
    MatMulPanels(x, w, y, n_tokens);
  } else if (t == DType::kF16 || t == DType::kBF16) {
    MatMulFloat(x, w, y, n_tokens);
  } else {
    LM_CHECK(QuantGemmSupports(t) && w.dim(1) % 32 == 0, "MatMul: no kernel for ", Name(t), " with K = ", w.dim(1));
    MatMulQuant(x, w, y, n_tokens);
  }
  if (bias) AddBiasRows(y, bias, n_tokens, w.dim(0));
}

void MatMulMulti(const float* x, std::span<const MatMulOut> outs, int64_t T) {
  bool fused = !outs.empty();
  for (const MatMulOut& o : outs) fused = fused && UsesQuantKernel(*o.w, T) && o.w->dim(1) == outs[0].w->dim(1);
  if (!fused) {
    for (const MatMulOut& o : outs) MatMul(x, *o.w, o.y, T, o.bias);
    return;
  }
  const int64_t K = outs[0].w->dim(1);
  thread_local Q8Buffer buffer;
  const Q8Rows xq = buffer.Quantize(x, T, K);
  int64_t total = 0;
  for (const MatMulOut& o : outs) total += o.w->dim(0);
  // The outputs' rows laid end to end form one range; each slice covers parts of one or more outputs.
  ForRowSlices(total, [&](int64_t n0, int64_t n1, int) {
    int64_t start = 0;
    for (const MatMulOut& o : outs) {
      const int64_t N = o.w->dim(0), b = std::max(n0, start) - start, e = std::min(n1, start + N) - start;
      start += N;
      if (b >= e) continue;
      const int64_t row_bytes = static_cast<int64_t>(*BytesFor(o.w->dtype(), K));
      QuantGemm({.w_type = o.w->dtype(), .w = static_cast<const uint8_t*>(o.w->raw()) + b * row_bytes,
                 .row_bytes = row_bytes, .n_rows = e - b, .x = xq, .T = T, .y = o.y + b, .ldy = N});
    }
  });
  for (const MatMulOut& o : outs)
    if (o.bias) AddBiasRows(o.y, o.bias, T, o.w->dim(0));
}

}  // namespace lm::ops
