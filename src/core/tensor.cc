// Tensor allocation and views.
#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/str.h"

namespace lm {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return shape_.empty() ? 0 : n;
}

uint64_t Tensor::nbytes() const {
  auto b = BytesFor(dtype_, numel());
  LM_CHECK(b.has_value(), "tensor of ", numel(), " elements is not whole blocks of ", Name(dtype_));
  return *b;
}

Tensor Tensor::Zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  const uint64_t bytes = t.nbytes();
  const uint64_t padded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, padded == 0 ? 64 : padded);
  LM_CHECK(p != nullptr, "out of memory allocating ", bytes, " bytes");
  std::memset(p, 0, padded == 0 ? 64 : padded);
  t.data_ = p;
  t.owner_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  return t;
}

Tensor Tensor::View(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = const_cast<void*>(data);
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::Reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  LM_CHECK(t.numel() == numel(), "reshape ", ShapeString(shape_), " -> ", ShapeString(t.shape_));
  return t;
}

}  // namespace lm
