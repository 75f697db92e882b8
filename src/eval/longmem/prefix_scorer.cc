// Prefix read once, queries scored from clones of its state.
#include "eval/longmem/prefix_scorer.h"

#include "core/str.h"

namespace lm::eval_longmem {

Result<std::unique_ptr<PrefixScorer>> PrefixScorer::Create(std::shared_ptr<const Model> model,
                                                           std::unique_ptr<Memory> memory,
                                                           std::span<const int32_t> prefix, int64_t batch) {
  if (batch <= 0) return InvalidArgument(StrCat("prefix scorer: batch ", batch, " must be positive"));
  LM_RETURN_IF_ERROR(memory->CanAppend(static_cast<int64_t>(prefix.size())));
  std::unique_ptr<PrefixScorer> s(new PrefixScorer());
  s->model_ = std::move(model);
  s->memory_ = std::move(memory);
  for (size_t b0 = 0; b0 < prefix.size(); b0 += static_cast<size_t>(batch)) {
    const size_t n = std::min(prefix.size() - b0, static_cast<size_t>(batch));
    s->pos_.resize(n);
    for (size_t i = 0; i < n; ++i) s->pos_[i] = static_cast<int32_t>(b0 + i);
    LM_RETURN_IF_ERROR(ForwardHidden(*s->model_, *s->memory_, prefix.subspan(b0, n), s->pos_, s->scratch_));
  }
  s->n_prefix_ = static_cast<int64_t>(prefix.size());
  return s;
}

Status PrefixScorer::NextLogits(std::span<const int32_t> query, std::vector<float>* logits) {
  if (query.empty()) return InvalidArgument("prefix scorer: empty query");
  auto m = memory_->Clone();
  LM_RETURN_IF_ERROR(m->CanAppend(static_cast<int64_t>(query.size())));
  pos_.resize(query.size());
  for (size_t i = 0; i < query.size(); ++i) pos_[i] = static_cast<int32_t>(n_prefix_ + static_cast<int64_t>(i));
  LM_RETURN_IF_ERROR(ForwardHidden(*model_, *m, query, pos_, scratch_));
  const ModelConfig& c = model_->config();
  logits->resize(static_cast<size_t>(c.n_vocab));
  ComputeLogits(*model_, scratch_.hidden.data() + (static_cast<int64_t>(query.size()) - 1) * c.n_embd, 1, logits->data());
  return OkStatus();
}

}  // namespace lm::eval_longmem
