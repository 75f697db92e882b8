// Percentile bootstrap over segments.
#include "eval/longmem/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/check.h"

namespace lm::eval_longmem {

namespace {
// One resample's statistic for each of n_resamples draws of segment indices; `stat` maps an index
// multiset (given as counts) to a number. mt19937_64 with modulo draws: identical on every platform,
// unlike std::uniform_int_distribution.
template <class Stat>
Interval Run(size_t n, const BootstrapOptions& o, Stat&& stat) {
  Interval r;
  std::vector<int64_t> counts(n, 1);
  r.value = stat(counts);
  std::mt19937_64 rng(o.seed);
  std::vector<double> draws;
  draws.reserve(static_cast<size_t>(std::max<int64_t>(o.n_resamples, 0)));
  for (int64_t b = 0; b < o.n_resamples; ++b) {
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < n; ++i) ++counts[static_cast<size_t>(rng() % n)];
    draws.push_back(stat(counts));
  }
  const double tail = (1 - o.level) / 2;
  r.lo = draws.empty() ? r.value : Percentile(draws, tail);
  r.hi = draws.empty() ? r.value : Percentile(draws, 1 - tail);
  return r;
}
}  // namespace

double Percentile(std::span<const double> values, double q) {
  if (values.empty()) return NAN;
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  const double at = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const auto i = static_cast<size_t>(at);
  const double f = at - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

Interval BootstrapPpl(std::span<const SegmentNll> s, const BootstrapOptions& o) {
  if (s.empty()) return {NAN, NAN, NAN};
  return Run(s.size(), o, [&](const std::vector<int64_t>& c) {
    double nll = 0, n = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      nll += static_cast<double>(c[i]) * s[i].nll_sum;
      n += static_cast<double>(c[i] * s[i].n_tokens);
    }
    return n > 0 ? std::exp(nll / n) : NAN;
  });
}

Interval BootstrapNllDelta(std::span<const SegmentNll> a, std::span<const SegmentNll> b, const BootstrapOptions& o) {
  LM_CHECK(a.size() == b.size(), "paired bootstrap over ", a.size(), " and ", b.size(), " segments");
  if (a.empty()) return {NAN, NAN, NAN};
  return Run(a.size(), o, [&](const std::vector<int64_t>& c) {
    double da = 0, db = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const auto w = static_cast<double>(c[i]);
      da += w * a[i].nll_sum;
      db += w * b[i].nll_sum;
      na += w * static_cast<double>(a[i].n_tokens);
      nb += w * static_cast<double>(b[i].n_tokens);
    }
    return na > 0 && nb > 0 ? da / na - db / nb : NAN;
  });
}

}  // namespace lm::eval_longmem
