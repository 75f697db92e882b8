// RazorKv (RazorAttention, spec B): static head-wise compression. Retrieval heads (from a head profile)
// keep every key/value; every other (layer, KV head) keeps the first n_sink tokens, the most recent
// max(S0, N/C) tokens and ONE compensation token: the mean of everything it dropped, weighted in the
// softmax by the dropped count (logit bias ln N_d). Keys are rotated at write time and stay at their
// original positions (RopeRegime::kRotateOnWrite), so the method does not extend the window.
// Each (layer, KV head) owns its own variable-length cache: nothing is padded to the longest head.
// Compression rolls: a head is trimmed whenever it exceeds its budget by `slack` tokens (during prefill
// too), so memory stays bounded throughout instead of peaking at the full prompt as in the paper's
// compress-once-after-prefill; a stricter setting, since prompt tokens also see the compressed cache.
#pragma once

#include <vector>

#include "memory/memory.h"
#include "ops/attention.h"

namespace lm {

struct RazorParams {
  int64_t n_sink = 4;              // N0: first tokens every head keeps
  int64_t min_window = 1024;       // S0: recent tokens a non-retrieval head keeps at least
  double compress = 5.0;           // C: ... or N / C when that is more
  int64_t slack = 64;              // trim when over budget by this much: amortises the shift
  std::vector<uint8_t> retrieval;  // [n_layer * n_head_kv]: 1 = retrieval head (full cache)
  int64_t max_tokens = 0;          // 0: unlimited; else CanAppend refuses past it
  ops::KvDType kv_type = ops::KvDType::kF32;  // element type of the per-head caches (q8_0: head_dim % 32 == 0)
};

class RazorKv final : public Memory {
 public:
  RazorKv(const MemoryGeometry& geometry, RazorParams params);

  std::string_view name() const override { return "razor"; }
  RopeRegime rope_regime() const override { return RopeRegime::kRotateOnWrite; }
  Status Attend(const AttendRequest& r) override;
  Status CanAppend(int64_t n) const override;
  int64_t n_tokens() const override { return n_.empty() ? 0 : n_[0]; }
  uint64_t kv_bytes() const override;
  void Clear() override;
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<RazorKv>(*this); }

  int64_t n_retrieval_heads() const;
  int64_t head_length(int layer, int kv_head) const;  // tokens held, without the compensation slot
  int64_t budget(int64_t n_seen) const;               // recent tokens a non-retrieval head keeps

 private:
  struct HeadCache {
    std::vector<uint8_t> k, v;          // [S_h, D] elements of kv_type; k rotated
    std::vector<int32_t> pos;           // [S_h]
    std::vector<float> comp_k, comp_v;  // [D] means of the dropped tokens (empty until the first drop)
    int64_t n_dropped = 0;
  };
  void Compress(HeadCache& c, int64_t n_seen) const;
  int64_t row_bytes() const { return ops::KvBytes(p_.kv_type, g_.head_dim); }

  MemoryGeometry g_;
  RazorParams p_;
  std::vector<HeadCache> heads_;  // [n_layer * n_head_kv]
  std::vector<int64_t> n_;        // per layer: tokens seen
  // Scratch reused across steps.
  std::vector<float> q_g_, out_g_, scores_;
};

}  // namespace lm
