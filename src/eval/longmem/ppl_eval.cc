// Runs each perplexity system over every document, then buckets, bootstraps and compares.
#include "eval/longmem/ppl_eval.h"

#include "core/clock.h"
#include "core/str.h"
#include "eval/process_memory.h"

namespace lm::eval_longmem {

const char* KindName(PplSystemKind k) {
  switch (k) {
    case PplSystemKind::kBackboneWindow: return "backbone-window";
    case PplSystemKind::kBackboneDense: return "backbone-dense";
    case PplSystemKind::kStrategy: return "strategy";
    case PplSystemKind::kSideNet: return "sidenet";
    case PplSystemKind::kLongMem: return "longmem";
  }
  return "?";
}

std::vector<PplDocument> CutDocuments(const std::string& name, std::span<const int32_t> tokens,
                                      std::span<const int64_t> lengths, int64_t max_tokens) {
  std::vector<PplDocument> out;
  if (lengths.empty()) {
    const size_t n = max_tokens > 0 ? std::min(tokens.size(), static_cast<size_t>(max_tokens)) : tokens.size();
    out.push_back({name, std::vector<int32_t>(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n))});
    return out;
  }
  size_t at = 0;
  for (size_t i = 0;; ++i) {
    const auto len = static_cast<size_t>(lengths[i % lengths.size()]);
    if (at + len > tokens.size()) break;
    out.push_back({StrCat(name, "@", at, "+", len),
                   std::vector<int32_t>(tokens.begin() + static_cast<std::ptrdiff_t>(at),
                                        tokens.begin() + static_cast<std::ptrdiff_t>(at + len))});
    at += len;
  }
  return out;
}

namespace {

struct Runner {
  std::shared_ptr<const Model> model;
  sidenet::SideNet* side;
  const PplEvalOptions& o;

  Status Check(const PplSystem& s) const {
    const bool needs_side = s.kind == PplSystemKind::kSideNet || s.kind == PplSystemKind::kLongMem;
    if (needs_side && !side)
      return InvalidArgument(StrCat("eval-ppl: system '", s.name, "' needs a SideNet; hint: --sidenet PATH"));
    if (s.kind == PplSystemKind::kStrategy) {
      auto d = DescribeMemory(s.strategy, model->config());
      if (!d.ok()) return d.status();
    }
    if (s.kind == PplSystemKind::kLongMem) LM_RETURN_IF_ERROR(sidenet::Validate(s.memory));
    return OkStatus();
  }

  // Per-document NLLs of one system, with its state statistics.
  Result<std::vector<std::vector<double>>> Score(const PplSystem& s, std::span<const PplDocument> docs,
                                                  StateStats* stats) const {
    std::unique_ptr<sidenet::LongMem> lm;
    if (s.kind == PplSystemKind::kSideNet || s.kind == PplSystemKind::kLongMem) {
      auto made = sidenet::LongMem::Create(model, side, s.kind == PplSystemKind::kLongMem ? s.memory : side->memory_config());
      if (!made.ok()) return made.status();
      lm = std::move(*made);
    }
    std::vector<std::vector<double>> out;
    for (size_t d = 0; d < docs.size(); ++d) {
      if (o.on_progress)
        o.on_progress(StrCat(s.name, ": document ", d + 1, "/", docs.size(), " (", docs[d].tokens.size(), " tokens)"));
      Result<std::vector<double>> nll = std::vector<double>{};
      switch (s.kind) {
        case PplSystemKind::kBackboneWindow:
        case PplSystemKind::kBackboneDense:
          nll = WindowedNll(model, docs[d].tokens, s.window, stats);
          break;
        case PplSystemKind::kStrategy: {
          auto mem = MakeMemory(s.strategy, model->config());
          if (!mem.ok()) return mem.status();
          nll = StrategyNll(model, docs[d].tokens, std::move(*mem), 512, stats);
          break;
        }
        case PplSystemKind::kSideNet:
        case PplSystemKind::kLongMem:
          nll = LongMemNll(*lm, docs[d].tokens, o.segment, s.kind == PplSystemKind::kLongMem, stats);
          break;
      }
      if (!nll.ok())
        return Status(nll.status().code(), StrCat(s.name, " on ", docs[d].name, ": ", nll.status().message()));
      out.push_back(std::move(*nll));
    }
    return out;
  }
};

BucketResult Summarise(std::span<const SegmentNll> segs, std::span<const SegmentNll> ref, int64_t n_docs,
                       const BootstrapOptions& b) {
  BucketResult r{.n_docs = n_docs, .n_segments = static_cast<int64_t>(segs.size())};
  for (const SegmentNll& s : segs) r.n_tokens += s.n_tokens;
  r.ppl = BootstrapPpl(segs, b);
  r.delta_nll = BootstrapNllDelta(segs, ref, b);
  return r;
}

}  // namespace

Result<PplEvalReport> RunPplEval(std::shared_ptr<const Model> model, sidenet::SideNet* side,
                                 std::span<const PplDocument> docs, const PplEvalOptions& o) {
  if (docs.empty()) return InvalidArgument("eval-ppl: no document to evaluate; hint: --docs FILE...");
  if (o.systems.empty()) return InvalidArgument("eval-ppl: no system to evaluate; hint: --systems window,longmem");
  if (o.segment < 2) return InvalidArgument(StrCat("eval-ppl: --segment ", o.segment, " must be at least 2"));
  Runner run{model, side, o};
  for (const PplSystem& s : o.systems) LM_RETURN_IF_ERROR(run.Check(s));
  PplEvalReport rep{.segment = o.segment, .bootstrap = o.bootstrap};
  const int64_t nb = o.buckets.size();
  for (int64_t b = 0; b < nb; ++b) rep.bucket_labels.push_back(o.buckets.Label(b));
  for (const PplDocument& d : docs) {
    const auto n = static_cast<int64_t>(d.tokens.size());
    if (n < 2) return InvalidArgument(StrCat("eval-ppl: document '", d.name, "' has ", n, " tokens; need >= 2"));
    rep.docs.push_back({d.name, n, o.buckets.Index(n)});
  }

  // segs[system][bucket]: segment NLLs, in document order, identical segmentation for every system.
  std::vector<std::vector<std::vector<SegmentNll>>> segs;
  for (const PplSystem& s : o.systems) {
    SystemResult r{.name = s.name, .kind = KindName(s.kind)};
    if (s.kind == PplSystemKind::kStrategy) r.description = DescribeMemory(s.strategy, model->config()).value();
    if (s.kind == PplSystemKind::kBackboneWindow || s.kind == PplSystemKind::kBackboneDense)
      r.description = StrCat("dense(ctx=", s.window.ctx, " stride=", s.window.stride, ")");
    if (s.kind == PplSystemKind::kLongMem)
      r.description = StrCat(sidenet::Describe(s.memory), " layer=", side->config().memory_layer);
    if (s.kind == PplSystemKind::kSideNet) r.description = "sidenet(no memory)";
    r.peak_rss_isolated = eval::ResetPeakRss();
    const double t0 = NowSeconds();
    auto nll = run.Score(s, docs, &r.state);
    if (!nll.ok()) return nll.status();
    r.seconds = NowSeconds() - t0;
    r.peak_rss_bytes = eval::PeakRssBytes();
    std::vector<std::vector<SegmentNll>> by_bucket(static_cast<size_t>(nb));
    int64_t scored = 0;
    for (size_t d = 0; d < docs.size(); ++d) {
      const auto doc_segs = AggregateBySegment((*nll)[d], o.segment);
      auto& dst = by_bucket[static_cast<size_t>(rep.docs[d].bucket)];
      dst.insert(dst.end(), doc_segs.begin(), doc_segs.end());
      scored += static_cast<int64_t>((*nll)[d].size());
    }
    r.tokens_per_second = r.seconds > 0 ? static_cast<double>(scored) / r.seconds : 0;
    segs.push_back(std::move(by_bucket));
    rep.systems.push_back(std::move(r));
  }

  std::vector<int64_t> docs_in(static_cast<size_t>(nb), 0);
  for (const auto& d : rep.docs) ++docs_in[static_cast<size_t>(d.bucket)];
  int64_t no_memory = -1;  // the SideNet without memory, the baseline of the memory's own effect
  for (size_t s = 0; s < o.systems.size() && no_memory < 0; ++s)
    if (o.systems[s].kind == PplSystemKind::kSideNet) no_memory = static_cast<int64_t>(s);
  for (size_t s = 0; s < rep.systems.size(); ++s) {
    const bool vs_memoryless = no_memory >= 0 && o.systems[s].kind == PplSystemKind::kLongMem;
    std::vector<SegmentNll> all, ref_all, base_all;
    for (int64_t b = 0; b < nb; ++b) {
      const auto& mine = segs[s][static_cast<size_t>(b)];
      const auto& ref = segs[0][static_cast<size_t>(b)];
      BucketResult r = Summarise(mine, ref, docs_in[static_cast<size_t>(b)], o.bootstrap);
      if (vs_memoryless) {
        const auto& base = segs[static_cast<size_t>(no_memory)][static_cast<size_t>(b)];
        r.delta_nll_memory = BootstrapNllDelta(mine, base, o.bootstrap);
        base_all.insert(base_all.end(), base.begin(), base.end());
      }
      rep.systems[s].buckets.push_back(r);
      all.insert(all.end(), mine.begin(), mine.end());
      ref_all.insert(ref_all.end(), ref.begin(), ref.end());
    }
    rep.systems[s].all = Summarise(all, ref_all, static_cast<int64_t>(docs.size()), o.bootstrap);
    if (vs_memoryless) rep.systems[s].all.delta_nll_memory = BootstrapNllDelta(all, base_all, o.bootstrap);
  }
  return rep;
}

}  // namespace lm::eval_longmem
