// Memory bank benchmark: fills a bank with keys, then times retrieval (a prefill-sized query batch and a single
// decode token) for exact search and the approximate indexes, with recall@k against exact. Prints one JSON object.
// Keys and queries are synthetic (clustered Gaussians) unless model= and text= are given: then they are the real
// pre-RoPE keys and queries of block `layer` of the model reading the text (bank: tokens [0, tokens), read in
// windows of `window` tokens; queries: the `queries` tokens that follow), cached in `cache` for later runs.
// Usage: lm_bench_memory_bank_recall [tokens=1048576] [kv_heads=3] [heads=9] [head_dim=64] [chunk=4] [queries=256]
//        [k=16] [clusters=4096] [batch=8192] [reps=3] [index=exact,ivf-int8,ivf,hnsw] [nlist=0] [nprobe=0] [ef_search=128]
//        [model=PATH text=PATH layer=21 window=2048 cache=PATH]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "real_keys.h"
#include "core/str.h"
#include "core/thread_pool.h"
#include "memory/memory_bank/faiss_index.h"
#include "memory/memory_bank/memory_bank.h"

namespace lm::membank {
namespace {

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Args {
  std::map<std::string, std::string> kv;
  int64_t Int(const std::string& key, int64_t def) const {
    auto it = kv.find(key);
    return it == kv.end() ? def : std::stoll(it->second);
  }
  std::string Str(const std::string& key, const std::string& def) const {
    auto it = kv.find(key);
    return it == kv.end() ? def : it->second;
  }
};

// Keys drift between topics: each run of 64 tokens sits around one of `clusters` centres (per kv head), with
// noise of the centres' own scale, so chunk keys cluster but neighbours within a cluster are not trivial.
class Data {
 public:
  Data(int64_t Hkv, int64_t D, int64_t clusters) : Hkv_(Hkv), D_(D), centres_(static_cast<size_t>(clusters * Hkv * D)) {
    std::mt19937 rng(1);
    std::normal_distribution<float> n;
    for (float& x : centres_) x = n(rng);
  }
  int64_t n_clusters() const { return static_cast<int64_t>(centres_.size()) / (Hkv_ * D_); }
  // [N, Hkv, D] tokens of batch `b`; reproducible, so every bank sees the same stream.
  void Tokens(int64_t b, int64_t N, std::vector<float>* k) const {
    std::mt19937 rng(static_cast<uint32_t>(1000 + b));
    std::normal_distribution<float> n;
    std::uniform_int_distribution<int64_t> pick(0, n_clusters() - 1);
    k->resize(static_cast<size_t>(N * Hkv_ * D_));
    int64_t c = 0;
    for (int64_t t = 0; t < N; ++t) {
      if (t % 64 == 0) c = pick(rng);
      for (int64_t i = 0; i < Hkv_ * D_; ++i) (*k)[t * Hkv_ * D_ + i] = centres_[c * Hkv_ * D_ + i] + 0.8f * n(rng);
    }
  }
  // [T, H, D] queries near a centre of their kv head.
  std::vector<float> Queries(int64_t T, int64_t H, uint32_t seed) const {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n;
    std::uniform_int_distribution<int64_t> pick(0, n_clusters() - 1);
    std::vector<float> q(static_cast<size_t>(T * H * D_));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t c = pick(rng), g = h / (H / Hkv_);
        for (int64_t d = 0; d < D_; ++d) q[(t * H + h) * D_ + d] = centres_[(c * Hkv_ + g) * D_ + d] + 0.8f * n(rng);
      }
    return q;
  }

 private:
  int64_t Hkv_, D_;
  std::vector<float> centres_;
};

int Main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const auto eq = s.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "expected key=value, got '%s'\n", s.c_str());
      return 2;
    }
    a.kv[s.substr(0, eq)] = s.substr(eq + 1);
  }
  const int64_t tokens = a.Int("tokens", 1 << 20), csz = a.Int("chunk", 4), T = a.Int("queries", 256),
                kc = a.Int("k", 16), batch = a.Int("batch", 8192), reps = std::max<int64_t>(1, a.Int("reps", 3));
  int64_t Hkv = a.Int("kv_heads", 3), H = a.Int("heads", 9), D = a.Int("head_dim", 64);
  const bool real = a.kv.count("model") > 0;
  RealKeys rk;
  if (real) {
    auto r = LoadOrComputeRealKeys({.model = a.Str("model", ""),
                                    .text = a.Str("text", "data/kjv.txt"),
                                    .layer = a.Int("layer", 21),
                                    .n_tokens = tokens,
                                    .n_queries = T + 1,  // the last one is the decode token
                                    .window = a.Int("window", 2048),
                                    .cache = a.Str("cache", "")});
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    rk = std::move(*r);
    Hkv = rk.n_head_kv;
    H = rk.n_head;
    D = rk.head_dim;
  }
  const Data data(Hkv, D, a.Int("clusters", 4096));
  const auto q = real ? std::vector<float>(rk.queries.begin(), rk.queries.begin() + T * H * D) : data.Queries(T, H, 7);
  const auto q1 = real ? std::vector<float>(rk.queries.begin() + T * H * D, rk.queries.end()) : data.Queries(1, H, 8);
  auto tokens_of = [&](int64_t b, int64_t n, std::vector<float>* k) {
    if (!real) return data.Tokens(b, n, k);
    const auto from = rk.keys.begin() + b * batch * Hkv * D;
    k->assign(from, from + n * Hkv * D);
  };

  nlohmann::json out;
  out["config"] = {{"tokens", tokens},    {"chunks", tokens / csz}, {"kv_heads", Hkv},
                   {"heads", H},          {"head_dim", D},          {"chunk_size", csz},
                   {"queries", T},        {"k_chunks", kc},         {"threads", GlobalPool().n_threads()},
                   {"faiss", HaveFaiss()},
                   {"data", real ? StrCat(a.Str("model", ""), " block ", a.Int("layer", 21), " on ",
                                          a.Str("text", "data/kjv.txt"))
                                 : StrCat("synthetic, ", a.Int("clusters", 4096), " clusters")}};
  std::vector<int32_t> truth;  // exact answer for q, [T, H, kc * csz]
  const std::string kinds = StrCat(",", a.Str("index", "exact,ivf-int8,ivf,hnsw"), ",");
  for (const std::string name : {"exact", "ivf-int8", "ivf", "hnsw"}) {
    if (kinds.find(StrCat(",", name, ",")) == std::string::npos) continue;
    const IndexKind kind = name == "exact"      ? IndexKind::kExact
                           : name == "ivf-int8" ? IndexKind::kIvfInt8
                           : name == "ivf"      ? IndexKind::kFaissIvf
                                                : IndexKind::kFaissHnsw;
    if (IndexNeedsFaiss(kind) && !HaveFaiss()) continue;
    // Capacity = the stream, kExact eviction: the bank ends exactly full.
    MemoryBankConfig c{.n_head_kv = Hkv,
                       .head_dim = D,
                       .chunk_size = csz,
                       .capacity_tokens = tokens,
                       .eviction = EvictionRule::kExact,
                       .index = kind,
                       .faiss_nlist = a.Int("nlist", 0),
                       .faiss_nprobe = a.Int("nprobe", 0),
                       .hnsw_ef_search = a.Int("ef_search", 128)};
    auto bank = MemoryBank::Create(c);
    if (!bank.ok()) {
      std::fprintf(stderr, "%s\n", bank.status().ToString().c_str());
      return 1;
    }
    std::vector<float> kv;
    auto t0 = Clock::now();
    double gen_ms = 0;
    for (int64_t b = 0; b * batch < tokens; ++b) {
      const auto g0 = Clock::now();
      const int64_t n = std::min(batch, tokens - b * batch);
      tokens_of(b, n, &kv);
      gen_ms += MsSince(g0);
      auto w = (*bank)->Add(kv.data(), kv.data(), n);  // values = keys: only the keys matter here
      if (!w.ok()) {
        std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
        return 1;
      }
    }
    const double fill_ms = MsSince(t0) - gen_ms;

    std::vector<int32_t> slots;
    int64_t k_out = 0;
    auto retrieve = [&](const std::vector<float>& qq, int64_t TT) {
      const Status s = (*bank)->Retrieve(qq.data(), TT, H, kc, &slots, &k_out);
      if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
    };
    retrieve(q, T);  // warm-up (page faults, pool start)
    double best = 1e30, best1 = 1e30;
    for (int64_t r = 0; r < reps; ++r) {
      t0 = Clock::now();
      retrieve(q, T);
      best = std::min(best, MsSince(t0));
    }
    const std::vector<int32_t> batch_slots = slots;
    for (int64_t r = 0; r < 5 * reps; ++r) {
      t0 = Clock::now();
      retrieve(q1, 1);
      best1 = std::min(best1, MsSince(t0));
    }
    nlohmann::json j = {{"fill_ms", fill_ms},
                        {"batch_ms", best},
                        {"decode_ms", best1},
                        {"bytes", (*bank)->bytes()},
                        {"n_chunks", (*bank)->n_chunks()}};
    if (kind == IndexKind::kExact) {
      truth = batch_slots;
    } else {
      const FaissParams p = ResolvedFaissParams(c);
      if (kind == IndexKind::kFaissIvf || kind == IndexKind::kIvfInt8) {
        j["nlist"] = p.nlist;
        j["nprobe"] = p.nprobe;
        j["train_chunks"] = p.train_chunks;
      } else {
        j["hnsw_m"] = p.hnsw_m;
        j["ef_search"] = p.hnsw_ef_search;
      }
      j["exact_fallback_rows"] = (*bank)->exact_fallback_rows();
      if (!truth.empty()) {
        const int64_t per_row = k_out * csz;
        double hits = 0;
        for (int64_t row = 0; row < T * H; ++row) {
          const std::set<int32_t> want(truth.begin() + row * per_row, truth.begin() + (row + 1) * per_row);
          for (int64_t e = 0; e < per_row; e += csz) hits += want.count(batch_slots[row * per_row + e]);
        }
        j[StrCat("recall_at_", kc)] = hits / static_cast<double>(T * H * k_out);
      }
    }
    out[name] = j;
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace
}  // namespace lm::membank

int main(int argc, char** argv) { return lm::membank::Main(argc, argv); }
