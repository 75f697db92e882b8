// Training softmax row kernels (ExpShiftSum, MaskScaleMax) on every SIMD target against scalar std::exp /
// comparisons: lengths around every vector width, masked (-inf) entries exactly 0, NaN kept.
#include "hwy_test_util.h"  // first: the project's Highway target set
#include "train/ops/softmax_row.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace lm::train {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SoftmaxRow, ExpShiftSumMatchesStdExp) {
  test::ForEachHwyTarget([] {
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.0f, 4.0f);
    for (int64_t len : {1, 7, 8, 15, 16, 17, 33, 1000, 5000}) {
      std::vector<float> x(static_cast<size_t>(len));
      for (float& v : x) v = n(rng);
      x[0] = -kInf;                 // masked
      if (len > 5) x[5] = -200.0f;  // underflows: exactly 0
      const float shift = 3.0f;
      std::vector<float> got = x;
      const double sum = ExpShiftSum(got.data(), len, shift);
      double ref_sum = 0;
      for (int64_t i = 0; i < len; ++i) {
        const double ref = x[i] - shift < -87.0f ? 0.0 : std::exp(static_cast<double>(x[i] - shift));
        ref_sum += ref;
        EXPECT_NEAR(got[i], ref, 4e-7 * ref) << "len " << len << " i " << i;
      }
      EXPECT_EQ(got[0], 0.0f);
      if (len > 5) {
        EXPECT_EQ(got[5], 0.0f);
      }
      EXPECT_NEAR(sum, ref_sum, 1e-6 * ref_sum) << "len " << len;
    }
    std::vector<float> nan(20, 1.0f);
    nan[17] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(ExpShiftSum(nan.data(), 20, 0.0f)));
    EXPECT_TRUE(std::isnan(nan[17]));
  });
}

TEST(SoftmaxRow, MaskScaleMaxMatchesScalar) {
  test::ForEachHwyTarget([] {
    std::mt19937 rng(4);
    std::normal_distribution<float> n;
    std::uniform_int_distribution<int32_t> pos(0, 40);
    for (int64_t len : {1, 9, 16, 31, 100}) {
      std::vector<float> row(static_cast<size_t>(len));
      std::vector<int32_t> k_pos(static_cast<size_t>(len));
      for (int64_t i = 0; i < len; ++i) {
        row[i] = n(rng);
        k_pos[i] = pos(rng);
      }
      for (int32_t qp : {-1, 0, 20, 40}) {
        std::vector<float> got = row;
        const float mx = MaskScaleMax(got.data(), k_pos.data(), len, qp, 0.125f);
        float ref_mx = -kInf;
        for (int64_t i = 0; i < len; ++i) {
          const float ref = k_pos[i] <= qp ? row[i] * 0.125f : -kInf;
          ref_mx = std::max(ref_mx, ref);
          EXPECT_EQ(got[i], ref) << "len " << len << " q_pos " << qp << " i " << i;
        }
        EXPECT_EQ(mx, ref_mx) << "len " << len << " q_pos " << qp;
      }
    }
  });
}

}  // namespace
}  // namespace lm::train
