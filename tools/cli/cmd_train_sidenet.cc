// `longmem train-sidenet`: LongMem's memory-augmented adaptation. The backbone (-m) stays frozen and
// quantised; a SideNet initialised from its odd blocks and the memory gate train on document-ordered
// segments while the memory bank fills with the earlier segments of each document. Writes
// checkpoint.safetensors + bank-<step>.lmbank (resumable), sidenet.safetensors (for `longmem run`) and loss.svg.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common.h"
#include "compute_options.h"
#include "core/str.h"
#include "core/thread_pool.h"
#include "longmem_commands.h"
#include "longmem_options.h"
#include "sidenet/sidenet_trainer.h"
#include "train/loss_plot.h"

namespace lm::cli {

namespace {

struct Opts {
  ModelOptions model;
  std::vector<std::string> data, eval_data;
  std::string out;
  int64_t seg_len = 512, steps = 200, save_every = 50, eval_every = 50, eval_segments = 8, accum = 1;
  int64_t stop_after = -1, max_tokens = 0, sidenet_layers = 0, memory_layer = 0, warmup = 0;
  // The paper's optimiser (spec §6): Adam betas (0.9, 0.98), eps 1e-6, decoupled wd 0.01, lr 2e-4 decayed
  // linearly to 0 with no warm-up, no gradient clipping.
  float lr = 2e-4f, min_lr = 0.0f, wd = 0.01f, clip = 0.0f, gate_lr_scale = 1.0f, memory_query_lr_scale = 1.0f;
  std::string schedule = "linear", init = "paper";
  double holdout = 0.02;
  bool resume = false, no_reset = false;
  ComputeCliOptions compute;
  uint64_t seed = 1234;
  LongMemCliOptions memory;
};

Status Run(const Opts& o) {
  if (o.out.empty()) return InvalidArgument("train-sidenet: --out DIR is required (checkpoints go there)");
  auto sched = train::ParseSchedule(o.schedule);
  if (!sched.ok()) return sched.status();
  auto compute = o.compute.Parse();
  if (!compute.ok()) return compute.status();
  auto loaded = LoadForCli(o.model);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->gguf) return Unsupported("train-sidenet: the backbone must be a GGUF file; hint: -m model.gguf");
  const ModelConfig& c = loaded->model->config();
  if (o.seg_len > c.n_ctx_train)
    return OutOfRange(StrCat("train-sidenet: --seq-len ", o.seg_len, " exceeds the backbone's ", c.n_ctx_train,
                             "-token context"));
  sidenet::SideNetConfig sc = sidenet::DefaultSideNetConfig(c);
  if (o.sidenet_layers > 0) sc.n_layer = o.sidenet_layers;
  if (o.memory_layer > 0) sc.memory_layer = o.memory_layer;
  auto init = sidenet::ParseSideNetInit(o.init);
  if (!init.ok()) return init.status();
  sc.init = *init;
  sidenet::MemoryConfig mc;
  LM_RETURN_IF_ERROR(o.memory.Apply(&mc));

  // Documents: one per file, tokenised with BOS.
  int64_t total = 0;
  auto read_docs = [&](const std::vector<std::string>& files, int64_t max_tokens,
                       std::vector<sidenet::Document>* docs) -> Status {
    for (const std::string& f : files) {
      auto text = ReadTextFile(f);
      if (!text.ok()) return text.status();
      auto ids = loaded->tokenizer->Encode(*text, {.add_bos = true, .parse_special = false});
      if (max_tokens > 0 && total + static_cast<int64_t>(ids.size()) > max_tokens)
        ids.resize(static_cast<size_t>(std::max<int64_t>(0, max_tokens - total)));
      total += static_cast<int64_t>(ids.size());
      if (ids.size() >= 2) docs->push_back({f, std::move(ids)});
    }
    return OkStatus();
  };
  std::vector<sidenet::Document> docs, train_docs, eval_docs;
  LM_RETURN_IF_ERROR(read_docs(o.data.empty() ? std::vector<std::string>{DefaultTextPath()} : o.data, o.max_tokens, &docs));
  if (o.eval_data.empty()) {
    sidenet::SplitHoldout(docs, o.holdout, &train_docs, &eval_docs);
  } else {  // whole held-out documents: each is evaluated from an empty memory, segment after segment
    train_docs = std::move(docs);
    LM_RETURN_IF_ERROR(read_docs(o.eval_data, 0, &eval_docs));
  }
  auto train = sidenet::SegmentStream::Create(std::move(train_docs), o.seg_len);
  if (!train.ok()) return train.status();
  auto eval = sidenet::SegmentStream::Create(std::move(eval_docs), o.seg_len);
  if (!eval.ok())
    return InvalidArgument(StrCat("train-sidenet: no held-out segment (", eval.status().message(),
                                  "); hint: a larger --holdout or more data"));

  auto net = sidenet::SideNet::Init(loaded->gguf, sc, mc);
  if (!net.ok()) return net.status();
  auto lm = sidenet::LongMem::Create(loaded->model, net->get(), mc);
  if (!lm.ok()) return lm.status();
  auto eval_lm = sidenet::LongMem::Create(loaded->model, net->get(), mc);
  if (!eval_lm.ok()) return eval_lm.status();
  std::fprintf(stderr,
               "train-sidenet: %s | %lld trainable values | memory: block %lld K/V, csz %lld, K %lld, M %lld (%s), %s queries | "
               "data: %lld tokens, %lld training + %lld held-out segments of %lld\n",
               (*net)->Fingerprint().c_str(), static_cast<long long>((*net)->params().NumElements()),
               static_cast<long long>(sc.memory_layer), static_cast<long long>(mc.chunk_size),
               static_cast<long long>(mc.retrieve_tokens), static_cast<long long>(mc.capacity_tokens),
               HumanBytes((*lm)->bank().bytes()).c_str(), sidenet::RetrievalQueryName(mc.query),
               static_cast<long long>(total),
               static_cast<long long>(train->size()), static_cast<long long>(eval->size()),
               static_cast<long long>(o.seg_len));

  nlohmann::json run = {{"data_tokens", total}, {"seq_len", o.seg_len}, {"steps", o.steps}, {"accum", o.accum},
                        {"lr", o.lr}, {"min_lr", o.min_lr}, {"warmup", o.warmup}, {"schedule", o.schedule},
                        {"wd", o.wd}, {"clip", o.clip}, {"holdout", o.holdout}, {"reset_per_doc", !o.no_reset},
                        {"mst", o.compute.mst}, {"gate_lr_scale", o.gate_lr_scale}, {"config", sidenet::ToJson(sc, mc)}};
  // Recorded only when set, so runs checkpointed before the option existed still resume.
  if (o.memory_query_lr_scale != 1.0f) run["memory_query_lr_scale"] = o.memory_query_lr_scale;
  sidenet::SideNetTrainerOptions to{
      .out_dir = o.out, .steps = o.steps, .stop_after = o.stop_after, .accum = o.accum,
      .schedule = {.lr = o.lr, .min_lr = o.min_lr, .warmup = o.warmup, .total = o.steps, .kind = *sched},
      .adam = {.beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-6f, .weight_decay = o.wd, .clip = o.clip},
      .gate_lr_scale = o.gate_lr_scale,
      .memory_query_lr_scale = o.memory_query_lr_scale,
      .compute = *compute, .save_every = o.save_every, .eval_every = o.eval_every,
      .eval_segments = o.eval_segments, .reset_per_document = !o.no_reset, .resume = o.resume, .seed = o.seed,
      .run_config = run.dump()};
  const auto out = std::filesystem::path(o.out);
  const std::string side_path = (out / "sidenet.safetensors").string();
  sidenet::SideNet* side = net->get();
  to.on_step = [side, side_path](const sidenet::SideNetStepReport& r) {
    // The SideNet file `run`, `niah` and the eval tools load, refreshed at every checkpoint.
    if (r.saved)
      if (Status s = side->Save(side_path); !s.ok()) std::fprintf(stderr, "warning: %s\n", s.ToString().c_str());
    std::string ev;
    if (r.eval_loss >= 0) ev = StrCat(" | eval ", r.eval_loss, " (no memory ", r.eval_loss_no_memory, ")");
    std::fprintf(stderr,
                 "step %lld/%lld loss %.4f lr %.2e |g| %.3f mem %lld tok%s | %.1f tok/s (backbone %.2fs, sidenet "
                 "%.2fs) ETA %s%s\n",
                 static_cast<long long>(r.step), static_cast<long long>(r.steps), r.loss, r.lr, r.grad_norm,
                 static_cast<long long>(r.memory_tokens), ev.c_str(), r.tokens_per_second, r.backbone_seconds,
                 r.sidenet_seconds, HumanSeconds(r.eta_seconds).c_str(), r.saved ? " [saved]" : "");
  };
  RetainFreedMemoryForReuse();
  sidenet::SideNetTrainer trainer(**lm, **eval_lm, *train, *eval, to);
  LM_RETURN_IF_ERROR(trainer.Run());
  LM_RETURN_IF_ERROR((*net)->Save(side_path));
  const std::string svg = (out / "loss.svg").string();
  LM_RETURN_IF_ERROR(train::WriteLossCurveSvg(svg, trainer.state().history,
                                              StrCat("longmem train-sidenet: ", (*net)->Fingerprint())));
  const auto& h = trainer.state().history;
  nlohmann::json gates = nlohmann::json::array();
  for (float g : (*net)->gate_logits()) gates.push_back(1.0 / (1.0 + std::exp(-g)));
  nlohmann::json res = {{"steps", trainer.state().step},
                        {"first_loss", h.empty() ? 0.0 : h.front().loss},
                        {"last_loss", h.empty() ? 0.0 : h.back().loss},
                        {"eval_loss", h.empty() ? -1.0 : h.back().eval_loss},
                        {"memory_gate_sigmoid", gates},
                        {"sidenet", side_path},
                        {"loss_curve", svg},
                        {"peak_rss_bytes", PeakRssBytes()}};
  std::printf("%s\n", res.dump().c_str());
  return OkStatus();
}

}  // namespace

void RegisterTrainSideNet(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("train-sidenet", "LongMem: train a SideNet with a memory bank on a frozen backbone");
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("--data", o->data, "text files, one document each (default: data/kjv.txt)")->expected(1, -1);
  cmd->add_option("--out", o->out, "output folder: checkpoint, bank, sidenet.safetensors, loss.svg");
  cmd->add_option("--seq-len", o->seg_len, "tokens per segment (the local window)")->capture_default_str();
  cmd->add_option("--steps", o->steps, "optimiser steps")->capture_default_str()->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--accum", o->accum, "segments per optimiser step")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--save-every", o->save_every, "checkpoint every N steps (0: at the end)")->capture_default_str();
  cmd->add_option("--eval-every", o->eval_every, "held-out loss every N steps (0: at the end)")->capture_default_str();
  cmd->add_option("--eval-segments", o->eval_segments, "held-out segments per evaluation")->capture_default_str();
  cmd->add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", o->min_lr, "final learning rate")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "warm-up steps")->capture_default_str();
  cmd->add_option("--schedule", o->schedule, "constant | linear | cosine")->capture_default_str();
  cmd->add_option("--wd", o->wd, "decoupled weight decay")->capture_default_str();
  cmd->add_option("--clip", o->clip, "global gradient-norm clip (0: off, as the paper)")->capture_default_str();
  cmd->add_option("--holdout", o->holdout, "fraction of each document held out (without --eval-data)")
      ->capture_default_str();
  cmd->add_option("--eval-data", o->eval_data, "held-out documents for evaluation (instead of --holdout)")
      ->expected(1, -1);
  cmd->add_option("--sidenet-layers", o->sidenet_layers, "SideNet layers (default: half the backbone's)");
  cmd->add_option("--memory-layer", o->memory_layer, "odd backbone block whose K/V are cached (default ≈ 0.7·L)");
  cmd->add_option("--init", o->init, "paper (copies of the odd backbone blocks, spec) | backbone (copies with output "
                 "projections zeroed: the untrained SideNet reproduces the backbone) | backbone-memory (backbone, but "
                 "the memory layer starts as the cached block's attention, so the memory path trains from step 1)")
      ->capture_default_str();
  cmd->add_option("--gate-lr-scale", o->gate_lr_scale, "memory gate learning rate relative to --lr")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--memory-query-lr-scale", o->memory_query_lr_scale,
                  "learning rate of the memory layer's query projection relative to --lr")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--no-reset", o->no_reset, "keep the memory across document boundaries (the official code's behaviour)");
  o->compute.Add(*cmd, "side blocks");
  cmd->add_option("--max-tokens", o->max_tokens, "use only the first N tokens of the data (0: all)");
  cmd->add_option("--stop-after", o->stop_after, "stop (checkpointed) after N steps of the --steps schedule");
  cmd->add_flag("--resume", o->resume, "continue from --out");
  cmd->add_option("--seed", o->seed, "seed (recorded)")->capture_default_str();
  o->memory.Add(*cmd);
  cmd->callback([&exit_code, o] {
    const Status s = Run(*o);
    if (!s.ok()) exit_code = Fail(s);
  });
}

}  // namespace lm::cli
