// Command-line options that choose and tune the memory strategy (--memory and its named parameters),
// shared by generate, ppl and niah. Unset options fall back to MakeMemory's window-derived defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "common.h"
#include "memory/memory_factory.h"

namespace lm::cli {

struct MemoryCliOptions {
  static constexpr int64_t kUnset = std::numeric_limits<int64_t>::min();
  std::string kind = "dense";
  int64_t sinks = kUnset, window = kUnset, top_k = kUnset, span = kUnset, clip = kUnset, chunk = kUnset;
  double compress = 0;  // 0: unset
  std::string head_profile;
  double echo_ratio = 0.01, induction_ratio = 0.14;
  KvCacheType kv_type = KvCacheType::kF16;
  std::string select_type;  // empty: unset
  int64_t select_blocks = kUnset;
  double select_share = 0;  // 0: unset

  MemoryOptions ToOptions() const {
    MemoryOptions m{.kind = kind, .kv_type = kv_type, .head_profile = head_profile, .echo_ratio = echo_ratio,
                    .induction_ratio = induction_ratio};
    auto set = [](int64_t v, std::optional<int64_t>& dst) {
      if (v != kUnset) dst = v;
    };
    set(sinks, m.sinks);
    set(window, m.window);
    set(top_k, m.top_k);
    set(span, m.span);
    set(clip, m.clip);
    set(chunk, m.chunk);
    set(select_blocks, m.select_blocks);
    if (select_share != 0) m.select_share = select_share;
    if (compress != 0) m.compress = compress;
    if (!select_type.empty()) m.select_type = ParseKvCacheType(select_type);
    return m;
  }
};

inline void AddMemoryOptions(CLI::App& app, MemoryCliOptions& o) {
  app.add_option("--memory", o.kind, "memory strategy: dense | streaming | reattention | razor (niah also: longmem)")->capture_default_str();
  AddKvTypeOption(app, o.kv_type);  // dense, razor and reattention (rotated keys and values) caches
  app.add_option("--sinks", o.sinks, "streaming/razor: attention-sink tokens (4); reattention: global tokens (32)");
  app.add_option("--window", o.window,
                 "streaming: recent tokens (window - sinks); reattention: local tokens (window/2); "
                 "razor: S0, least recent tokens a compressed head keeps (window/8)");
  app.add_option("--topk", o.top_k, "reattention: anchors per query and head (4)");
  app.add_option("--span", o.span, "reattention: tokens recalled around each anchor (32)");
  app.add_option("--clip", o.clip, "reattention: most distinct anchors ((window - global - local) / span)");
  app.add_option("--chunk", o.chunk, "streaming/reattention: queries sharing one selection (512)");
  app.add_option("--select-type", o.select_type,
                 "reattention: pre-RoPE selection keys, f16 (exact top-k) or q8_0 (47% less memory for them; top-k "
                 "exact over the quantised keys) (f16)")
      ->check(CLI::IsMember({"f16", "q8_0"}));
  app.add_option("--select-blocks", o.select_blocks,
                 "reattention: decode steps rank blocks of this many middle keys by their mean key and score "
                 "exactly only each query's top --select-share of them (a faster, approximate top-k); 0: score "
                 "every key, the exact top-k (32)");
  app.add_option("--select-share", o.select_share,
                 "reattention with --select-blocks: share of blocks each query scores exactly (0.2)");
  app.add_option("--compress", o.compress, "razor: C in max(S0, N/C) (5)");
  app.add_option("--head-profile", o.head_profile, "razor: head profile from `longmem calibrate-heads`");
  app.add_option("--echo-ratio", o.echo_ratio, "razor: share of heads kept by echo score")->capture_default_str();
  app.add_option("--induction-ratio", o.induction_ratio, "razor: share of heads kept by induction score")
      ->capture_default_str();
}

}  // namespace lm::cli
