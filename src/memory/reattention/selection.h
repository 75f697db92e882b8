// ReAttention's selection policy as pure functions, testable on synthetic scores (spec A.3 step 4c-4e):
// exact per-row top-k over raw q.k scores, a vote across all rows (queries x heads) that clips the
// distinct anchors to the `recall_clip` most frequent, and expansion of every anchor to a span of
// neighbouring tokens, returned sorted so selected text keeps its original order.
// Differences from the released code on purpose: the top-k is exact (the Triton kernel keeps at most one
// key per 128-key block), and there is no 128-multiple alignment of the middle region (a kernel artefact).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lm::reattention {

struct SelectionParams {
  int64_t top_k = 4;          // anchors per (query, query head)
  int64_t span = 32;          // tokens per anchor: [a - span/2, a + span/2 - 1]
  int64_t recall_clip = 127;  // most distinct anchors kept after voting
};

// Running top-k of one row: best_s/best_i hold k entries sorted by descending score (initialise with
// ResetTopK). Pushes scores[0..n) whose indices are idx0 + j. Ties keep the earlier index.
void ResetTopK(float* best_s, int32_t* best_i, int64_t k);
void PushTopK(float* best_s, int32_t* best_i, int64_t k, const float* scores, int64_t n, int32_t idx0);

// The k-th largest of x[0..n) (1 <= k <= n), exactly as std::nth_element would find it, in about three
// linear passes: values are counted into 256 equal-width buckets between the minimum and the maximum (a
// monotone map, so the k-th largest lies in the bucket where the counts from the top reach k), and only that
// bucket's values are ordered. Block selection takes a threshold per query row per decode step this way;
// nth_element over ~900 block scores was 6% of a step. `scratch` is reused between calls.
float KthLargest(const float* x, int64_t n, int64_t k, std::vector<float>& scratch);

// Reusable buffers so a decode step allocates nothing after warm-up.
struct SelectionScratch {
  std::vector<int32_t> sorted, distinct, counts, order;
};

// anchors: every row's top-k indices into the middle region [0, n_mid) (negative = empty slot).
// Writes the selected middle indices, sorted ascending and unique, to *out.
void SelectSpans(std::span<const int32_t> anchors, int64_t n_mid, const SelectionParams& p, SelectionScratch& s,
                 std::vector<int32_t>* out);

// Convenience for tests and tools: scores [n_rows, n_mid] -> selected indices.
std::vector<int32_t> SelectFromScores(const float* scores, int64_t n_rows, int64_t n_mid, const SelectionParams& p);

}  // namespace lm::reattention
