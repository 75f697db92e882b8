// Bootstrap confidence intervals for perplexity. Token NLLs are summed per segment first, and segments
// are resampled with replacement (a seeded generator, so reports are reproducible); perplexity of a
// resample is exp(Σ nll / Σ tokens). Comparing two systems resamples the same segments for both (paired),
// which is far tighter than comparing two separate intervals.
#pragma once

#include <cstdint>
#include <span>

namespace lm::eval_longmem {

struct SegmentNll {
  double nll_sum = 0;    // Σ −log p over the segment's scored tokens (nats)
  int64_t n_tokens = 0;  // scored tokens
};

struct Interval {
  double value = 0;  // the estimate on the full sample
  double lo = 0, hi = 0;
};

struct BootstrapOptions {
  int64_t n_resamples = 1000;
  uint64_t seed = 1;
  double level = 0.95;  // central interval, percentile method
};

// Perplexity with its interval; an empty input gives NaNs.
Interval BootstrapPpl(std::span<const SegmentNll> segments, const BootstrapOptions& o);
// Per-token NLL difference a − b (nats; negative: a is better), resampling segment indices jointly.
// a and b must score the same segments in the same order.
Interval BootstrapNllDelta(std::span<const SegmentNll> a, std::span<const SegmentNll> b, const BootstrapOptions& o);

// The percentile (0..1) of values by linear interpolation; sorts a copy.
double Percentile(std::span<const double> values, double q);

}  // namespace lm::eval_longmem
