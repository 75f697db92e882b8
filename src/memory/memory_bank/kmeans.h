// Lloyd's k-means (squared L2) for the ivf-int8 chunk index's inverted lists, on the exact search kernel:
// nearest centroid = argmax over c of x·c − |c|²/2, one fused top-1 scan over augmented vectors.
#pragma once

#include <cstdint>
#include <vector>

namespace lm::membank {

// out[i] = the index of the centroid nearest to row i of x [n, d] (ties to the lower index);
// centroids: [k, d], k >= 1. Single-threaded (callers run one per pool item).
void AssignNearest(const float* x, int64_t n, int64_t d, const float* centroids, int64_t k, int32_t* out);

// k centroids [k, d] of x [n, d] (1 <= k <= n): started from k distinct rows drawn with `seed`, then
// `iterations` rounds of assign-and-average; a list left empty takes a random row, so every list has a key
// to start from. Deterministic for a given input and seed. Single-threaded.
std::vector<float> KMeans(const float* x, int64_t n, int64_t d, int64_t k, int iterations, uint64_t seed);

}  // namespace lm::membank
