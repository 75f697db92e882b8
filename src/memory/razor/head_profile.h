// Head profile: RazorAttention's per-(layer, KV head) echo and induction scores for one model, measured
// once by `longmem calibrate-heads` and read at run time to decide which heads keep their full cache.
// File format (JSON, versioned):
//   {"format": "longmem-head-profile", "version": 1,
//    "model": {"name", "arch", "n_layer", "n_head", "n_head_kv", "head_dim", "n_embd", "n_vocab"},
//    "calibration": {"segment", "repeats", "rows_sampled", "seed"},
//    "heads": [{"layer": l, "kv_head": h, "echo": e, "induction": i}, ...]}   (n_layer x n_head_kv entries)
// The model block is compared with the model a run uses, so a profile from another model is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm {

// What identifies the model a profile was made for (plain fields, filled from ModelConfig by the caller).
struct ModelIdentity {
  std::string name, arch;
  int64_t n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_embd = 0, n_vocab = 0;
};

struct HeadProfile {
  static constexpr int kVersion = 1;
  ModelIdentity model;
  int64_t segment = 0, repeats = 0, rows_sampled = 0;
  uint32_t seed = 0;
  std::vector<float> echo;       // [n_layer * n_head_kv], index layer * n_head_kv + kv_head
  std::vector<float> induction;  // same layout
};

Status WriteHeadProfile(const std::string& path, const HeadProfile& profile);
Result<HeadProfile> ReadHeadProfile(const std::string& path);

// OK when the profile was made for `model`; else an error naming the first field that differs.
Status CheckProfileMatches(const HeadProfile& profile, const ModelIdentity& model, const std::string& path);

// Spec B.2 step 6: pool all (layer, KV head) scores, keep the top echo_ratio by echo score and the top
// induction_ratio by induction score (each at least one head when the ratio is > 0); the union are the
// retrieval heads. Returns a mask [n_layer * n_head_kv].
std::vector<uint8_t> SelectRetrievalHeads(const HeadProfile& profile, double echo_ratio, double induction_ratio);

}  // namespace lm
