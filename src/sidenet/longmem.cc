// LongMem segment loop: backbone taps → SideNet with retrieval → write the segment into the bank.
#include "sidenet/longmem.h"

#include <cmath>
#include <numeric>

#include "core/clock.h"
#include "core/str.h"
#include "memory/memory_bank/query_centring.h"

namespace lm::sidenet {

Result<std::unique_ptr<LongMem>> LongMem::Create(std::shared_ptr<const Model> backbone, SideNet* side,
                                                 const MemoryConfig& memory) {
  LM_RETURN_IF_ERROR(Validate(memory));
  const ModelConfig& c = backbone->config();
  if (c.n_layer != side->backbone_config().n_layer || c.n_embd != side->backbone_config().n_embd)
    return InvalidArgument(StrCat("longmem: the SideNet was built for '", side->Fingerprint(),
                                  "', not for this backbone; hint: pass the same -m"));
  auto bank = membank::MemoryBank::Create(memory.BankConfig(c));
  if (!bank.ok()) return bank.status();
  std::unique_ptr<LongMem> m(new LongMem());
  m->backbone_ = std::move(backbone);
  m->side_ = side;
  m->memory_ = memory;
  m->bank_ = std::move(*bank);
  m->kv_ = std::make_unique<DenseKv>(GeometryOf(c), c.n_ctx_train, KvCacheType::kF32);
  return m;
}

Status LongMem::SetBank(std::unique_ptr<membank::MemoryBank> bank) {
  const auto& want = memory_.BankConfig(backbone_->config());
  const auto& got = bank->config();
  if (got.n_head_kv != want.n_head_kv || got.head_dim != want.head_dim || got.chunk_size != want.chunk_size)
    return InvalidArgument(StrCat("longmem: memory bank has Hkv=", got.n_head_kv, " D=", got.head_dim, " csz=",
                                  got.chunk_size, ", this run needs Hkv=", want.n_head_kv, " D=", want.head_dim,
                                  " csz=", want.chunk_size, "; hint: the bank was saved by another model or --mem-chunk"));
  bank_ = std::move(bank);
  return OkStatus();
}

Status LongMem::Backbone(std::span<const int32_t> tokens, bool need_hidden) {
  const ModelConfig& c = backbone_->config();
  const int64_t T = static_cast<int64_t>(tokens.size());
  if (T > c.n_ctx_train)
    return OutOfRange(StrCat("longmem: a segment of ", T, " tokens exceeds the backbone's ", c.n_ctx_train,
                             "-token context; hint: a smaller --segment"));
  pos_.resize(static_cast<size_t>(T));
  std::iota(pos_.begin(), pos_.end(), 0);
  if (need_hidden) {
    hidden_.resize(static_cast<size_t>((c.n_layer + 1) * T * c.n_embd));
    final_residual_.resize(static_cast<size_t>(T * c.n_embd));
    mid_.resize(side_->config().live_memory() ? static_cast<size_t>(T * c.n_embd) : 0);
  }
  k_.resize(static_cast<size_t>(T * c.kv_dim()));
  v_.resize(k_.size());
  const int64_t m = side_->config().memory_layer;
  ForwardTaps taps{.hidden_states = need_hidden ? hidden_.data() : nullptr, .kv_layer = m, .k = k_.data(),
                   .v = v_.data(), .final_residual = need_hidden ? final_residual_.data() : nullptr,
                   .kv_layer_mid = need_hidden && !mid_.empty() ? mid_.data() : nullptr,
                   .stop_after_kv = !need_hidden};
  kv_->Clear();  // each segment is read on its own, as in the paper
  return ForwardHidden(*backbone_, *kv_, tokens, pos_, scratch_, &taps);
}

Status LongMem::Memorize(std::span<const int32_t> tokens) {
  LM_RETURN_IF_ERROR(Backbone(tokens, false));
  auto n = bank_->Add(k_.data(), v_.data(), static_cast<int64_t>(tokens.size()));
  return n.ok() ? OkStatus() : n.status();
}

Result<SegmentStats> LongMem::Segment(std::span<const int32_t> tokens, const SegmentOptions& o) {
  const ModelConfig& c = backbone_->config();
  const int64_t T = static_cast<int64_t>(tokens.size());
  SegmentStats stats;
  double t = NowSeconds();
  LM_RETURN_IF_ERROR(Backbone(tokens, true));
  stats.backbone_seconds = NowSeconds() - t;
  t = NowSeconds();
  const int64_t n_chunks = memory_.retrieve_tokens / memory_.chunk_size;
  SideNetCall call{.hidden = hidden_.data(), .final_residual = final_residual_.data(),
                   .memory_layer_mid = mid_.empty() ? nullptr : mid_.data(), .T = T,
                   .labels = o.labels, .final_hidden = o.final_hidden, .backward = o.backward,
                   .loss_scale = o.loss_scale};
  Status retrieve_status;
  if (o.use_memory) {
    call.retrieve = [&](const float* q_pre, int64_t n) {
      int64_t chunks = 0;
      const float* q_search = q_pre;
      if (memory_.query == RetrievalQuery::kCentred) {
        q_centred_.resize(static_cast<size_t>(n * c.n_head * c.head_dim));
        membank::CentreQueriesCausal(q_pre, n, c.n_head, c.head_dim, q_centred_.data());
        q_search = q_centred_.data();
      }
      retrieve_status = bank_->Retrieve(q_search, n, c.n_head, n_chunks, &slots_, &chunks);
      const int64_t k = retrieve_status.ok() ? chunks * memory_.chunk_size : 0;  // tokens per query and head
      stats.retrieved = k;
      if (o.on_retrieve) o.on_retrieve(std::span<const int32_t>(slots_.data(), static_cast<size_t>(n * c.n_head * k)), n, c.n_head, k);
      return train::MemoryAttentionShape{.bank_k = bank_->keys(), .bank_v = bank_->values(),
                                         .kv_stride = bank_->kv_stride(), .slots = slots_.data(), .T = n,
                                         .H = c.n_head, .Hkv = c.n_head_kv, .D = c.head_dim, .K = k,
                                         .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
    };
  }
  auto loss = side_->Run(call, o.compute);
  LM_RETURN_IF_ERROR(retrieve_status);
  if (!loss.ok()) return loss.status();
  stats.loss = *loss;
  stats.sidenet_seconds = NowSeconds() - t;
  t = NowSeconds();
  if (o.write_memory) {  // after retrieval (and backward, which still reads the retrieved slots)
    auto n = bank_->Add(k_.data(), v_.data(), T);
    if (!n.ok()) return n.status();
  }
  stats.write_seconds = NowSeconds() - t;
  return stats;
}

}  // namespace lm::sidenet
