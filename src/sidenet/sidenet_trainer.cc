// The SideNet training loop, its held-out evaluation and its checkpoints (parameters + AdamW moments + step
// + segment cursor in checkpoint.safetensors; the memory bank of that step in bank-<step>.lmbank).
#include "sidenet/sidenet_trainer.h"

#include <filesystem>

#include "core/check.h"
#include "core/clock.h"
#include "core/str.h"

namespace lm::sidenet {

SideNetTrainer::SideNetTrainer(LongMem& lm, LongMem& eval_lm, const SegmentStream& train, const SegmentStream& eval,
                               SideNetTrainerOptions o)
    : lm_(lm), eval_lm_(eval_lm), train_(train), eval_(eval), o_(std::move(o)) {
  lm_.side().params().Find(SideNet::kGateName)->lr_scale = o_.gate_lr_scale;
  const std::string query = SideNet::LayerParamName(lm_.side().config().side_memory_layer(), "attn_q.weight");
  train::Param* q = lm_.side().params().Find(query);
  LM_CHECK(q != nullptr, "sidenet trainer: no parameter '", query, "' for --memory-query-lr-scale");
  q->lr_scale = o_.memory_query_lr_scale;
}

std::string SideNetTrainer::BankPath(int64_t step) const {
  return (std::filesystem::path(o_.out_dir) / StrCat("bank-", step, ".lmbank")).string();
}

Result<EvalResult> SideNetTrainer::Evaluate() {
  EvalResult r;
  double sum_mem = 0, sum_local = 0;
  eval_lm_.ResetMemory();
  std::vector<int32_t> tokens, labels;
  const int64_t n = std::min<int64_t>(eval_.size(), o_.eval_segments);
  for (int64_t i = 0; i < n; ++i) {
    if (eval_.at(i).first_of_doc) eval_lm_.ResetMemory();
    eval_.Get(i, &tokens, &labels);
    int64_t valid = 0;
    for (int32_t l : labels) valid += l >= 0;
    auto local = eval_lm_.Segment(tokens, {.labels = labels, .use_memory = false, .write_memory = false,
                                           .compute = o_.compute});
    if (!local.ok()) return local.status();
    auto mem = eval_lm_.Segment(tokens, {.labels = labels, .compute = o_.compute});
    if (!mem.ok()) return mem.status();
    sum_local += local->loss * static_cast<double>(valid);
    sum_mem += mem->loss * static_cast<double>(valid);
    r.tokens += valid;
  }
  if (r.tokens > 0) {
    r.loss = sum_mem / static_cast<double>(r.tokens);
    r.loss_no_memory = sum_local / static_cast<double>(r.tokens);
  }
  return r;
}

Status SideNetTrainer::Save() {
  std::filesystem::create_directories(o_.out_dir);
  // The bank first, under a name that carries the step; the checkpoint's rename then commits both. A kill
  // in between leaves the previous checkpoint and its own bank file intact.
  LM_RETURN_IF_ERROR(lm_.bank().Save(BankPath(state_.step)));
  LM_RETURN_IF_ERROR(train::SaveCheckpoint((std::filesystem::path(o_.out_dir) / train::kCheckpointFile).string(),
                                           lm_.side().params(), lm_.side().Fingerprint(), state_));
  for (const auto& e : std::filesystem::directory_iterator(o_.out_dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("bank-", 0) == 0 && e.path().extension() == ".lmbank" &&
        e.path() != std::filesystem::path(BankPath(state_.step)))
      std::filesystem::remove(e.path());
  }
  return OkStatus();
}

Status SideNetTrainer::Restore() {
  const std::string ckpt = (std::filesystem::path(o_.out_dir) / train::kCheckpointFile).string();
  if (!std::filesystem::exists(ckpt)) return OkStatus();  // nothing to resume: a fresh start
  auto st = train::LoadCheckpoint(ckpt, lm_.side().params(), lm_.side().Fingerprint());
  if (!st.ok()) return st.status();
  if (st->run_config != o_.run_config)
    return InvalidArgument(StrCat("train-sidenet: ", ckpt, " was written with options ", st->run_config,
                                  " but this run has ", o_.run_config, "; hint: same options, or a new --out"));
  auto bank = membank::MemoryBank::Load(BankPath(st->step), lm_.bank().config());
  if (!bank.ok())
    return Corrupt(StrCat("train-sidenet: the memory bank of step ", st->step, " (", BankPath(st->step),
                          ") could not be read: ", bank.status().message(), "; hint: a new --out starts afresh"));
  LM_RETURN_IF_ERROR(lm_.SetBank(std::move(*bank)));
  state_ = std::move(*st);
  return OkStatus();
}

Status SideNetTrainer::Run() {
  state_.seed = o_.seed;
  state_.run_config = o_.run_config;
  if (o_.resume) LM_RETURN_IF_ERROR(Restore());
  const int64_t stop = o_.stop_after > 0 ? std::min(o_.steps, o_.stop_after) : o_.steps;
  const double t_start = NowSeconds();
  const int64_t step_at_start = state_.step;
  std::vector<int32_t> tokens, labels;
  while (state_.step < stop) {
    const double t0 = NowSeconds();
    double loss = 0, t_backbone = 0, t_side = 0;
    int64_t n_tok = 0;
    for (int64_t a = 0; a < o_.accum; ++a) {
      train::DataCursor& cur = state_.cursor;
      if (cur.index >= train_.size()) {  // a new pass starts with an empty memory
        cur.index = 0;
        ++cur.epoch;
      }
      const auto& seg = train_.at(cur.index);
      if (cur.index == 0 || (seg.first_of_doc && o_.reset_per_document)) lm_.ResetMemory();
      train_.Get(cur.index, &tokens, &labels);
      auto r = lm_.Segment(tokens, {.labels = labels, .backward = true,
                                    .loss_scale = 1.0f / static_cast<float>(o_.accum), .compute = o_.compute});
      if (!r.ok()) return r.status();
      loss += r->loss / static_cast<double>(o_.accum);
      t_backbone += r->backbone_seconds;
      t_side += r->sidenet_seconds;
      n_tok += seg.len;
      ++cur.index;
    }
    const float lr = o_.schedule.At(state_.step);
    const double gnorm = train::AdamWStep(lm_.side().params(), o_.adam, lr, state_.step);
    ++state_.step;
    const double dt = NowSeconds() - t0;
    SideNetStepReport rep{.step = state_.step, .steps = o_.steps, .loss = loss, .grad_norm = gnorm, .lr = lr,
                          .tokens_per_second = static_cast<double>(n_tok) / dt,
                          .memory_tokens = lm_.bank().n_tokens(), .backbone_seconds = t_backbone,
                          .sidenet_seconds = t_side};
    train::HistoryPoint hp{.step = state_.step, .loss = loss};
    const bool last = state_.step == stop;
    if ((o_.eval_every > 0 && state_.step % o_.eval_every == 0) || state_.step == o_.steps) {
      auto ev = Evaluate();
      if (!ev.ok()) return ev.status();
      hp.eval_loss = rep.eval_loss = ev->loss;
      rep.eval_loss_no_memory = ev->loss_no_memory;
    }
    state_.history.push_back(hp);
    if ((o_.save_every > 0 && state_.step % o_.save_every == 0) || last) {
      LM_RETURN_IF_ERROR(Save());
      rep.saved = true;
    }
    const double per_step = (NowSeconds() - t_start) / static_cast<double>(state_.step - step_at_start);
    rep.eta_seconds = per_step * static_cast<double>(stop - state_.step);
    if (o_.on_step) o_.on_step(rep);
  }
  return OkStatus();
}

}  // namespace lm::sidenet
