// Trainable parameters (f32 master value, gradient, AdamW moments) and the Weight handle that model code
// uses for every tensor: either a trainable Param or a frozen tensor exactly as stored (maybe quantised).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace lm::train {

struct Param {
  std::string name;          // checkpoint key, GGUF names for model tensors ("blk.3.attn_q.weight")
  Shape shape;
  std::vector<float> value;  // f32 master weights
  std::vector<float> grad;   // accumulated over micro-batches, zeroed by the optimiser step
  std::vector<float> m, v;   // AdamW first/second moments (sized by the optimiser)
  bool decay = true;         // decoupled weight decay applies (matrices yes, norm gains no)
  // This param's learning rate is the schedule's times lr_scale. Adam moves every value by about lr per
  // step whatever its gradient, so a scalar that must travel several units (a memory gate logit) needs a
  // larger rate than the matrices beside it.
  float lr_scale = 1.0f;
  int64_t numel() const { return static_cast<int64_t>(value.size()); }
};

// Owns the parameters in declaration order (the order of checkpoints and of the global-norm sum).
class ParamSet {
 public:
  Param* Add(std::string name, Shape shape, bool decay);
  const std::vector<std::unique_ptr<Param>>& all() const { return params_; }
  Param* Find(const std::string& name) const;
  void ZeroGrad();
  int64_t NumElements() const;

 private:
  std::vector<std::unique_ptr<Param>> params_;
};

// A tensor as the model uses it: trainable (param) or frozen (stored tensor, any dtype).
struct Weight {
  Param* param = nullptr;
  Tensor frozen;
  bool trainable() const { return param != nullptr; }
  // f32 data: the master copy, or the frozen tensor when it is stored as f32 (norm gains always are).
  const float* f32() const;
  float* grad() const { return param ? param->grad.data() : nullptr; }
};

// LoRA adapter on a frozen projection: y += scale · (x·Aᵀ)·Bᵀ, scale = alpha / rank; B starts at zero so
// training starts from the base model exactly.
struct Lora {
  Param* a = nullptr;  // [r, K]
  Param* b = nullptr;  // [N, r]
  int64_t rank = 0;
  float scale = 0.0f;
};

// A projection y = x·Wᵀ (+ LoRA). W: [N, K].
struct Projection {
  Weight w;
  Lora lora;
  int64_t N = 0, K = 0;
  bool HasTrainable() const { return w.trainable() || lora.a != nullptr; }
  // y: [T, N] overwritten; x: [T, K].
  void Forward(float* y, const float* x, int64_t T) const;
  // dx: [T, K] (null: not needed) overwritten or accumulated; dy: [T, N]; x: [T, K] the forward input.
  // Gradients of trainable tensors accumulate.
  void Backward(float* dx, const float* dy, const float* x, int64_t T, bool accumulate_dx) const;
};

}  // namespace lm::train
