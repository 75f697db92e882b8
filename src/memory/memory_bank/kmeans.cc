// k-means for the ivf-int8 index: assignment through the fused top-1 kernel, centroid sums in double.
#include "memory/memory_bank/kmeans.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/check.h"
#include "memory/memory_bank/exact_search.h"
#include "memory/memory_bank/row_topk.h"
#include "memory/memory_bank/topk_scan.h"

namespace lm::membank {

void AssignNearest(const float* x, int64_t n, int64_t d, const float* centroids, int64_t k, int32_t* out) {
  LM_CHECK(n >= 0 && d >= 1 && k >= 1, "AssignNearest: n ", n, " d ", d, " k ", k);
  if (n == 0) return;
  // |x − c|² = |x|² − 2 (x·c − |c|²/2): with x' = [x, 1] and c' = [c, −|c|²/2], the nearest centroid is the
  // top inner product x'·c'.
  const int64_t da = d + 1;
  std::vector<float> ca(static_cast<size_t>(k * da));
  for (int64_t c = 0; c < k; ++c) {
    const float* src = centroids + c * d;
    double sq = 0;
    for (int64_t j = 0; j < d; ++j) sq += static_cast<double>(src[j]) * src[j];
    std::copy_n(src, d, ca.data() + c * da);
    ca[c * da + d] = static_cast<float>(-0.5 * sq);
  }
  PackedKeys packed;
  LM_CHECK(packed.Reserve(k, da), "AssignNearest: cannot allocate ", k, " centroids of ", da, " floats");
  packed.Update(ca.data(), k, 0);
  constexpr int64_t kBlock = 256;
  std::vector<float> xa(static_cast<size_t>(std::min(n, kBlock) * da));
  std::vector<RowTopK> tops(static_cast<size_t>(std::min(n, kBlock)));
  for (int64_t r0 = 0; r0 < n; r0 += kBlock) {
    const int64_t nr = std::min(kBlock, n - r0);
    for (int64_t r = 0; r < nr; ++r) {
      std::copy_n(x + (r0 + r) * d, d, xa.data() + r * da);
      xa[r * da + d] = 1.0f;
      tops[r].Init(1);
    }
    TopKScan({.queries = xa.data(), .n_rows = nr, .head_dim = da, .packed = packed.data(), .j0 = 0, .j1 = k,
              .tops = tops.data()});
    for (int64_t r = 0; r < nr; ++r) out[r0 + r] = tops[r].Finish()[0].idx;
  }
}

std::vector<float> KMeans(const float* x, int64_t n, int64_t d, int64_t k, int iterations, uint64_t seed) {
  LM_CHECK(k >= 1 && k <= n && d >= 1, "KMeans: k ", k, " of n ", n, " rows, d ", d);
  std::mt19937_64 rng(seed);
  // k distinct starting rows: a partial Fisher-Yates shuffle of the row indices.
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(perm[i], perm[pick(rng)]);
  }
  std::vector<float> c(static_cast<size_t>(k * d));
  for (int64_t i = 0; i < k; ++i) std::copy_n(x + perm[i] * d, d, c.data() + i * d);

  std::vector<int32_t> assign(static_cast<size_t>(n));
  std::vector<double> sum(static_cast<size_t>(k * d));
  std::vector<int64_t> count(static_cast<size_t>(k));
  std::uniform_int_distribution<int64_t> any_row(0, n - 1);
  for (int it = 0; it < iterations; ++it) {
    AssignNearest(x, n, d, c.data(), k, assign.data());
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t a = assign[i];
      ++count[a];
      for (int64_t j = 0; j < d; ++j) sum[a * d + j] += x[i * d + j];
    }
    for (int64_t l = 0; l < k; ++l) {
      if (count[l] == 0) {
        std::copy_n(x + any_row(rng) * d, d, c.data() + l * d);
        continue;
      }
      for (int64_t j = 0; j < d; ++j) c[l * d + j] = static_cast<float>(sum[l * d + j] / static_cast<double>(count[l]));
    }
  }
  return c;
}

}  // namespace lm::membank
