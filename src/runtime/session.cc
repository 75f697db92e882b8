// Session implementation.
#include "runtime/session.h"

#include "memory/dense_kv.h"

namespace lm {

Session::Session(std::shared_ptr<const Model> model, std::unique_ptr<Memory> memory)
    : model_(std::move(model)), memory_(std::move(memory)) {}

Status Session::RunBatch(std::span<const int32_t> tokens) {
  const auto T = static_cast<int64_t>(tokens.size());
  pos_.resize(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) pos_[static_cast<size_t>(i)] = static_cast<int32_t>(n_past_ + i);
  LM_RETURN_IF_ERROR(ForwardHidden(*model_, *memory_, tokens, pos_, scratch_));
  n_past_ += T;
  return OkStatus();
}

Status Session::Prefill(std::span<const int32_t> tokens, int64_t batch) {
  if (tokens.empty()) return InvalidArgument("prefill: no tokens given");
  if (batch <= 0) return InvalidArgument(StrCat("prefill: batch size ", batch, " must be positive"));
  // Fail before touching state if the whole input cannot fit.
  LM_RETURN_IF_ERROR(memory_->CanAppend(static_cast<int64_t>(tokens.size())));
  const bool own_last = tokens.size() > 1 && memory_->scope_depends_on_step();
  const auto body = own_last ? tokens.first(tokens.size() - 1) : tokens;
  for (size_t b0 = 0; b0 < body.size(); b0 += static_cast<size_t>(batch)) {
    const size_t n = std::min(body.size() - b0, static_cast<size_t>(batch));
    LM_RETURN_IF_ERROR(RunBatch(body.subspan(b0, n)));
  }
  if (own_last) LM_RETURN_IF_ERROR(RunBatch(tokens.last(1)));
  const int64_t C = model_->config().n_embd;
  const int64_t last = own_last ? 0 : static_cast<int64_t>((tokens.size() - 1) % static_cast<size_t>(batch));
  logits_.resize(static_cast<size_t>(model_->config().n_vocab));
  ComputeLogits(*model_, scratch_.hidden.data() + last * C, 1, logits_.data());
  return OkStatus();
}

void Session::Reset() {
  memory_->Clear();
  n_past_ = 0;
  logits_.clear();
}

std::unique_ptr<Session> NewDenseSession(std::shared_ptr<const Model> model, int64_t n_ctx, KvCacheType kv_type) {
  auto memory = std::make_unique<DenseKv>(GeometryOf(model->config()), n_ctx, kv_type);
  return std::make_unique<Session>(std::move(model), std::move(memory));
}

}  // namespace lm
