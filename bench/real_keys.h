// Real memory-bank keys and queries for the retrieval benchmark: one backbone block's pre-RoPE keys and queries
// while the model reads a text, computed once and cached in a file (a forward over 65K tokens takes minutes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace lm::membank {

struct RealKeysSpec {
  std::string model, text;
  int64_t layer = 21;      // block whose keys (bank) and queries are taken, before RoPE
  int64_t n_tokens = 0;    // bank tokens: text tokens [0, n_tokens), read in windows of `window`
  int64_t n_queries = 0;   // query tokens: the n_queries tokens after them, read as one window
  int64_t window = 2048;   // each window starts from an empty cache (the bank stores position-free keys)
  std::string cache;       // when set: read from this file if it matches, else computed and written to it
};

struct RealKeys {
  int64_t n_head_kv = 0, n_head = 0, head_dim = 0;
  std::vector<float> keys;     // [n_tokens, n_head_kv, head_dim]
  std::vector<float> queries;  // [n_queries, n_head, head_dim]
};

Result<RealKeys> LoadOrComputeRealKeys(const RealKeysSpec& spec);

}  // namespace lm::membank
