// GGUF reader (versions 2 and 3): metadata of every value type (nested arrays too), tensor infos and
// zero-copy tensor views into the mmap. Every count, length, offset and size is validated against the
// file before use, so a truncated or hostile file yields a Corrupt/Unsupported Status, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/mmap_file.h"

namespace lm::gguf {

// On-disk metadata value type ids (gguf_type).
enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view ValueTypeName(ValueType t);

// One metadata value. Integers are widened to i64/u64, floats to double; arrays keep their element type.
struct Value {
  ValueType type = ValueType::kU8;
  uint64_t u = 0;        // unsigned integers and bool
  int64_t i = 0;         // signed integers
  double f = 0;          // f32 / f64
  std::string s;         // string
  ValueType elem_type = ValueType::kU8;  // arrays only
  std::vector<Value> array;              // arrays only (may nest)

  bool is_integer() const;
  // Integer value of any integer type (u64 values above INT64_MAX are rejected by the typed getters).
  int64_t AsInt() const;
  double AsFloat() const;  // any numeric type
  std::string DebugString(size_t max_array_items = 8) const;  // for `longmem info`
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;           // outermost first (GGUF stores ne[] innermost first; we reverse it)
  uint64_t offset = 0;   // absolute byte offset in the file
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  static Result<std::shared_ptr<const GgufFile>> Open(const std::string& path);
  // Parse from bytes already in memory (tests, fuzzing). `owner` keeps them alive.
  static Result<std::shared_ptr<const GgufFile>> Parse(const uint8_t* data, uint64_t size,
                                                       std::shared_ptr<const void> owner,
                                                       std::string name);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::string& path() const { return path_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // Typed getters: NotFound if absent, InvalidArgument ("gguf: key 'x' is f32, expected string") if mistyped.
  Result<std::string> GetString(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;      // any integer type
  Result<double> GetFloat(std::string_view key) const;     // any numeric type
  Result<bool> GetBool(std::string_view key) const;
  Result<std::vector<std::string>> GetStringArray(std::string_view key) const;
  Result<std::vector<double>> GetFloatArray(std::string_view key) const;
  Result<std::vector<int64_t>> GetIntArray(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  // Zero-copy view of the tensor's bytes; the view keeps the mapping alive.
  Tensor View(const TensorInfo& info) const;

 private:
  GgufFile() = default;
  std::shared_ptr<const void> owner_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
  // Name -> index into metadata_ / tensors_; built once by the parser (names are unique by then).
  std::unordered_map<std::string, size_t> key_index_;
  std::unordered_map<std::string, size_t> tensor_index_;
  friend class GgufParser;
};

}  // namespace lm::gguf
