// Perplexity evaluation.
#include "eval/perplexity.h"

#include <cmath>

#include "core/clock.h"
#include "runtime/session.h"

namespace lm {

double TokenNll(std::span<const float> logits, int32_t target) {
  float mx = logits[0];
  for (float x : logits) mx = std::max(mx, x);
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  return std::log(sum) + mx - logits[static_cast<size_t>(target)];
}

Result<PerplexityResult> Perplexity(std::shared_ptr<const Model> model, std::span<const int32_t> tokens,
                                    const PerplexityOptions& o) {
  if (o.n_ctx < 4) return InvalidArgument(StrCat("perplexity: context ", o.n_ctx, " is too small (need >= 4)"));
  const int64_t available = static_cast<int64_t>(tokens.size()) / o.n_ctx;
  if (available == 0) {
    return InvalidArgument(StrCat("perplexity: the text has ", tokens.size(), " tokens, fewer than one window of ",
                                  o.n_ctx, "; hint: use a longer text or a smaller --ctx"));
  }
  if (o.decode_tail < 0 || o.decode_tail > o.n_ctx - 2) {
    return InvalidArgument(StrCat("perplexity: decode tail ", o.decode_tail, " must lie in [0, ", o.n_ctx - 2,
                                  "] for a context of ", o.n_ctx, "; hint: the tail is scored inside each window"));
  }
  const int64_t n_windows = o.max_windows > 0 ? std::min(available, o.max_windows) : available;
  std::unique_ptr<Session> session;
  if (o.make_memory) {
    auto memory = o.make_memory();
    if (!memory.ok()) return memory.status();
    session = std::make_unique<Session>(model, std::move(*memory));
  } else {
    session = NewDenseSession(model, o.n_ctx, o.kv_type);
  }
  PerplexityResult r;
  double sum = 0, sum_sq = 0;
  const double t0 = NowSeconds();
  std::vector<int32_t> window(static_cast<size_t>(o.n_ctx));
  const int64_t first = o.decode_tail > 0 ? o.n_ctx - o.decode_tail - 1 : o.n_ctx / 2;
  // With a tail, every scored row runs as its own step (the row before the tail too, as the prompt's last
  // token does in generation); the window's last token predicts nothing and is not run.
  const int64_t head = o.decode_tail > 0 ? first : o.n_ctx;
  for (int64_t w = 0; w < n_windows; ++w) {
    std::copy(tokens.begin() + w * o.n_ctx, tokens.begin() + (w + 1) * o.n_ctx, window.begin());
    if (o.bos_id >= 0) window[0] = o.bos_id;
    session->Reset();
    double wsum = 0;
    // Logits at j predict token j+1: score rows first .. n_ctx-2.
    auto score = [&](int64_t j, std::span<const float> logits) {
      if (j + 1 >= o.n_ctx) return;
      const double nll = TokenNll(logits, window[static_cast<size_t>(j + 1)]);
      wsum += nll;
      sum_sq += nll * nll;
      r.token_nll.push_back(static_cast<float>(nll));
      ++r.n_scored;
    };
    const std::span<const int32_t> all(window);
    LM_RETURN_IF_ERROR(session->Score(all.first(static_cast<size_t>(head)), first, o.batch, score));
    if (head < o.n_ctx) {
      const auto steps = all.subspan(static_cast<size_t>(head), static_cast<size_t>(o.n_ctx - 1 - head));
      LM_RETURN_IF_ERROR(
          session->Score(steps, 0, 1, [&](int64_t j, std::span<const float> logits) { score(head + j, logits); }));
    }
    sum += wsum;
    r.window_nll.push_back(wsum);
    if (o.on_progress) o.on_progress(w + 1, n_windows, std::exp(sum / static_cast<double>(r.n_scored)));
  }
  r.n_windows = n_windows;
  r.nll_mean = sum / static_cast<double>(r.n_scored);
  const double var = sum_sq / static_cast<double>(r.n_scored) - r.nll_mean * r.nll_mean;
  r.nll_stderr = std::sqrt(std::max(0.0, var) / static_cast<double>(r.n_scored - 1 > 0 ? r.n_scored - 1 : 1));
  r.ppl = std::exp(r.nll_mean);
  r.seconds = NowSeconds() - t0;
  r.tokens_per_second = r.seconds > 0 ? static_cast<double>(n_windows * o.n_ctx) / r.seconds : 0;
  return r;
}

}  // namespace lm
