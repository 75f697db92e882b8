// Per-token NLL under backbone windows, a memory strategy, and LongMem's SideNet.
#include "eval/longmem/token_nll.h"

#include <algorithm>

#include "core/str.h"
#include "eval/perplexity.h"
#include "runtime/session.h"

namespace lm::eval_longmem {

namespace {
Status CheckDoc(std::span<const int32_t> tokens) {
  if (tokens.size() < 2)
    return InvalidArgument(StrCat("eval: a document of ", tokens.size(), " tokens has nothing to score (need >= 2)"));
  return OkStatus();
}
}  // namespace

Result<std::vector<double>> WindowedNll(std::shared_ptr<const Model> model, std::span<const int32_t> tokens,
                                        const WindowOptions& o, StateStats* stats) {
  LM_RETURN_IF_ERROR(CheckDoc(tokens));
  if (o.ctx < 1 || o.stride < 1 || o.stride > o.ctx)
    return InvalidArgument(StrCat("eval: window ", o.ctx, " with stride ", o.stride, "; hint: need 1 <= stride <= ctx"));
  if (o.ctx > model->config().n_ctx_train)
    return OutOfRange(StrCat("eval: window ", o.ctx, " exceeds the model's ", model->config().n_ctx_train,
                             "-token context; hint: a smaller --dense-ctx or --segment"));
  const auto n_in = static_cast<int64_t>(tokens.size()) - 1;
  std::vector<double> nll(static_cast<size_t>(n_in), 0.0);
  auto session = NewDenseSession(model, o.ctx, KvCacheType::kF32);
  int64_t scored_until = 0;  // inputs [0, scored_until) have their targets scored
  for (int64_t b = 0; scored_until < n_in; b += o.stride) {
    const int64_t e = std::min(b + o.ctx, n_in);
    session->Reset();
    const auto window = tokens.subspan(static_cast<size_t>(b), static_cast<size_t>(e - b));
    LM_RETURN_IF_ERROR(session->Score(window, scored_until - b, o.batch, [&](int64_t j, std::span<const float> logits) {
      nll[static_cast<size_t>(b + j)] = TokenNll(logits, tokens[static_cast<size_t>(b + j + 1)]);
    }));
    if (stats) {
      stats->state_bytes = std::max(stats->state_bytes, session->memory().kv_bytes());
      stats->tokens_read += e - b;
    }
    scored_until = e;
  }
  return nll;
}

Result<std::vector<double>> StrategyNll(std::shared_ptr<const Model> model, std::span<const int32_t> tokens,
                                        std::unique_ptr<Memory> memory, int64_t batch, StateStats* stats) {
  LM_RETURN_IF_ERROR(CheckDoc(tokens));
  const auto n_in = static_cast<int64_t>(tokens.size()) - 1;
  std::vector<double> nll(static_cast<size_t>(n_in), 0.0);
  Session session(std::move(model), std::move(memory));
  LM_RETURN_IF_ERROR(session.Score(tokens.first(static_cast<size_t>(n_in)), 0, batch,
                                   [&](int64_t j, std::span<const float> logits) {
                                     nll[static_cast<size_t>(j)] = TokenNll(logits, tokens[static_cast<size_t>(j + 1)]);
                                   }));
  if (stats) {
    stats->state_bytes = std::max(stats->state_bytes, session.memory().kv_bytes());
    stats->tokens_read += n_in;
  }
  return nll;
}

Result<std::vector<double>> LongMemNll(sidenet::LongMem& lm, std::span<const int32_t> tokens, int64_t segment,
                                       bool use_memory, StateStats* stats) {
  LM_RETURN_IF_ERROR(CheckDoc(tokens));
  if (segment < 1) return InvalidArgument(StrCat("eval: segment ", segment, " must be positive"));
  const ModelConfig& c = lm.backbone().config();
  const int64_t C = c.n_embd, V = c.n_vocab, n_in = static_cast<int64_t>(tokens.size()) - 1;
  constexpr int64_t kGroup = 16;  // logits rows per product: bounded memory, still BLAS-3
  std::vector<double> nll(static_cast<size_t>(n_in), 0.0);
  std::vector<float> hidden(static_cast<size_t>(std::min(segment, n_in) * C)), logits(static_cast<size_t>(kGroup * V));
  lm.ResetMemory();
  for (int64_t b = 0; b < n_in; b += segment) {
    const int64_t T = std::min(segment, n_in - b);
    auto st = lm.Segment(tokens.subspan(static_cast<size_t>(b), static_cast<size_t>(T)),
                         {.use_memory = use_memory, .write_memory = use_memory, .final_hidden = hidden.data()});
    if (!st.ok()) return st.status();
    for (int64_t r0 = 0; r0 < T; r0 += kGroup) {
      const int64_t g = std::min(kGroup, T - r0);
      lm.side().Logits(hidden.data() + r0 * C, g, logits.data());
      for (int64_t r = 0; r < g; ++r)
        nll[static_cast<size_t>(b + r0 + r)] =
            TokenNll(std::span<const float>(logits.data() + r * V, static_cast<size_t>(V)),
                     tokens[static_cast<size_t>(b + r0 + r + 1)]);
    }
    if (stats) {
      ++stats->segments;
      stats->segments_with_memory += st->retrieved > 0 ? 1 : 0;
      stats->retrieved_sum += static_cast<double>(st->retrieved);
      stats->tokens_read += T;
    }
  }
  if (stats) {
    stats->bank_tokens = lm.bank().n_tokens();
    stats->state_bytes = std::max(stats->state_bytes, use_memory ? lm.bank().bytes() : uint64_t{0});
  }
  return nll;
}

std::vector<SegmentNll> AggregateBySegment(std::span<const double> nll, int64_t segment) {
  std::vector<SegmentNll> out;
  for (size_t b = 0; b < nll.size(); b += static_cast<size_t>(segment)) {
    SegmentNll s;
    for (size_t j = b; j < std::min(nll.size(), b + static_cast<size_t>(segment)); ++j) {
      s.nll_sum += nll[j];
      ++s.n_tokens;
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace lm::eval_longmem
