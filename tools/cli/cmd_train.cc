// `longmem train`: fine-tune a GGUF model on text files (tokenised, packed, shuffled, held-out split) with
// AdamW, MST and checkpointing options; atomic checkpoints, --resume, progress with tokens/s and ETA, and a
// loss-curve SVG at the end. Every user mistake is reported before training starts.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "compute_options.h"
#include "core/str.h"
#include "core/thread_pool.h"
#include "io/gguf_reader.h"
#include "tokenizer/tokenizer.h"
#include "train/loss_plot.h"
#include "train/trainer.h"

namespace lm::cli {

namespace {

struct TrainOpts {
  ModelOptions model;
  std::vector<std::string> data;
  std::string out;
  int64_t seq_len = 256, steps = 100, save_every = 50, eval_every = 25, eval_windows = 4;
  int64_t batch = 1, accum = 1, warmup = 10, stop_after = -1, max_tokens = 0, mem_limit_mib = 0;
  float lr = 1e-4f, min_lr = 1e-5f, clip = 1.0f, wd = 0.1f;
  double holdout = 0.05;
  std::string schedule = "cosine", trainable = "full";
  bool resume = false;
  ComputeCliOptions compute;
  uint64_t seed = 1234;
};

uint64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

Status RunTrain(const TrainOpts& o) {
  SetGlobalThreads(o.model.threads > 0 ? o.model.threads : DefaultThreadCount());
  if (o.out.empty()) return InvalidArgument("train: --out DIR is required (checkpoints go there)");
  if (o.data.empty()) return InvalidArgument("train: --data FILE is required");
  auto sched_kind = train::ParseSchedule(o.schedule);
  if (!sched_kind.ok()) return sched_kind.status();
  auto spec = train::ParseTrainableSpec(o.trainable);
  if (!spec.ok()) return spec.status();
  auto compute = o.compute.Parse();
  if (!compute.ok()) return compute.status();
  const std::string path = o.model.model.empty() ? DefaultModelPath() : o.model.model;
  if (!std::filesystem::exists(path)) return NotFound(StrCat("model '", path, "' does not exist. hint: -m FILE.gguf"));
  auto file = gguf::GgufFile::Open(path);
  if (!file.ok()) return file.status();
  auto config = ConfigFromGguf(**file);
  if (!config.ok()) return config.status();
  if (o.seq_len > config->n_ctx_train)
    return OutOfRange(StrCat("train: --seq-len ", o.seq_len, " exceeds the model's ", config->n_ctx_train,
                             "-token context; hint: --seq-len ", config->n_ctx_train, " or less"));

  // Memory check before any large allocation: weights + grads + AdamW moments, saved activations, scratch.
  const uint64_t params = static_cast<uint64_t>(train::CountTrainableElements(*config, *spec));
  const uint64_t act = train::EstimateActivationBytes(*config, o.seq_len, *compute);
  const uint64_t need = params * 16 + act + std::filesystem::file_size(path);
  const uint64_t have = o.mem_limit_mib > 0 ? static_cast<uint64_t>(o.mem_limit_mib) << 20 : AvailableMemoryBytes();
  std::fprintf(stderr, "memory estimate: %s (%s trainable f32 ×4 for weights/grads/AdamW, %s activations at T=%lld, "
               "model file %s); available %s\n", HumanBytes(need).c_str(), HumanBytes(params * 16).c_str(),
               HumanBytes(act).c_str(), static_cast<long long>(o.seq_len),
               HumanBytes(std::filesystem::file_size(path)).c_str(), HumanBytes(have).c_str());
  if (have > 0 && need > have)
    return OutOfMemory(StrCat("train: needs about ", HumanBytes(need), " but only ", HumanBytes(have),
                              " is available; hint: --mst-chunks auto, --checkpoint-layers, a smaller --seq-len, or "
                              "--trainable lora:q,v"));

  // Data: tokenise every file, concatenate, pack.
  auto vocab = VocabFromGguf(**file);
  if (!vocab.ok()) return vocab.status();
  auto tok = Tokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return tok.status();
  std::vector<int32_t> ids;
  for (const std::string& f : o.data) {
    auto text = ReadTextFile(f);
    if (!text.ok()) return text.status();
    const auto part = (*tok)->Encode(*text, {.add_bos = true, .parse_special = false});
    ids.insert(ids.end(), part.begin(), part.end());
    if (o.max_tokens > 0 && static_cast<int64_t>(ids.size()) >= o.max_tokens) {
      ids.resize(static_cast<size_t>(o.max_tokens));
      break;
    }
  }
  const size_t n_ids = ids.size();
  auto data = train::TokenDataset::Create(std::move(ids), o.seq_len, o.holdout);
  if (!data.ok()) return data.status();
  auto model = train::TrainModel::Load(*file, *spec, o.seed);
  if (!model.ok()) return model.status();
  std::fprintf(stderr, "data: %zu tokens → %lld training + %lld held-out windows of %lld; %s; %lld trainable values\n",
               n_ids, static_cast<long long>(data->n_train()), static_cast<long long>(data->n_eval()),
               static_cast<long long>(o.seq_len), (*model)->Fingerprint().c_str(),
               static_cast<long long>((*model)->params().NumElements()));

  nlohmann::json run = {{"data_tokens", n_ids}, {"seq_len", o.seq_len}, {"steps", o.steps}, {"batch", o.batch},
                        {"accum", o.accum}, {"lr", o.lr}, {"min_lr", o.min_lr}, {"warmup", o.warmup},
                        {"schedule", o.schedule}, {"clip", o.clip}, {"wd", o.wd}, {"holdout", o.holdout},
                        {"mst", o.compute.mst}, {"checkpoint_layers", o.compute.checkpoint_layers}, {"threads", GlobalPool().n_threads()}};
  train::TrainerOptions to{
      .out_dir = o.out, .steps = o.steps, .stop_after = o.stop_after, .batch = o.batch, .accum = o.accum,
      .schedule = {.lr = o.lr, .min_lr = o.min_lr, .warmup = o.warmup, .total = o.steps, .kind = *sched_kind},
      .adam = {.weight_decay = o.wd, .clip = o.clip}, .compute = *compute, .save_every = o.save_every,
      .eval_every = o.eval_every, .eval_windows = o.eval_windows, .seed = o.seed, .resume = o.resume,
      .run_config = run.dump()};
  to.on_step = [](const train::StepReport& r) {
    std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.2e |g| %.3f%s | %.1f tok/s ETA %s%s\n",
                 static_cast<long long>(r.step), static_cast<long long>(r.steps), r.loss, r.lr, r.grad_norm,
                 r.eval_loss >= 0 ? StrCat(" eval ", r.eval_loss).c_str() : "", r.tokens_per_second,
                 HumanSeconds(r.eta_seconds).c_str(), r.saved ? " [saved]" : "");
  };
  RetainFreedMemoryForReuse();
  train::Trainer trainer(**model, *data, to);
  LM_RETURN_IF_ERROR(trainer.Run());
  const std::string svg = (std::filesystem::path(o.out) / "loss.svg").string();
  LM_RETURN_IF_ERROR(train::WriteLossCurveSvg(svg, trainer.state().history,
                                              StrCat("longmem train: ", (*model)->Fingerprint())));
  const auto& h = trainer.state().history;
  std::printf("{\"steps\": %lld, \"first_loss\": %.5f, \"last_loss\": %.5f, \"eval_loss\": %.5f, "
              "\"peak_rss_bytes\": %llu, \"loss_curve\": \"%s\"}\n",
              static_cast<long long>(trainer.state().step), h.empty() ? 0.0 : h.front().loss,
              h.empty() ? 0.0 : h.back().loss, h.empty() ? -1.0 : h.back().eval_loss,
              static_cast<unsigned long long>(PeakRssBytes()), svg.c_str());
  return OkStatus();
}

}  // namespace

void RegisterTrain(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("train", "fine-tune a model on text files (AdamW, MST, atomic checkpoints)");
  auto o = std::make_shared<TrainOpts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("--data", o->data, "text files (tokenised and concatenated)")->expected(1, -1);
  cmd->add_option("--out", o->out, "output folder: checkpoint.safetensors, loss.svg");
  cmd->add_option("--seq-len", o->seq_len, "tokens per training window")->capture_default_str();
  cmd->add_option("--steps", o->steps, "optimiser steps")->capture_default_str()->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--save-every", o->save_every, "checkpoint every N steps (0: at the end)")->capture_default_str();
  cmd->add_option("--eval-every", o->eval_every, "held-out loss every N steps (0: at the end)")->capture_default_str();
  cmd->add_option("--eval-windows", o->eval_windows, "held-out windows per evaluation")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "continue from --out/checkpoint.safetensors");
  cmd->add_option("--lr", o->lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", o->min_lr, "final learning rate of the decay")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "warm-up steps")->capture_default_str();
  cmd->add_option("--schedule", o->schedule, "constant | linear | cosine")->capture_default_str();
  cmd->add_option("--batch", o->batch, "windows per micro-batch")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--accum", o->accum, "micro-batches per step")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--clip", o->clip, "global gradient-norm clip (0: off)")->capture_default_str();
  cmd->add_option("--wd", o->wd, "decoupled weight decay")->capture_default_str();
  cmd->add_option("--trainable", o->trainable, "full | layers:0-3 | lora:q,v:r=8:alpha=16 | side:256")
      ->capture_default_str();
  o->compute.Add(*cmd, "blocks");
  cmd->add_option("--holdout", o->holdout, "fraction of windows held out")->capture_default_str();
  cmd->add_option("--seed", o->seed, "data-order and initialisation seed")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "use only the first N tokens of the data (0: all)");
  cmd->add_option("--mem-limit", o->mem_limit_mib, "memory budget in MiB for the start-up check (default: available)");
  cmd->add_option("--stop-after", o->stop_after, "stop (checkpointed) after N steps of the --steps schedule");
  cmd->callback([&exit_code, o] {
    const Status s = RunTrain(*o);
    if (!s.ok()) exit_code = Fail(s);
  });
}

}  // namespace lm::cli
