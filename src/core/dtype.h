// Element types: plain floats and the GGML block-quantised formats, with their block geometry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lm {

// Our own enum; io/gguf maps GGML type ids to it (GgmlTypeToDType).
enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ4_K,
  kQ5_K,
  kQ6_K,
  kI8,
  kI16,
  kI32,
  kI64,
  kF64,
};

struct DTypeInfo {
  std::string_view name;     // "q4_1"
  int64_t block_elems;       // elements per block (1 for plain types)
  int64_t block_bytes;       // bytes per block
  bool quantized;
};

const DTypeInfo& Info(DType t);
inline std::string_view Name(DType t) { return Info(t).name; }

// The DType named `name` ("q8_0", "F16": case-insensitive), or nullopt.
std::optional<DType> DTypeFromName(std::string_view name);

// Bytes taken by n elements; nullopt when n is not a whole number of blocks or the size overflows.
std::optional<uint64_t> BytesFor(DType t, int64_t n);

// GGML's on-disk type ids (ggml.h enum ggml_type) to ours; nullopt for types we do not read.
std::optional<DType> GgmlTypeToDType(uint32_t ggml_type);
uint32_t DTypeToGgmlType(DType t);

}  // namespace lm
