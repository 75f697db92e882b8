// Tests for lm_backend: QueryDevice(kCpu), SgemmNT/SgemmNN against naive loops, CUDA-off behaviour.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/cpu/blas.h"
#include "backend/cuda/cuda_ops.h"
#include "backend/device.h"

namespace lm {
namespace {

std::vector<float> Filled(size_t n, float phase) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 0.731f + phase);
  return v;
}

TEST(BackendTest, CpuQueryDevice) {
  Result<DeviceInfo> info = QueryDevice(DeviceKind::kCpu);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->kind, DeviceKind::kCpu);
  EXPECT_FALSE(info->name.empty());
  EXPECT_GT(info->total_memory, 0u) << "MemTotal missing from /proc/meminfo?";
}

// A[M, K] · B[N, K]^T summed in double, row-major [M, N].
std::vector<double> NaiveNT(int64_t m, int64_t n, int64_t k, const std::vector<float>& a,
                            const std::vector<float>& b) {
  std::vector<double> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a[i * k + p]) * b[j * k + p];
      c[static_cast<size_t>(i * n + j)] = s;
    }
  return c;
}

// Odd sizes catch leading-dimension mix-ups that square power-of-two shapes hide.
TEST(BackendTest, SgemmNTMatchesNaive) {
  const int64_t m = 7, n = 13, k = 5;
  const auto a = Filled(m * k, 0.1f), b = Filled(n * k, 0.7f);  // a: [M, K], b: [N, K]
  std::vector<float> c(m * n, NAN);                             // beta = 0 must overwrite even NaN
  SgemmNT(m, n, k, a.data(), b.data(), c.data());
  const std::vector<double> want = NaiveNT(m, n, k, a, b);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(c[i * n + j], want[i * n + j], 1e-5) << i << "," << j;
  // Accumulating form: C = 0.5 * A B^T + 1 * C doubles as "C += ...".
  std::vector<float> acc(m * n, 1.0f);
  SgemmNT(m, n, k, a.data(), b.data(), acc.data(), 0.5f, 1.0f);
  for (int64_t i = 0; i < m * n; ++i) EXPECT_NEAR(acc[i], 1.0f + 0.5f * c[i], 1e-5);
}

TEST(BackendTest, SgemmNNMatchesNaive) {
  const int64_t m = 7, n = 13, k = 5;
  const auto a = Filled(m * k, 0.3f), b = Filled(k * n, 1.1f);  // a: [M, K], b: [K, N]
  std::vector<float> c(m * n, 2.0f);
  SgemmNN(m, n, k, a.data(), b.data(), c.data(), 1.0f, 1.0f);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = 2.0;
      for (int64_t p = 0; p < k; ++p) want += static_cast<double>(a[i * k + p]) * b[p * n + j];
      EXPECT_NEAR(c[i * n + j], want, 1e-5) << i << "," << j;
    }
}

TEST(BackendTest, BlasThreads) {
  SetBlasThreads(1);
  EXPECT_EQ(GetBlasThreads(), 1);
}

// Debian's OpenBLAS gives AMD's AVX-512 CPUs its AVX2 kernels and CPUs it does not know (an AVX-512 Xeon in
// a VM that hides its model) its SSE3 ones; the wrapper switches to the widest table the CPU runs (about
// 1.9x the sgemm rate on Zen 4). Where the library's choice is already that wide it must stand.
TEST(BackendTest, BlasUsesTheWidestKernelsTheCpuRuns) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) GTEST_SKIP() << "OPENBLAS_CORETYPE is set; it is obeyed";
  const std::string core = BlasCoreName();
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx512) {
    EXPECT_TRUE(core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids") << core;
  } else if (avx2) {
    // Never the SSE3 fallback OpenBLAS picks for a CPU model it does not know (a VM hiding it, say).
    EXPECT_TRUE(core == "Haswell" || core == "Zen") << core;
  } else {
    EXPECT_NE(core, "SkylakeX");
  }
  // Whichever kernels run, a product large enough to take their blocked path matches the plain sum.
  const int64_t m = 67, n = 45, k = 129;
  const auto a = Filled(m * k, 0.2f), b = Filled(n * k, 0.9f);
  std::vector<float> c(m * n);
  SgemmNT(m, n, k, a.data(), b.data(), c.data());
  const std::vector<double> want = NaiveNT(m, n, k, a, b);
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(c[i] - want[i]));
  EXPECT_LT(worst, 1e-4) << "kernels " << core;
}

TEST(BackendTest, CudaUnavailableIsACleanStatus) {
  const std::vector<float> x(8, 1.0f), w(4, 1.0f);
  std::vector<float> y(8);
  Status st = CudaRmsNorm(x.data(), w.data(), y.data(), 2, 4, 1e-6f);
  Result<DeviceInfo> dev = QueryDevice(DeviceKind::kCuda);
  if (!CudaBuilt()) {
    EXPECT_EQ(st.code(), StatusCode::kUnavailable);
    EXPECT_NE(st.message().find("LM_CUDA=OFF"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("hint: install the CUDA toolkit"), std::string::npos) << st.message();
    ASSERT_FALSE(dev.ok());
    EXPECT_EQ(dev.status().code(), StatusCode::kUnavailable);
  } else if (!dev.ok()) {
    // Built with CUDA on a machine without a GPU/driver: still a clean Unavailable, never a crash.
    EXPECT_EQ(dev.status().code(), StatusCode::kUnavailable) << dev.status().ToString();
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  } else {
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

}  // namespace
}  // namespace lm
