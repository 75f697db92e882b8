// GGUF-to-GGUF type conversion: plan each tensor's type, then stream dequantise -> quantise row by row.
#include "model/requantize.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/quant.h"
#include "core/str.h"
#include "core/thread_pool.h"
#include "io/gguf_writer.h"

namespace lm {

namespace {

bool IsFloatType(DType t) {
  switch (t) {
    case DType::kI8: case DType::kI16: case DType::kI32: case DType::kI64: return false;
    default: return true;
  }
}

// src converted row by row (rows = innermost dimension) to `to`, split over the thread pool.
void ConvertRows(const Tensor& src, DType to, int64_t row_elems, uint8_t* dst) {
  const int64_t n_rows = src.numel() / row_elems;
  const uint64_t in_row = *BytesFor(src.dtype(), row_elems), out_row = *BytesFor(to, row_elems);
  const auto* in = static_cast<const uint8_t*>(src.raw());
  GlobalPool().ParallelFor(n_rows, [&](int64_t b, int64_t e, int) {
    std::vector<float> row(static_cast<size_t>(row_elems));
    for (int64_t r = b; r < e; ++r) {
      DequantizeRow(src.dtype(), in + static_cast<uint64_t>(r) * in_row, row.data(), row_elems);
      QuantizeRow(to, row.data(), dst + static_cast<uint64_t>(r) * out_row, row_elems);
    }
  });
}

}  // namespace

DType PlanTensorType(const gguf::TensorInfo& t, DType target, bool* fallback) {
  if (fallback) *fallback = false;
  if (!IsFloatType(t.dtype)) return t.dtype;
  if (t.shape.size() < 2) return DType::kF32;
  if (t.shape.back() % Info(target).block_elems == 0) return target;
  if (fallback) *fallback = true;
  return DType::kF16;
}

uint32_t LlamaFileType(DType target) {
  switch (target) {
    case DType::kF32: return 0;
    case DType::kF16: return 1;
    case DType::kQ4_0: return 2;
    case DType::kQ4_1: return 3;
    case DType::kQ8_0: return 7;
    case DType::kBF16: return 32;
    default: LM_CHECK(false, "no llama.cpp file type for ", Name(target));
  }
  return 0;
}

Result<RequantizeReport> RequantizeGguf(const gguf::GgufFile& in, const std::string& out_path, DType target) {
  if (!CanQuantizeTo(target)) {
    return Unsupported(StrCat("quantize: cannot write ", Name(target),
                              " tensors; hint: choose one of f32, f16, bf16, q8_0, q4_0, q4_1"));
  }
  if (std::filesystem::exists(out_path) && std::filesystem::exists(in.path()) &&
      std::filesystem::equivalent(out_path, in.path())) {
    return InvalidArgument(StrCat("quantize: output '", out_path, "' is the input file; hint: write a new file"));
  }
  gguf::GgufWriter w(3, in.alignment());
  for (const auto& [key, value] : in.metadata()) {
    if (key != "general.alignment") w.SetValue(key, value);
  }
  // Provenance: a q8_0 file made from a q4_1 one is q4_1-accurate, and readers of the file should know.
  std::string from = "unknown";
  if (auto ft = in.GetInt("general.file_type"); ft.ok()) from = StrCat("file_type ", *ft);
  w.SetString("longmem.converted_from", StrCat(std::filesystem::path(in.path()).filename().string(), " (", from, ")"));
  w.SetU32("general.file_type", LlamaFileType(target));

  RequantizeReport report;
  for (const gguf::TensorInfo& info : in.tensors()) {
    bool fallback = false;
    const DType to = PlanTensorType(info, target, &fallback);
    const int64_t row = info.shape.back();
    if (to != info.dtype && !CanQuantizeTo(to)) {
      return Internal(StrCat("quantize: tensor '", info.name, "' planned as ", Name(to), ", which cannot be written"));
    }
    const Tensor src = in.View(info);
    report.tensors.push_back({info.name, info.dtype, to, fallback});
    report.bytes_in += info.nbytes;
    report.bytes_out += *BytesFor(to, src.numel());
    if (to == info.dtype) {
      w.AddTensorLazy(info.name, to, info.shape, [src](uint8_t* dst, uint64_t n) {
        std::memcpy(dst, src.raw(), n);
        return OkStatus();
      });
    } else {
      w.AddTensorLazy(info.name, to, info.shape,
                      [src, to, row](uint8_t* dst, uint64_t) {
        ConvertRows(src, to, row, dst);
        return OkStatus();
      });
    }
  }
  LM_RETURN_IF_ERROR(w.WriteFile(out_path));
  return report;
}

}  // namespace lm
