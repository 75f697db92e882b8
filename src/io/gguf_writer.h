// GGUF writer (version 3): builds files for tests (crafted and tiny random models) and for exports.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/gguf_reader.h"

namespace lm::gguf {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3, uint64_t alignment = 32) : version_(version), alignment_(alignment) {}

  void SetString(const std::string& key, const std::string& v);
  void SetU32(const std::string& key, uint32_t v);
  void SetI32(const std::string& key, int32_t v);
  void SetU64(const std::string& key, uint64_t v);
  void SetF32(const std::string& key, float v);
  void SetBool(const std::string& key, bool v);
  void SetStringArray(const std::string& key, const std::vector<std::string>& v);
  void SetF32Array(const std::string& key, const std::vector<float>& v);
  void SetI32Array(const std::string& key, const std::vector<int32_t>& v);
  void SetValue(const std::string& key, const Value& v);  // any value, nested arrays included

  // Tensor bytes are copied; `shape` outermost first, `data` must hold BytesFor(dtype, numel) bytes.
  void AddTensor(const std::string& name, DType dtype, const Shape& shape, const void* data);
  // A tensor whose bytes are produced only when the file is written: `fill` receives a buffer of
  // BytesFor(dtype, numel) bytes. WriteFile holds one such tensor in memory at a time, so a converted
  // model never needs its whole output in RAM.
  using FillFn = std::function<Status(uint8_t* dst, uint64_t nbytes)>;
  void AddTensorLazy(const std::string& name, DType dtype, const Shape& shape, FillFn fill);

  std::vector<uint8_t> Serialize() const;  // in memory, for tests; a failing fill is a programming error
  // Streams the file atomically (io/atomic_file.h): a failed fill or write leaves no partial file behind.
  Status WriteFile(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t nbytes = 0;
    std::vector<uint8_t> bytes;  // AddTensor
    FillFn fill;                 // AddTensorLazy
  };
  std::vector<uint8_t> HeaderBytes() const;  // everything before the first tensor's data, padded
  static Status TensorBytes(const PendingTensor& t, std::vector<uint8_t>& out);
  uint32_t version_;
  uint64_t alignment_;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace lm::gguf
