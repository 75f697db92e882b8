// safetensors writer: builds the JSON header with nlohmann, pads it to 8 bytes (as the reference writer
// does, so data stays aligned) and streams header + tensors through one atomic write.
#include "io/safetensors_writer.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/str.h"
#include "io/atomic_file.h"

namespace lm {

namespace {
const char* SafetensorsDTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kF64: return "F64";
    case DType::kI8: return "I8";
    case DType::kI16: return "I16";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
    default: return nullptr;
  }
}
}  // namespace

void SafetensorsWriter::Add(const std::string& name, DType dtype, const Shape& shape, const void* data) {
  LM_CHECK(SafetensorsDTypeName(dtype) != nullptr, "safetensors cannot store ", Name(dtype));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  entries_.push_back({name, dtype, shape, data, *BytesFor(dtype, n)});
}

Result<std::string> SafetensorsWriter::SerializeHeader() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const Entry& e : entries_) {
    if (!seen.insert(e.name).second || e.name == "__metadata__")
      return InvalidArgument(StrCat("safetensors: duplicate or reserved tensor name '", e.name, "'"));
    header[e.name] = {{"dtype", SafetensorsDTypeName(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.nbytes}}};
    offset += e.nbytes;
  }
  std::string json = header.dump();
  while (json.size() % 8 != 0) json.push_back(' ');
  std::string out(8, '\0');
  const uint64_t len = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + json;
}

Status SafetensorsWriter::WriteFile(const std::string& path) const {
  auto header = SerializeHeader();
  if (!header.ok()) return header.status();
  // The tensors are written straight from their owners' memory: no second copy of a multi-GB checkpoint.
  std::vector<std::string_view> parts{std::string_view(*header)};
  for (const Entry& e : entries_) parts.emplace_back(static_cast<const char*>(e.data), e.nbytes);
  return io::WriteFileAtomic(path, parts);
}

}  // namespace lm
