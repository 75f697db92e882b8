// GGUF metadata values and GgufFile's lookups: type names, conversions, typed getters, debug printing.
#include <limits>
#include <sstream>

#include "core/str.h"
#include "io/gguf_reader.h"

namespace lm::gguf {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "unknown";
}

namespace {

bool IsSigned(ValueType t) {
  return t == ValueType::kI8 || t == ValueType::kI16 || t == ValueType::kI32 || t == ValueType::kI64;
}
bool IsUnsigned(ValueType t) {
  return t == ValueType::kU8 || t == ValueType::kU16 || t == ValueType::kU32 || t == ValueType::kU64;
}
bool IsFloat(ValueType t) { return t == ValueType::kF32 || t == ValueType::kF64; }

// "array<string>" for arrays, the plain name otherwise: used in mistyped-key messages.
std::string TypeString(const Value& v) {
  if (v.type != ValueType::kArray) return std::string(ValueTypeName(v.type));
  return StrCat("array<", ValueTypeName(v.elem_type), ">");
}

}  // namespace

bool Value::is_integer() const { return IsSigned(type) || IsUnsigned(type); }

int64_t Value::AsInt() const {
  if (IsSigned(type)) return i;
  if (IsUnsigned(type) || type == ValueType::kBool) return static_cast<int64_t>(u);
  if (IsFloat(type)) return static_cast<int64_t>(f);
  return 0;
}

double Value::AsFloat() const {
  if (IsFloat(type)) return f;
  if (IsSigned(type)) return static_cast<double>(i);
  if (IsUnsigned(type) || type == ValueType::kBool) return static_cast<double>(u);
  return 0;
}

std::string Value::DebugString(size_t max_array_items) const {
  std::ostringstream os;
  switch (type) {
    case ValueType::kBool: os << (u ? "true" : "false"); break;
    case ValueType::kString: {
      // Long strings (chat templates) are cut so `longmem info` stays readable.
      constexpr size_t kMaxChars = 80;
      os << '"' << (s.size() > kMaxChars ? s.substr(0, kMaxChars) + "..." : s) << '"';
      break;
    }
    case ValueType::kArray: {
      os << '[';
      for (size_t k = 0; k < array.size() && k < max_array_items; ++k)
        os << (k ? ", " : "") << array[k].DebugString(max_array_items);
      if (array.size() > max_array_items) os << ", ... (" << array.size() << " items)";
      os << ']';
      break;
    }
    case ValueType::kF32:
    case ValueType::kF64: os << f; break;
    default: os << (IsSigned(type) ? std::to_string(i) : std::to_string(u)); break;
  }
  return os.str();
}

const Value* GgufFile::Find(std::string_view key) const {
  auto it = key_index_.find(std::string(key));
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::View(const TensorInfo& info) const {
  // The parser checked offset + nbytes <= size for every TensorInfo it produced.
  LM_CHECK(info.offset <= size_ && info.nbytes <= size_ - info.offset, "tensor '", info.name,
           "' is not from this file");
  return Tensor::View(info.dtype, info.shape, base_ + info.offset, owner_);
}

namespace {

Status Missing(const GgufFile& f, std::string_view key) {
  return NotFound(StrCat("gguf: ", f.path(), ": key '", key, "' not found"));
}

Status Mistyped(const GgufFile& f, std::string_view key, const Value& v, std::string_view want) {
  return InvalidArgument(StrCat("gguf: ", f.path(), ": key '", key, "' is ", TypeString(v), ", expected ", want));
}

// Integer value that fits in int64 (u64 above INT64_MAX is refused rather than wrapped).
Result<int64_t> IntOf(const GgufFile& f, std::string_view key, const Value& v) {
  if (!v.is_integer()) return Mistyped(f, key, v, "an integer");
  if (IsUnsigned(v.type) && v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return OutOfRange(StrCat("gguf: ", f.path(), ": key '", key, "' = ", v.u, " does not fit in int64"));
  return v.AsInt();
}

}  // namespace

Result<std::string> GgufFile::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  if (v->type != ValueType::kString) return Mistyped(*this, key, *v, "string");
  return v->s;
}

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  return IntOf(*this, key, *v);
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  if (!v->is_integer() && !IsFloat(v->type)) return Mistyped(*this, key, *v, "a number");
  return v->AsFloat();
}

Result<bool> GgufFile::GetBool(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  if (v->type != ValueType::kBool) return Mistyped(*this, key, *v, "bool");
  return v->u != 0;
}

Result<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  if (v->type != ValueType::kArray || v->elem_type != ValueType::kString)
    return Mistyped(*this, key, *v, "array<string>");
  std::vector<std::string> out;
  out.reserve(v->array.size());
  for (const Value& e : v->array) out.push_back(e.s);
  return out;
}

Result<std::vector<double>> GgufFile::GetFloatArray(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  const bool numeric = IsFloat(v->elem_type) || IsSigned(v->elem_type) || IsUnsigned(v->elem_type);
  if (v->type != ValueType::kArray || !numeric) return Mistyped(*this, key, *v, "a numeric array");
  std::vector<double> out;
  out.reserve(v->array.size());
  for (const Value& e : v->array) out.push_back(e.AsFloat());
  return out;
}

Result<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  const Value* v = Find(key);
  if (!v) return Missing(*this, key);
  if (v->type != ValueType::kArray || !(IsSigned(v->elem_type) || IsUnsigned(v->elem_type)))
    return Mistyped(*this, key, *v, "an integer array");
  std::vector<int64_t> out;
  out.reserve(v->array.size());
  for (const Value& e : v->array) {
    Result<int64_t> x = IntOf(*this, key, e);
    if (!x.ok()) return x.status();
    out.push_back(*x);
  }
  return out;
}

}  // namespace lm::gguf
