// Core tests: Status/Result behaviour, tensors, the thread pool's coverage of a range, human-readable sizes.
#include <atomic>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "core/status.h"
#include "core/str.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace lm {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument(StrCat("odd: ", x));
  return x / 2;
}

Status Chain(int x, int* out) {
  auto r = Half(x);
  if (!r.ok()) return r.status();
  *out = *r;
  LM_RETURN_IF_ERROR(Half(*r).status());
  return OkStatus();
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*Half(8), 4);
  auto bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().ToString(), "invalid argument: odd: 3");
  int v = 0;
  EXPECT_TRUE(Chain(8, &v).ok());
  EXPECT_EQ(Chain(6, &v).message(), "odd: 3");
}

TEST(Tensor, ZerosViewsAndReshape) {
  Tensor t = Tensor::Zeros(DType::kQ8_0, {3, 64});
  EXPECT_EQ(t.nbytes(), 3u * 2 * 34);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  Tensor r = Tensor::Zeros(DType::kF32, {2, 6}).Reshaped({3, 4});
  EXPECT_EQ(r.dim(0), 3);
  EXPECT_EQ(r.dim(-1), 4);
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 3, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (int rep = 0; rep < 50; ++rep) {
        pool.ParallelFor(n, [&](int64_t b, int64_t e, int) {
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
      }
      for (auto& h : hits) ASSERT_EQ(h.load(), 50) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ThreadPool, DynamicCoversEveryIndexExactlyOnceFromEveryThread) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 5, 64}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> bad_tid{0};
      for (int rep = 0; rep < 50; ++rep)
        pool.ParallelForDynamic(n, [&](int64_t i, int tid) {
          hits[static_cast<size_t>(i)].fetch_add(1);
          if (tid < 0 || tid >= threads) bad_tid.fetch_add(1);
        });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 50) << threads << " " << n;
      EXPECT_EQ(bad_tid.load(), 0);
    }
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  pool.ParallelFor(4, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i)
      pool.ParallelFor(10, [&](int64_t b2, int64_t e2, int) { total.fetch_add(static_cast<int>(e2 - b2)); });
  });
  EXPECT_EQ(total.load(), 40);
}

TEST(Str, HumanSeconds) {
  EXPECT_EQ(HumanSeconds(0.4), "0m0s");
  EXPECT_EQ(HumanSeconds(185.9), "3m5s");
  EXPECT_EQ(HumanSeconds(3599), "59m59s");
  EXPECT_EQ(HumanSeconds(3725), "1h2m");
  EXPECT_EQ(HumanSeconds(NAN), "?");
  EXPECT_EQ(HumanSeconds(INFINITY), "?");
}

}  // namespace
}  // namespace lm
