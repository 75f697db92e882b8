// Exact maximum-inner-product top-k over chunk keys. A fused SIMD kernel (topk_scan_hwy.cc) computes query·key
// scores in registers, a block of query rows × two vectors of keys at a time, and compares them with each
// row's running k-th-best threshold; only the rare score that beats it leaves the registers, so no score
// matrix is ever written and the search runs at the FMA rate of the machine.
#pragma once

#include <cstdint>
#include <memory>

namespace lm::membank {

// Keys in the kernel's layout: panels of kPanel consecutive keys, each panel [D][kPanel] f32 (component d of
// key j sits at panel j / kPanel, offset d * kPanel + j % kPanel), so one aligned vector load fetches one
// component of up to 16 keys. Storage is zero-padded to a multiple of kAlign keys (the widest kernel step),
// and kept current incrementally: appending keys repacks only the panel they start in.
class PackedKeys {
 public:
  static constexpr int64_t kPanel = 16;
  static constexpr int64_t kAlign = 32;

  // Room for `capacity` keys of dimension head_dim; false when the allocation fails. Empties the set.
  bool Reserve(int64_t capacity, int64_t head_dim);
  // Makes the packed set equal the first n rows of the row-major [n, D] array `keys`, assuming rows
  // [0, from) are already packed and unchanged (from = 0 repacks everything). n <= capacity.
  void Update(const float* keys, int64_t n, int64_t from);

  const float* data() const { return data_.get(); }
  int64_t size() const { return n_; }
  int64_t head_dim() const { return d_; }
  uint64_t bytes() const { return static_cast<uint64_t>(cap_ * d_) * sizeof(float); }

 private:
  struct AlignedDelete {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], AlignedDelete> data_;
  int64_t cap_ = 0, n_ = 0, d_ = 0;
};

// Ranks keys by score = query·key, descending, ties to the lower index (a total order; each score is computed
// the same way whatever the tiling or threads, so the answer does not depend on them); NaN scores rank below
// every number. queries: [n_rows, D] f32 packed; out: [n_rows, k] key indices, best first; 1 <= k <=
// keys.size(). Parallel over lm::GlobalPool(): over row blocks, and also over key ranges when there are too
// few rows to keep every thread busy (decode).
void ExactTopK(const float* queries, int64_t n_rows, const PackedKeys& keys, int64_t k, int32_t* out);

// The same over row-major keys, packed for this one call (tests, one-off searches).
struct ExactSearchParams {
  const float* queries = nullptr;  // [n_rows, D] f32, packed
  int64_t n_rows = 0;
  int64_t head_dim = 0;         // D
  const float* keys = nullptr;  // [n_keys, D] f32, packed
  int64_t n_keys = 0;
  int64_t k = 0;           // 1 <= k <= n_keys
  int32_t* out = nullptr;  // [n_rows, k]: key indices, best first
};
void ExactTopK(const ExactSearchParams& p);

// The name of the SIMD target the kernel runs on here (for tests and benchmark reports).
const char* ExactSearchTargetName();

}  // namespace lm::membank
