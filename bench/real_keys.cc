// Computes (or reads back from its cache file) a block's pre-RoPE keys and queries over a real text.
#include "real_keys.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include "core/str.h"
#include "memory/dense_kv.h"
#include "model/forward.h"
#include "runtime/loader.h"

namespace lm::membank {
namespace {

// Cache file: this header, then keys and queries as raw f32. The spec's fields are part of it, so a cache made
// for another model, text, layer or size is recomputed, not misread.
struct Header {
  char magic[8] = {'L', 'M', 'R', 'K', 'E', 'Y', 'S', '1'};
  int64_t n_tokens, n_queries, layer, window, n_head_kv, n_head, head_dim;
  uint64_t spec_hash;
};

uint64_t SpecHash(const RealKeysSpec& s) {
  return std::hash<std::string>{}(StrCat(s.model, "|", s.text));
}

bool ReadCache(const RealKeysSpec& s, RealKeys* out) {
  std::ifstream f(s.cache, std::ios::binary);
  Header h{}, want{};
  if (!f.read(reinterpret_cast<char*>(&h), sizeof h)) return false;
  if (std::string(h.magic, 8) != std::string(want.magic, 8) || h.n_tokens != s.n_tokens ||
      h.n_queries != s.n_queries || h.layer != s.layer || h.window != s.window || h.spec_hash != SpecHash(s))
    return false;
  out->n_head_kv = h.n_head_kv;
  out->n_head = h.n_head;
  out->head_dim = h.head_dim;
  out->keys.resize(static_cast<size_t>(h.n_tokens * h.n_head_kv * h.head_dim));
  out->queries.resize(static_cast<size_t>(h.n_queries * h.n_head * h.head_dim));
  return f.read(reinterpret_cast<char*>(out->keys.data()), static_cast<std::streamsize>(out->keys.size() * 4)) &&
         f.read(reinterpret_cast<char*>(out->queries.data()), static_cast<std::streamsize>(out->queries.size() * 4));
}

Status WriteCache(const RealKeysSpec& s, const RealKeys& r) {
  Header h{};
  h.n_tokens = s.n_tokens;
  h.n_queries = s.n_queries;
  h.layer = s.layer;
  h.window = s.window;
  h.n_head_kv = r.n_head_kv;
  h.n_head = r.n_head;
  h.head_dim = r.head_dim;
  h.spec_hash = SpecHash(s);
  std::ofstream f(s.cache, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(&h), sizeof h);
  f.write(reinterpret_cast<const char*>(r.keys.data()), static_cast<std::streamsize>(r.keys.size() * 4));
  f.write(reinterpret_cast<const char*>(r.queries.data()), static_cast<std::streamsize>(r.queries.size() * 4));
  if (!f) return IoError(StrCat("cannot write the key cache '", s.cache, "'"));
  return OkStatus();
}

}  // namespace

Result<RealKeys> LoadOrComputeRealKeys(const RealKeysSpec& s) {
  RealKeys r;
  if (!s.cache.empty() && ReadCache(s, &r)) return r;
  auto model = LoadModelAndTokenizer(s.model);
  if (!model.ok()) return model.status();
  const LoadedModel& loaded = *model;
  const ModelConfig& c = loaded.model->config();
  if (s.layer < 0 || s.layer >= c.n_layer)
    return InvalidArgument(StrCat("layer ", s.layer, " is outside the model's [0, ", c.n_layer, ")"));
  std::ifstream in(s.text);
  if (!in) return IoError(StrCat("cannot open the text '", s.text, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::vector<int32_t> ids = loaded.tokenizer->Encode(ss.str(), {.add_bos = false});
  if (static_cast<int64_t>(ids.size()) < s.n_tokens + s.n_queries)
    return InvalidArgument(StrCat("the text has ", ids.size(), " tokens; ", s.n_tokens + s.n_queries,
                                  " are needed (bank + queries)"));
  r.n_head_kv = c.n_head_kv;
  r.n_head = c.n_head;
  r.head_dim = c.head_dim;
  r.keys.resize(static_cast<size_t>(s.n_tokens * c.kv_dim()));
  r.queries.resize(static_cast<size_t>(s.n_queries * c.q_dim()));
  std::vector<float> v;
  ForwardScratch scratch;
  // Reads ids[from, from + n) from an empty cache; k gets the block's keys, q (optional) its queries.
  auto read = [&](int64_t from, int64_t n, float* k, float* q) -> Status {
    DenseKv kv(GeometryOf(c), n, KvCacheType::kF32);
    std::vector<int32_t> pos(static_cast<size_t>(n));
    std::iota(pos.begin(), pos.end(), 0);
    v.resize(static_cast<size_t>(n * c.kv_dim()));
    ForwardTaps taps{.kv_layer = s.layer, .k = k, .v = v.data(), .stop_after_kv = true};
    LM_RETURN_IF_ERROR(ForwardHidden(*loaded.model, kv, std::span(ids).subspan(static_cast<size_t>(from),
                                                                                static_cast<size_t>(n)),
                                     pos, scratch, &taps));
    // stop_after_kv returns before attention, so scratch.q still holds the block's un-rotated queries.
    if (q) std::copy(scratch.q.begin(), scratch.q.begin() + n * c.q_dim(), q);
    return OkStatus();
  };
  for (int64_t t = 0; t < s.n_tokens; t += s.window) {
    const int64_t n = std::min(s.window, s.n_tokens - t);
    LM_RETURN_IF_ERROR(read(t, n, r.keys.data() + t * c.kv_dim(), nullptr));
    std::fprintf(stderr, "\rreal keys: %lld / %lld tokens", static_cast<long long>(t + n),
                 static_cast<long long>(s.n_tokens));
  }
  std::fprintf(stderr, "\n");
  std::vector<float> qk(static_cast<size_t>(s.n_queries * c.kv_dim()));
  LM_RETURN_IF_ERROR(read(s.n_tokens, s.n_queries, qk.data(), r.queries.data()));
  if (!s.cache.empty()) LM_RETURN_IF_ERROR(WriteCache(s, r));
  return r;
}

}  // namespace lm::membank
