// The probed LongMem segment: ForwardHidden with taps, then SideNet::Run with a recording retrieval.
#include "eval/longmem/retrieval_probe.h"

#include <cmath>
#include <numeric>

#include "core/str.h"

namespace lm::eval_longmem {

RetrievalProbe::RetrievalProbe(sidenet::LongMem& lm, const sidenet::MemoryConfig& memory) : lm_(lm), memory_(memory) {
  const ModelConfig& c = lm.backbone().config();
  kv_ = std::make_unique<DenseKv>(GeometryOf(c), c.n_ctx_train, KvCacheType::kF32);
}

Status RetrievalProbe::Run(std::span<const int32_t> tokens, bool use_memory, ProbedSegment* out) {
  const Model& model = lm_.backbone();
  const ModelConfig& c = model.config();
  const auto T = static_cast<int64_t>(tokens.size());
  if (T < 1 || T > c.n_ctx_train)
    return OutOfRange(StrCat("probe: a segment of ", T, " tokens; the backbone reads 1..", c.n_ctx_train));
  pos_.resize(static_cast<size_t>(T));
  std::iota(pos_.begin(), pos_.end(), 0);
  hidden_.resize(static_cast<size_t>((c.n_layer + 1) * T * c.n_embd));
  final_residual_.resize(static_cast<size_t>(T * c.n_embd));
  ForwardTaps taps{.hidden_states = hidden_.data(), .final_residual = final_residual_.data()};
  kv_->Clear();
  LM_RETURN_IF_ERROR(ForwardHidden(model, *kv_, tokens, pos_, scratch_, &taps));

  const membank::MemoryBank& bank = lm_.bank();
  const int64_t n_chunks = memory_.retrieve_tokens / memory_.chunk_size, H = c.n_head;
  Status retrieve_status;
  out->retrieved = 0;
  out->last_slots.clear();
  final_.resize(static_cast<size_t>(T * c.n_embd));
  sidenet::SideNetCall call{.hidden = hidden_.data(), .final_residual = final_residual_.data(), .T = T,
                            .final_hidden = final_.data()};
  if (use_memory) {
    call.retrieve = [&](const float* q_pre, int64_t n) {
      int64_t chunks = 0;
      retrieve_status = bank.Retrieve(q_pre, n, H, n_chunks, &slots_, &chunks);
      const int64_t k = retrieve_status.ok() ? chunks * memory_.chunk_size : 0;
      out->retrieved = k;
      if (k > 0) out->last_slots.assign(slots_.end() - H * k, slots_.end());
      return train::MemoryAttentionShape{.bank_k = bank.keys(), .bank_v = bank.values(), .kv_stride = bank.kv_stride(),
                                         .slots = slots_.data(), .T = n, .H = H, .Hkv = c.n_head_kv, .D = c.head_dim,
                                         .K = k, .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
    };
  }
  auto loss = lm_.side().Run(call, {});
  LM_RETURN_IF_ERROR(retrieve_status);
  if (!loss.ok()) return loss.status();
  out->last_hidden.assign(final_.end() - c.n_embd, final_.end());
  return OkStatus();
}

std::vector<int32_t> StreamSlots(int64_t n_tokens, int64_t segment, int64_t chunk_size) {
  std::vector<int32_t> slot(static_cast<size_t>(n_tokens), -1);
  int64_t next = 0;
  for (int64_t b = 0; b < n_tokens; b += segment) {
    const int64_t len = std::min(segment, n_tokens - b), kept = len / chunk_size * chunk_size;
    for (int64_t j = 0; j < kept; ++j) slot[static_cast<size_t>(b + j)] = static_cast<int32_t>(next + j);
    next += kept;
  }
  return slot;
}

}  // namespace lm::eval_longmem
