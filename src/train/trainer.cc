// Training loop. Each optimiser step consumes batch × accum windows in the DataOrder; the loss of each
// window is a mean over its tokens and windows are averaged, so the gradient is the mean over the step.
#include "train/trainer.h"

#include <filesystem>

#include "core/clock.h"
#include "core/str.h"

namespace lm::train {

Trainer::Trainer(TrainModel& model, const TokenDataset& data, TrainerOptions options)
    : model_(model), data_(data), o_(std::move(options)), order_(data.n_train(), o_.seed) {
  state_.seed = o_.seed;
  state_.run_config = o_.run_config;
}

Result<double> Trainer::Evaluate() {
  const int64_t n = std::min(o_.eval_windows, data_.n_eval());
  std::vector<int32_t> tok, lab;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    data_.Eval(i, &tok, &lab);
    auto l = model_.Run(tok, lab, o_.compute, false);
    if (!l.ok()) return l.status();
    sum += *l;
  }
  return sum / static_cast<double>(n);
}

Status Trainer::Save() {
  state_.cursor = order_.cursor();
  return SaveCheckpoint((std::filesystem::path(o_.out_dir) / kCheckpointFile).string(), model_, state_);
}

Status Trainer::Run() {
  std::error_code ec;
  std::filesystem::create_directories(o_.out_dir, ec);
  if (ec) return IoError(StrCat("train: cannot create --out '", o_.out_dir, "': ", ec.message()));
  const std::string ckpt = (std::filesystem::path(o_.out_dir) / kCheckpointFile).string();
  // A run killed while saving leaves its temp file behind (the checkpoint itself is intact): remove it.
  for (const auto& e : std::filesystem::directory_iterator(o_.out_dir, ec))
    if (e.path().filename().string().rfind(std::string(kCheckpointFile) + ".tmp.", 0) == 0)
      std::filesystem::remove(e.path(), ec);
  if (o_.resume && std::filesystem::exists(ckpt)) {
    auto st = LoadCheckpoint(ckpt, model_);
    if (!st.ok()) return st.status();
    if (st->run_config != o_.run_config)
      return InvalidArgument(StrCat("train: --resume with different options: checkpoint has ", st->run_config,
                                    ", this run has ", o_.run_config, "; hint: repeat the original options"));
    if (st->seed != o_.seed) return InvalidArgument("train: --resume with a different --seed");
    LM_RETURN_IF_ERROR(order_.Restore(st->cursor));
    state_ = *st;
  } else if (!o_.resume && std::filesystem::exists(ckpt)) {
    return InvalidArgument(StrCat("train: ", ckpt, " exists; hint: --resume to continue it, or another --out"));
  }
  // AdamW moments are allocated before the first step (not inside it), so the step's activations and the
  // optimiser state never stack on top of freed-but-retained heap pages: the peak is reached predictably.
  for (const auto& p : model_.params().all()) {
    if (p->m.size() != p->value.size()) {
      p->m.assign(p->value.size(), 0.0f);
      p->v.assign(p->value.size(), 0.0f);
    }
  }
  std::vector<int32_t> tok, lab;
  const double t_start = NowSeconds();
  const int64_t first_step = state_.step;
  const float scale = 1.0f / static_cast<float>(o_.batch * o_.accum);
  const int64_t stop = o_.stop_after >= 0 ? std::min(o_.stop_after, o_.steps) : o_.steps;
  double compute_s = 0;  // forward/backward/optimiser only: tokens/s excludes evaluation and saving
  while (state_.step < stop) {
    const double t_step = NowSeconds();
    double loss = 0;
    for (int64_t w = 0; w < o_.batch * o_.accum; ++w) {
      data_.Train(order_.Next(), &tok, &lab);
      auto l = model_.Run(tok, lab, o_.compute, true, scale);
      if (!l.ok()) return l.status();
      loss += *l * scale;
    }
    const float lr = o_.schedule.At(state_.step);
    StepReport r{.loss = loss, .lr = lr};
    r.grad_norm = AdamWStep(model_.params(), o_.adam, lr, state_.step);
    ++state_.step;
    compute_s += NowSeconds() - t_step;
    HistoryPoint hp{.step = state_.step, .loss = loss};
    const bool last = state_.step == stop;
    if (last || (o_.eval_every > 0 && state_.step % o_.eval_every == 0)) {
      auto e = Evaluate();
      if (!e.ok()) return e.status();
      hp.eval_loss = r.eval_loss = *e;
    }
    state_.history.push_back(hp);
    if (last || (o_.save_every > 0 && state_.step % o_.save_every == 0)) {
      LM_RETURN_IF_ERROR(Save());
      r.saved = true;
    }
    const double el = NowSeconds() - t_start;
    const int64_t done = state_.step - first_step;
    r.step = state_.step;
    r.steps = o_.steps;
    r.tokens_per_second = static_cast<double>(done * o_.batch * o_.accum * data_.seq_len()) / compute_s;
    r.eta_seconds = el / static_cast<double>(done) * static_cast<double>(o_.steps - state_.step);
    if (o_.on_step) o_.on_step(r);
  }
  return OkStatus();
}

}  // namespace lm::train
