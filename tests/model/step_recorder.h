// StepRecorder: a dense f32 memory for tests that records the size of every step of layer 0 (into a vector
// the test keeps), and says its scope depends on the step when asked to.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "memory/dense_kv.h"

namespace lm::test {

class StepRecorder final : public Memory {
 public:
  StepRecorder(const MemoryGeometry& g, std::shared_ptr<std::vector<int64_t>> steps, bool by_step = false)
      : dense_(g, 256, KvCacheType::kF32), steps_(std::move(steps)), by_step_(by_step) {}
  std::string_view name() const override { return "steps"; }
  RopeRegime rope_regime() const override { return dense_.rope_regime(); }
  Status Attend(const AttendRequest& r) override {
    if (r.layer == 0) steps_->push_back(r.n_tokens);
    return dense_.Attend(r);
  }
  Status CanAppend(int64_t n) const override { return dense_.CanAppend(n); }
  int64_t n_tokens() const override { return dense_.n_tokens(); }
  uint64_t kv_bytes() const override { return dense_.kv_bytes(); }
  void Clear() override { dense_.Clear(); }
  std::unique_ptr<Memory> Clone() const override { return std::make_unique<StepRecorder>(*this); }
  bool scope_depends_on_step() const override { return by_step_; }

 private:
  DenseKv dense_;
  std::shared_ptr<std::vector<int64_t>> steps_;
  bool by_step_;
};

}  // namespace lm::test
