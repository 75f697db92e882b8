// Tensor: a typed, shaped view of bytes that keeps its owner (heap buffer or mmap) alive.
// Shapes are outermost-first like PyTorch: a [V, C] embedding holds V rows of C elements.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/check.h"
#include "core/dtype.h"

namespace lm {

using Shape = std::vector<int64_t>;

class Tensor {
 public:
  Tensor() = default;

  // Zero-filled, 64-byte aligned heap buffer. Checks the shape is a whole number of blocks.
  static Tensor Zeros(DType dtype, Shape shape);
  // Borrow bytes owned by `owner` (an mmap, another tensor's buffer); nothing is copied.
  static Tensor View(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> owner);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i < 0 ? rank() + i : i)); }
  int64_t numel() const;
  uint64_t nbytes() const;
  bool empty() const { return data_ == nullptr; }

  // Typed access; checks the element type width matches the dtype for plain types.
  template <class T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  const void* raw() const { return data_; }
  void* raw() { return data_; }

  // Same bytes, new shape with equal element count.
  Tensor Reshaped(Shape shape) const;

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<const void> owner_;
};

}  // namespace lm
