// OpenBLAS sgemm wrappers: shape checks, then one cblas_sgemm call.
#include "backend/cpu/blas.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>

#include "core/check.h"
#include "core/log.h"

// OpenBLAS built with DYNAMIC_ARCH (Debian's) exports these: quit forgets the kernel table chosen at load
// time, init chooses again (reading OPENBLAS_CORETYPE). Weak, so an OpenBLAS without them still links.
extern "C" {
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
}

namespace lm {
namespace {

// Debian's OpenBLAS 0.3.21 picks its kernel table from the CPU's family and model, not its features, and
// so under-serves CPUs it does not know: AMD Zen 4/5 get the AVX2 "Haswell" kernels, although they run the
// AVX-512 "SkylakeX" ones (AVX-512 F/CD/BW/DQ/VL only) at ~1.9x the rate (181-205 against 360-385 GFLOP/s
// for sgemm on 2 threads of the AVX-512 host in perf-notes.md), and an AVX-512 Xeon inside a VM that hides
// its model (seen on a Firecracker guest) gets "Prescott", the SSE3 fallback. The table is picked in
// OpenBLAS's load-time constructor, before main, so it is picked again here, from the features, before the
// first BLAS call. A user's own OPENBLAS_CORETYPE is left alone, as is a table at least as wide as the CPU.
bool CpuHasAvx512Kernels() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

// The table the CPU's features can run when OpenBLAS chose a narrower one, else nullptr.
const char* WiderCoreType(const std::string& core) {
  const bool avx512_core = core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids";
  if (avx512_core) return nullptr;
  __builtin_cpu_init();
  if (CpuHasAvx512Kernels()) return "SkylakeX";
  const bool avx2_core = core == "Haswell" || core == "Zen";
  if (!avx2_core && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

void PreferWidestKernels() {
  if (gotoblas_dynamic_init == nullptr || gotoblas_dynamic_quit == nullptr) return;
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const std::string core = openblas_get_corename();
  const char* wider = WiderCoreType(core);
  if (wider == nullptr) return;
  setenv("OPENBLAS_CORETYPE", wider, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
  LogDebug("OpenBLAS kernels: ", core, " -> ", openblas_get_corename());
}

// cblas takes int sizes (OpenBLAS built with 32-bit integers, as Debian ships it).
blasint ToBlasInt(int64_t v, const char* what) {
  LM_CHECK(v >= 0 && v <= std::numeric_limits<blasint>::max(), "sgemm: ", what, " = ", v, " out of range");
  return static_cast<blasint>(v);
}

// longmem parallelises around BLAS with its own pool, so OpenBLAS defaults to one thread unless a caller
// asked for more; two pools spinning on the same cores cost 2-3x (see docs/RESULTS.md).
std::atomic<bool> g_threads_set_by_user{false};

void DefaultToOneThread() {
  static std::once_flag once;
  std::call_once(once, [] {
    PreferWidestKernels();
    if (!g_threads_set_by_user.load()) openblas_set_num_threads(1);
  });
}

}  // namespace

void SgemmNT(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float alpha,
             float beta) {
  DefaultToOneThread();
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  if (M == 0 || N == 0) return;
  // Leading dimensions must be >= 1 even for empty K (BLAS rejects 0).
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, alpha, a, K > 0 ? K : 1, b, K > 0 ? K : 1,
              beta, c, N);
}

void SgemmNTStrided(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, int64_t ldc) {
  DefaultToOneThread();
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  LM_CHECK(ldc >= n, "sgemm: ldc ", ldc, " < n ", n);
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K > 0 ? K : 1, b, K > 0 ? K : 1, 0.0f, c,
              ToBlasInt(ldc, "ldc"));
}

void SgemmNN(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, float alpha,
             float beta) {
  DefaultToOneThread();
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, a, K > 0 ? K : 1, b, N, beta, c, N);
}

void SgemmTN(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, float* c, float alpha,
             float beta) {
  DefaultToOneThread();
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  LM_CHECK(lda >= m, "sgemm: lda ", lda, " < m ", m);
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, alpha, a, std::max<blasint>(ToBlasInt(lda, "lda"), 1),
              b, N, beta, c, N);
}

void SgemmStrided(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  DefaultToOneThread();
  const blasint M = ToBlasInt(m, "M"), N = ToBlasInt(n, "N"), K = ToBlasInt(k, "K");
  LM_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n) && ldc >= n, "sgemm: strides lda ", lda, " ldb ",
           ldb, " ldc ", ldc, " too small for M ", m, " N ", n, " K ", k, (trans_a ? " (A^T)" : ""),
           (trans_b ? " (B^T)" : ""));
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
              alpha, a, std::max<blasint>(ToBlasInt(lda, "lda"), 1), b, std::max<blasint>(ToBlasInt(ldb, "ldb"), 1),
              beta, c, std::max<blasint>(ToBlasInt(ldc, "ldc"), 1));
}

void SetBlasThreads(int n_threads) {
  if (n_threads <= 0) return;
  g_threads_set_by_user.store(true);
  DefaultToOneThread();  // picks the kernels once; the count set next wins
  openblas_set_num_threads(n_threads);
}

int GetBlasThreads() { return openblas_get_num_threads(); }

std::string BlasCoreName() {
  DefaultToOneThread();
  return openblas_get_corename();
}

}  // namespace lm
