// The int8 list scan behind the ivf-int8 chunk index (internal to lm_memory_bank): scores a block of query rows
// against one inverted list's residual codes and feeds each row's candidate list; the top-p selection and the
// exact re-ranking dots it relies on.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/memory_bank/row_topk.h"

namespace lm::membank {

// Codes of one list in the kernel's layout: groups of kIvfGroup keys; within a group, for each run of 4
// dimensions, the kIvfGroup keys' 4 code bytes one after the other ([D/4][kIvfGroup][4] u8 per group), so one
// 32-byte load holds 4 dimensions of 8 keys and a broadcast of a row's 4 query bytes multiplies all of them.
// A code is round(residual / scale[d]) + 128 (u8); padding keys are 128 (a zero residual).
constexpr int64_t kIvfGroup = 8;
// Query codes are s8 in [-kIvfQueryMax, kIvfQueryMax], so two pairwise u8 x s8 sums of maddubs added together
// (at most 4 * 255 * 31 = 31620) never saturate int16.
constexpr int kIvfQueryMax = 31;

// One query row's candidates during an ivf-int8 search: scores and slots side by side, appended while they beat
// the threshold. When the buffer fills it keeps its best `keep` (a SIMD threshold search over the scores, no
// comparison sort) and raises the threshold to the worst kept score, so later keys must beat it.
class CandList {
 public:
  // Empties the list; room for max(128, 4 * keep) before a shrink. keep >= 1.
  void Init(int64_t keep);
  float threshold() const { return threshold_; }
  // Appends (score, slot) when score > threshold(); shrinks when full.
  void Add(float score, int32_t slot) {
    if (!(score > threshold_)) return;
    scores_[static_cast<size_t>(n_)] = score;
    slots_[static_cast<size_t>(n_)] = slot;
    if (++n_ == static_cast<int64_t>(scores_.size())) Shrink();
  }
  // Keeps the best min(keep, n) (ties at the cut go to the earlier entry) and, when it dropped any or held
  // exactly keep, sets the threshold to the worst kept score.
  void Shrink();
  int64_t size() const { return n_; }
  const float* scores() const { return scores_.data(); }
  const int32_t* slots() const { return slots_.data(); }

 private:
  std::vector<float> scores_;
  std::vector<int32_t> slots_;
  std::vector<Cand> pick_;          // Shrink's selection
  std::vector<uint8_t> keep_mask_;  // Shrink's kept positions
  int64_t n_ = 0, keep_ = 0;
  float threshold_ = 0;
};

struct IvfScanArgs {
  // Scanned row i is query row rows[i] (rows == nullptr: query row i); the per-query-row arrays below are
  // indexed by query row, so the rows that probed a list are scanned in place, without being gathered.
  const int32_t* rows = nullptr;
  const int32_t* q4 = nullptr;   // [query rows][D/4]: query codes, 4 s8 per int32 (dimension 4j+b in byte b)
  const float* scale = nullptr;  // [query rows]: the query scale (a code product times this is a score)
  const int32_t* corr = nullptr; // [query rows]: 128 * (sum of the row's query codes), the u8 offset's share
  CandList* cands = nullptr;     // [query rows]: each row's candidates, fed (approximate score, slot)
  const float* base = nullptr;   // [n_rows]: scanned row i's score for this list's centroid (q·c)
  int64_t n_rows = 0, dim4 = 0;  // scanned rows; dim4 = D / 4
  const uint8_t* codes = nullptr;  // the list's packed codes, ceil(n_keys / kIvfGroup) groups
  const int64_t* ids = nullptr;    // [n_keys]: each key's absolute chunk id
  int64_t first_id = 0;            // the id of bank slot 0: a key is pushed as slot id - first_id
  int64_t n_keys = 0;
};

// score(i, key) = base[i] + scale[r] * (Σ_d code[d] * q_r[d] - corr[r]) for query row r = rows[i], i.e.
// q·c + q·residual up to rounding, added to cands[r] when it beats that candidate list's threshold. SIMD on x86
// (AVX2 maddubs), else IvfScanReference.
void IvfScan(const IvfScanArgs& a);
// The plain loop the SIMD kernel must match: integer products, so both give bit-identical scores.
void IvfScanReference(const IvfScanArgs& a);
const char* IvfScanTargetName();

// The number of s[0..n) that are >= t (NaN never is); SIMD.
int64_t CountAtLeast(const float* s, int64_t n, float t);
// The p best of s[0..n) (1 <= p <= n) by score, as (score, index) pairs in no particular order, into out (room
// for n): a bisection on a threshold with SIMD counts, then the few extra ones that pass it dropped. Returns p.
int64_t SelectTop(const float* s, int64_t n, int64_t p, Cand* out);
// out[i] = q · keys[idx[i]] for n keys of keys [*, D] f32 (the exact re-ranking scores); SIMD.
void GatherDots(const float* q, const float* keys, int64_t D, const int32_t* idx, int64_t n, float* out);

}  // namespace lm::membank
