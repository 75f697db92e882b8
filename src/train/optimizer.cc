// AdamW (Loshchilov & Hutter): m, v in f32 per element; parameters split over the pool (each element's
// update is independent, so the result does not depend on the thread count).
#include "train/optimizer.h"

#include <cmath>

#include "core/str.h"
#include "core/thread_pool.h"

namespace lm::train {

Result<Schedule> ParseSchedule(const std::string& s) {
  if (s == "constant") return Schedule::kConstant;
  if (s == "linear") return Schedule::kLinear;
  if (s == "cosine") return Schedule::kCosine;
  return InvalidArgument(StrCat("--schedule '", s, "': expected constant, linear or cosine"));
}

const char* ScheduleName(Schedule s) {
  switch (s) {
    case Schedule::kConstant: return "constant";
    case Schedule::kLinear: return "linear";
    case Schedule::kCosine: return "cosine";
  }
  return "?";
}

float LrSchedule::At(int64_t step) const {
  if (warmup > 0 && step < warmup) return lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  if (kind == Schedule::kConstant) return lr;
  const int64_t span = std::max<int64_t>(1, total - warmup);
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
  const double f = kind == Schedule::kLinear ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return static_cast<float>(min_lr + (lr - min_lr) * f);
}

double GlobalGradNorm(const ParamSet& params) {
  double ss = 0;
  for (const auto& p : params.all())
    for (float g : p->grad) ss += static_cast<double>(g) * g;
  return std::sqrt(ss);
}

double AdamWStep(ParamSet& params, const AdamWConfig& cfg, float lr, int64_t step) {
  const double norm = GlobalGradNorm(params);
  const float clip_scale = (cfg.clip > 0 && norm > cfg.clip) ? static_cast<float>(cfg.clip / norm) : 1.0f;
  const float bc1 = 1.0f - std::pow(cfg.beta1, static_cast<float>(step + 1));
  const float bc2 = 1.0f - std::pow(cfg.beta2, static_cast<float>(step + 1));
  for (const auto& pp : params.all()) {
    Param& p = *pp;
    if (p.m.size() != p.value.size()) {
      p.m.assign(p.value.size(), 0.0f);
      p.v.assign(p.value.size(), 0.0f);
    }
    const float plr = lr * p.lr_scale;
    const float decay = p.decay ? plr * cfg.weight_decay : 0.0f;
    GlobalPool().ParallelFor(p.numel(), [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const float g = p.grad[static_cast<size_t>(i)] * clip_scale;
        float& m = p.m[static_cast<size_t>(i)];
        float& v = p.v[static_cast<size_t>(i)];
        m = cfg.beta1 * m + (1.0f - cfg.beta1) * g;
        v = cfg.beta2 * v + (1.0f - cfg.beta2) * g * g;
        float& w = p.value[static_cast<size_t>(i)];
        w -= decay * w;
        w -= plr * (m / bc1) / (std::sqrt(v / bc2) + cfg.eps);
        p.grad[static_cast<size_t>(i)] = 0.0f;
      }
    });
  }
  return norm;
}

}  // namespace lm::train
