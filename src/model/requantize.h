// Converts a GGUF model's weight matrices to another storage type (`longmem quantize`): the f32, f16,
// bf16, q8_0, q4_0 and q4_1 versions of a model that speed and accuracy comparisons need, made from the
// file at hand. Metadata (tokenizer included) is copied; the output is streamed and written atomically.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "io/gguf_reader.h"

namespace lm {

struct RequantizedTensor {
  std::string name;
  DType from, to;
  bool fallback = false;  // a matrix whose rows are not whole blocks of the target: stored as f16 instead
};

struct RequantizeReport {
  std::vector<RequantizedTensor> tensors;
  uint64_t bytes_in = 0, bytes_out = 0;  // tensor data only
};

// The type a tensor gets when a file is converted to `target`, as llama.cpp's quantize chooses it:
// matrices (2+ dims) take the target, or f16 when their rows are not whole target blocks; vectors (norms,
// biases) are stored as f32; integer tensors are copied unchanged.
DType PlanTensorType(const gguf::TensorInfo& t, DType target, bool* fallback = nullptr);

// llama.cpp's general.file_type value ("mostly q8_0" = 7, ...) for a target type.
uint32_t LlamaFileType(DType target);

// Writes `in` converted to `target` (a type CanQuantizeTo names) to `out_path`. Tensors already of their
// planned type are copied byte for byte; others are dequantised to f32 and quantised again (so a q8_0 made
// from a q4_1 file carries q4_1's rounding, recorded in the "longmem.converted_from" key).
Result<RequantizeReport> RequantizeGguf(const gguf::GgufFile& in, const std::string& out_path, DType target);

}  // namespace lm
