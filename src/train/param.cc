// Parameters, weights and projections: dispatch between trainable f32 masters, frozen stored tensors and
// LoRA adapters, so model code is written once for every declared trainable set.
#include "train/param.h"

#include <algorithm>

#include "core/check.h"
#include "train/ops/linear.h"

namespace lm::train {

Param* ParamSet::Add(std::string name, Shape shape, bool decay) {
  auto p = std::make_unique<Param>();
  p->name = std::move(name);
  p->shape = std::move(shape);
  int64_t n = 1;
  for (int64_t d : p->shape) n *= d;
  p->value.assign(static_cast<size_t>(n), 0.0f);
  p->grad.assign(static_cast<size_t>(n), 0.0f);
  p->decay = decay;
  params_.push_back(std::move(p));
  return params_.back().get();
}

Param* ParamSet::Find(const std::string& name) const {
  for (const auto& p : params_)
    if (p->name == name) return p.get();
  return nullptr;
}

void ParamSet::ZeroGrad() {
  for (auto& p : params_) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
}

int64_t ParamSet::NumElements() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->numel();
  return n;
}

const float* Weight::f32() const {
  if (param) return param->value.data();
  LM_CHECK(frozen.dtype() == DType::kF32, "weight stored as ", Name(frozen.dtype()), " used as f32");
  return frozen.data<float>();
}

void Projection::Forward(float* y, const float* x, int64_t T) const {
  if (w.trainable()) {
    LinearForward(y, x, w.param->value.data(), T, N, K);
  } else {
    FrozenLinearForward(y, x, w.frozen, T);
  }
  if (!lora.a) return;
  std::vector<float> xa(static_cast<size_t>(T * lora.rank)), delta(static_cast<size_t>(T * N));
  LinearForward(xa.data(), x, lora.a->value.data(), T, lora.rank, K);
  LinearForward(delta.data(), xa.data(), lora.b->value.data(), T, N, lora.rank);
  for (size_t i = 0; i < delta.size(); ++i) y[i] += lora.scale * delta[i];
}

void Projection::Backward(float* dx, const float* dy, const float* x, int64_t T, bool accumulate_dx) const {
  if (w.trainable()) {
    LinearBackward({.dx = dx, .dw = w.param->grad.data(), .dy = dy, .x = x, .w = w.param->value.data(),
                    .T = T, .N = N, .K = K, .accumulate_dx = accumulate_dx});
  } else if (dx) {
    FrozenLinearBackwardDx(dx, dy, w.frozen, T, accumulate_dx);
  }
  if (!lora.a) return;
  // Recompute x·Aᵀ (T·r values: cheaper to redo than to keep per layer).
  const int64_t r = lora.rank;
  std::vector<float> xa(static_cast<size_t>(T * r)), dxa(static_cast<size_t>(T * r)),
      dys(static_cast<size_t>(T * N));
  LinearForward(xa.data(), x, lora.a->value.data(), T, r, K);
  for (size_t i = 0; i < dys.size(); ++i) dys[i] = lora.scale * dy[i];
  LinearBackward({.dx = dxa.data(), .dw = lora.b->grad.data(), .dy = dys.data(), .x = xa.data(),
                  .w = lora.b->value.data(), .T = T, .N = N, .K = r});
  LinearBackward({.dx = dx, .dw = lora.a->grad.data(), .dy = dxa.data(), .x = x, .w = lora.a->value.data(),
                  .T = T, .N = r, .K = K, .accumulate_dx = dx != nullptr});
}

}  // namespace lm::train
