// safetensors writer: the byte layout documented in safetensors_reader.cc (u64 header length, JSON header
// with dtype/shape/data_offsets and an optional "__metadata__" string map, then the packed data).
// Files are written atomically (io/atomic_file.h), so a killed writer never leaves a half file in place.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "core/tensor.h"

namespace lm {

class SafetensorsWriter {
 public:
  // Bytes are referenced, not copied: `data` must stay alive until Write/Serialize returns.
  // Supported dtypes: f32, f16, bf16, f64, i8, i16, i32, i64.
  void Add(const std::string& name, DType dtype, const Shape& shape, const void* data);
  void SetMetadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // Header bytes (length prefix + JSON padded to 8 bytes); the tensor data follows in Add order.
  Result<std::string> SerializeHeader() const;
  Status WriteFile(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    const void* data;
    uint64_t nbytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace lm
