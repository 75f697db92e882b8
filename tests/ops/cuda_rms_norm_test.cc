// CudaRmsNorm against a plain CPU RMSNorm; skips (with the reason) when CUDA is not built or no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cuda/cuda_ops.h"
#include "backend/device.h"

namespace lm {
namespace {

// y = x / sqrt(mean(x^2) + eps) * w, accumulated in double: the reference the kernel must match.
void RmsNormReference(const float* x, const float* w, float* y, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t c = 0; c < cols; ++c) ss += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
    const double scale = 1.0 / std::sqrt(ss / static_cast<double>(cols) + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = static_cast<float>(x[r * cols + c] * scale * w[c]);
  }
}

class CudaRmsNormTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CudaBuilt()) GTEST_SKIP() << "longmem built with LM_CUDA=OFF";
    Result<DeviceInfo> dev = QueryDevice(DeviceKind::kCuda);
    if (!dev.ok()) GTEST_SKIP() << "no usable CUDA device: " << dev.status().ToString();
  }
};

TEST_F(CudaRmsNormTest, MatchesCpuReference) {
  // 576 is SmolLM2-135M's width; 1 and 1000 exercise partial warps and more columns than threads.
  for (int64_t cols : {1, 31, 576, 1000, 4096}) {
    const int64_t rows = 5;
    std::vector<float> x(rows * cols), w(cols), got(rows * cols), want(rows * cols);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.37f) * 3.0f;
    for (size_t i = 0; i < w.size(); ++i) w[i] = 0.5f + std::cos(static_cast<float>(i) * 0.11f);
    ASSERT_TRUE(CudaRmsNorm(x.data(), w.data(), got.data(), rows, cols, 1e-5f).ok());
    RmsNormReference(x.data(), w.data(), want.data(), rows, cols, 1e-5f);
    double max_err = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double err = std::abs(got[i] - want[i]) / std::max(1.0, std::abs(static_cast<double>(want[i])));
      max_err = std::max(max_err, err);
    }
    EXPECT_LE(max_err, 1e-5) << "cols=" << cols;
  }
}

TEST_F(CudaRmsNormTest, InPlaceAndEmpty) {
  std::vector<float> x = {3.0f, 4.0f}, w = {1.0f, 1.0f};
  ASSERT_TRUE(CudaRmsNorm(x.data(), w.data(), x.data(), 1, 2, 0.0f).ok());  // y aliases x
  // rms = sqrt((9 + 16) / 2) = 3.5355
  EXPECT_NEAR(x[0], 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(x[1], 4.0 / std::sqrt(12.5), 1e-6);
  EXPECT_TRUE(CudaRmsNorm(nullptr, nullptr, nullptr, 0, 8, 1e-6f).ok());
  EXPECT_EQ(CudaRmsNorm(x.data(), w.data(), x.data(), -1, 2, 1e-6f).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lm
