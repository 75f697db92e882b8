// LongMem retrieval diagnostic: does the memory layer's query find the right chunk when the text repeats?
// Reads a text span A into the bank, then queries with the same span A again (as the memory layer of a
// backbone-initialised SideNet asks: block m's unrotated query, from H[m−1] under `--init backbone`, from
// H[m] under `--init backbone-memory`) and reports, per query
// head, how often the top K/csz chunks include the chunk holding the aligned position (or its neighbour).
// Scores: "all" is position-free retrieval as built (every query dimension); "low_freq" keeps only the rotary
// pairs that turn less than half a circle over `window` tokens. Between distant positions the backbone's
// score q·R(Δ)k averages the fast pairs' terms away, so the slow pairs are what it actually compares there;
// unrotated fast pairs only add a term the backbone never sees at a distance.
// Usage: lm_bench_longmem_copy_probe [model.gguf] [text] [tokens=400] [offset=0] [layer=21] [chunks=16] [csz=4]
//                                    [window=512]
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "memory/dense_kv.h"
#include "memory/memory_bank/memory_bank.h"
#include "model/forward.h"
#include "ops/matmul.h"
#include "ops/rms_norm.h"
#include "runtime/loader.h"

int main(int argc, char** argv) {
  using namespace lm;
  const std::string model_path = argc > 1 ? argv[1] : "models/smollm2-135m-instruct-q4_1.gguf";
  const std::string text_path = argc > 2 ? argv[2] : "data/kjv.txt";
  const int64_t n = argc > 3 ? std::stoll(argv[3]) : 400, offset = argc > 4 ? std::stoll(argv[4]) : 0;
  const int64_t layer = argc > 5 ? std::stoll(argv[5]) : 21, n_chunks = argc > 6 ? std::stoll(argv[6]) : 16;
  const int64_t csz = argc > 7 ? std::stoll(argv[7]) : 4, window = argc > 8 ? std::stoll(argv[8]) : 512;
  auto loaded = LoadModelAndTokenizer(model_path);
  if (!loaded.ok()) return std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str()), 1;
  const ModelConfig& c = loaded->model->config();
  std::ifstream in(text_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str().substr(0, 400000);
  auto all = loaded->tokenizer->Encode(text, {.add_bos = false});
  std::vector<int32_t> span(all.begin() + offset, all.begin() + offset + n);
  const int64_t T = n, C = c.n_embd;
  std::vector<float> hs(static_cast<size_t>((c.n_layer + 1) * T * C)), k(static_cast<size_t>(T * c.kv_dim())),
      v(k.size());
  std::vector<int32_t> pos(static_cast<size_t>(T));
  std::iota(pos.begin(), pos.end(), 0);
  DenseKv kv(GeometryOf(c), T, KvCacheType::kF32);
  ForwardScratch s;
  ForwardTaps taps{.hidden_states = hs.data(), .kv_layer = layer, .k = k.data(), .v = v.data()};
  if (!ForwardHidden(*loaded->model, kv, span, pos, s, &taps).ok()) return 1;
  membank::MemoryBankConfig bc{.n_head_kv = c.n_head_kv, .head_dim = c.head_dim, .chunk_size = csz,
                               .capacity_tokens = 65536};
  auto bank = membank::MemoryBank::Create(bc);
  if (!bank.ok() || !(*bank)->Add(k.data(), v.data(), T).ok()) return 1;
  // Query dimensions that belong to fast rotary pairs (zeroed in the low_freq score).
  const std::vector<float> inv_freq = ops::RopeInvFreq(c.rope);
  std::vector<int64_t> fast_dims;
  for (int64_t i = 0; i < static_cast<int64_t>(inv_freq.size()); ++i) {
    if (inv_freq[static_cast<size_t>(i)] * static_cast<double>(window) < M_PI) continue;
    const int64_t half = c.rope.rot_dim / 2;
    fast_dims.push_back(c.rope.style == ops::RopeStyle::kInterleaved ? 2 * i : i);
    fast_dims.push_back(c.rope.style == ops::RopeStyle::kInterleaved ? 2 * i + 1 : i + half);
  }
  // The memory layer's query on the repeat: block `layer`'s attention input is H[layer] in the backbone (and
  // in a `backbone-memory` SideNet); a `backbone` SideNet's memory layer sees H[layer − 1]. Report both.
  const auto& lw = loaded->model->weights().layers[static_cast<size_t>(layer)];
  for (int64_t src : {layer - 1, layer}) {
    std::vector<float> xn(static_cast<size_t>(T * C)), q_all(static_cast<size_t>(T * c.q_dim()));
    ops::RmsNorm(hs.data() + src * T * C, lw.attn_norm.data<float>(), xn.data(), T, C, c.rms_eps);
    ops::MatMul(xn.data(), lw.wq, q_all.data(), T);
    for (bool low_freq : {false, true}) {
      std::vector<float> q = q_all;
      if (low_freq)
        for (int64_t r = 0; r < T * c.n_head; ++r)
          for (int64_t d : fast_dims) q[static_cast<size_t>(r * c.head_dim + d)] = 0.0f;
      std::vector<int32_t> slots;
      int64_t got = 0;
      if (!(*bank)->Retrieve(q.data(), T, c.n_head, n_chunks, &slots, &got).ok()) return 1;
      std::printf("{\"query_from\": \"H[%lld]\", \"score\": \"%s\", \"dims_scored\": %lld, \"block\": %lld, "
                  "\"tokens\": %lld, \"chunks\": %lld, \"csz\": %lld, \"hit_rate_per_head\": [",
                  static_cast<long long>(src), low_freq ? "low_freq" : "all",
                  static_cast<long long>(c.head_dim - (low_freq ? static_cast<int64_t>(fast_dims.size()) : 0)),
                  static_cast<long long>(layer), static_cast<long long>(T), static_cast<long long>(got),
                  static_cast<long long>(csz));
      double mean = 0;
      for (int64_t h = 0; h < c.n_head; ++h) {
        int64_t hits = 0;
        for (int64_t t = 0; t < T; ++t) {
          const int32_t* sl = slots.data() + (t * c.n_head + h) * got * csz;
          bool hit = false;
          // The aligned position t (same token, same context) or the next one (what a copy needs).
          for (int64_t j = 0; j < got * csz && !hit; ++j) hit = sl[j] == t || sl[j] == t + 1;
          hits += hit;
        }
        const double r = static_cast<double>(hits) / static_cast<double>(T);
        mean += r / static_cast<double>(c.n_head);
        std::printf("%s%.3f", h ? ", " : "", r);
      }
      const double chance = std::min(1.0, static_cast<double>(got * csz + csz) / static_cast<double>(T));
      std::printf("], \"mean\": %.3f, \"chance\": %.3f}\n", mean, chance);
    }
  }
  return 0;
}
