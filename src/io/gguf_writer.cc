// GGUF writer: serialises metadata (insertion order) and tensors in the layout gguf_reader.cc documents.
// Tensor data is padded to the alignment after every tensor, as gguf-py and llama.cpp do.
#include "io/gguf_writer.h"

#include <algorithm>
#include <cstring>

#include "core/str.h"
#include "io/atomic_file.h"

namespace lm::gguf {

namespace {

class Bytes {
 public:
  template <class T>
  void Put(T x) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &x, sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void PutBytes(const std::vector<uint8_t>& b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void PadTo(uint64_t alignment) {
    while (out_.size() % alignment != 0) out_.push_back(0);
  }
  std::vector<uint8_t>& out() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// Values are written by their `type`: unsigned ints and bool from `u`, signed from `i`, floats from `f`.
void PutValue(Bytes& b, const Value& v) {
  switch (v.type) {
    case ValueType::kU8: b.Put(static_cast<uint8_t>(v.u)); break;
    case ValueType::kU16: b.Put(static_cast<uint16_t>(v.u)); break;
    case ValueType::kU32: b.Put(static_cast<uint32_t>(v.u)); break;
    case ValueType::kU64: b.Put(static_cast<uint64_t>(v.u)); break;
    case ValueType::kI8: b.Put(static_cast<int8_t>(v.i)); break;
    case ValueType::kI16: b.Put(static_cast<int16_t>(v.i)); break;
    case ValueType::kI32: b.Put(static_cast<int32_t>(v.i)); break;
    case ValueType::kI64: b.Put(static_cast<int64_t>(v.i)); break;
    case ValueType::kF32: b.Put(static_cast<float>(v.f)); break;
    case ValueType::kF64: b.Put(static_cast<double>(v.f)); break;
    case ValueType::kBool: b.Put(static_cast<uint8_t>(v.u != 0)); break;
    case ValueType::kString: b.PutString(v.s); break;
    case ValueType::kArray:
      b.Put(static_cast<uint32_t>(v.elem_type));
      b.Put(static_cast<uint64_t>(v.array.size()));
      for (const Value& e : v.array) {
        LM_CHECK(e.type == v.elem_type, "array element is ", ValueTypeName(e.type), ", array holds ",
                 ValueTypeName(v.elem_type));
        PutValue(b, e);
      }
      break;
  }
}

Value Scalar(ValueType t) {
  Value v;
  v.type = t;
  return v;
}

template <class T, class Fill>
Value ArrayOf(ValueType elem, const std::vector<T>& xs, Fill fill) {
  Value v = Scalar(ValueType::kArray);
  v.elem_type = elem;
  v.array.reserve(xs.size());
  for (const T& x : xs) {
    Value e = Scalar(elem);
    fill(e, x);
    v.array.push_back(std::move(e));
  }
  return v;
}

}  // namespace

void GgufWriter::SetValue(const std::string& key, const Value& v) {
  // Setting a key twice replaces it in place: a GGUF file must not hold duplicate keys.
  auto it = std::find_if(metadata_.begin(), metadata_.end(), [&](const auto& kv) { return kv.first == key; });
  if (it != metadata_.end()) {
    it->second = v;
  } else {
    metadata_.emplace_back(key, v);
  }
}

void GgufWriter::SetString(const std::string& key, const std::string& x) {
  Value v = Scalar(ValueType::kString);
  v.s = x;
  SetValue(key, v);
}
void GgufWriter::SetU32(const std::string& key, uint32_t x) {
  Value v = Scalar(ValueType::kU32);
  v.u = x;
  SetValue(key, v);
}
void GgufWriter::SetI32(const std::string& key, int32_t x) {
  Value v = Scalar(ValueType::kI32);
  v.i = x;
  SetValue(key, v);
}
void GgufWriter::SetU64(const std::string& key, uint64_t x) {
  Value v = Scalar(ValueType::kU64);
  v.u = x;
  SetValue(key, v);
}
void GgufWriter::SetF32(const std::string& key, float x) {
  Value v = Scalar(ValueType::kF32);
  v.f = x;
  SetValue(key, v);
}
void GgufWriter::SetBool(const std::string& key, bool x) {
  Value v = Scalar(ValueType::kBool);
  v.u = x ? 1 : 0;
  SetValue(key, v);
}
void GgufWriter::SetStringArray(const std::string& key, const std::vector<std::string>& xs) {
  SetValue(key, ArrayOf(ValueType::kString, xs, [](Value& e, const std::string& x) { e.s = x; }));
}
void GgufWriter::SetF32Array(const std::string& key, const std::vector<float>& xs) {
  SetValue(key, ArrayOf(ValueType::kF32, xs, [](Value& e, float x) { e.f = x; }));
}
void GgufWriter::SetI32Array(const std::string& key, const std::vector<int32_t>& xs) {
  SetValue(key, ArrayOf(ValueType::kI32, xs, [](Value& e, int32_t x) { e.i = x; }));
}

namespace {
uint64_t CheckedBytes(const std::string& name, DType dtype, const Shape& shape) {
  LM_CHECK(!shape.empty() && shape.size() <= 4, "gguf tensors have 1..4 dims, '", name, "' has ", shape.size());
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  const std::optional<uint64_t> nbytes = BytesFor(dtype, numel);
  LM_CHECK(nbytes.has_value(), "tensor '", name, "' of ", numel, " elements is not whole blocks of ", Name(dtype));
  return *nbytes;
}
}  // namespace

void GgufWriter::AddTensor(const std::string& name, DType dtype, const Shape& shape, const void* data) {
  PendingTensor t{.name = name, .dtype = dtype, .shape = shape, .nbytes = CheckedBytes(name, dtype, shape)};
  if (t.nbytes > 0) {  // empty tensors may pass data == nullptr
    const auto* p = static_cast<const uint8_t*>(data);
    t.bytes.assign(p, p + t.nbytes);
  }
  tensors_.push_back(std::move(t));
}

void GgufWriter::AddTensorLazy(const std::string& name, DType dtype, const Shape& shape, FillFn fill) {
  LM_CHECK(fill != nullptr, "tensor '", name, "': no fill function");
  tensors_.push_back(PendingTensor{.name = name, .dtype = dtype, .shape = shape,
                                   .nbytes = CheckedBytes(name, dtype, shape), .fill = std::move(fill)});
}

std::vector<uint8_t> GgufWriter::HeaderBytes() const {
  LM_CHECK(version_ == 2 || version_ == 3, "GgufWriter writes versions 2 and 3, not ", version_);
  LM_CHECK(alignment_ > 0 && (alignment_ & (alignment_ - 1)) == 0, "alignment ", alignment_, " is not a power of two");
  // A non-default alignment must be recorded or readers would look for data at 32-byte boundaries.
  // If the caller set general.alignment themselves (tests writing bad values), it is left alone.
  std::vector<std::pair<std::string, Value>> metadata = metadata_;
  const bool has_alignment =
      std::any_of(metadata.begin(), metadata.end(), [](const auto& kv) { return kv.first == "general.alignment"; });
  if (!has_alignment && alignment_ != 32) {
    Value v = Scalar(ValueType::kU32);
    v.u = alignment_;
    metadata.emplace_back("general.alignment", v);
  }

  Bytes b;
  for (char c : std::string("GGUF")) b.Put(static_cast<uint8_t>(c));
  b.Put(version_);
  b.Put(static_cast<uint64_t>(tensors_.size()));
  b.Put(static_cast<uint64_t>(metadata.size()));
  for (const auto& [key, v] : metadata) {
    b.PutString(key);
    b.Put(static_cast<uint32_t>(v.type));
    PutValue(b, v);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    b.PutString(t.name);
    b.Put(static_cast<uint32_t>(t.shape.size()));
    for (size_t d = t.shape.size(); d-- > 0;) b.Put(static_cast<uint64_t>(t.shape[d]));  // innermost first
    b.Put(DTypeToGgmlType(t.dtype));
    b.Put(offset);
    offset += (t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  b.PadTo(alignment_);
  return std::move(b.out());
}

Status GgufWriter::TensorBytes(const PendingTensor& t, std::vector<uint8_t>& out) {
  if (!t.fill) {
    out = t.bytes;
    return OkStatus();
  }
  out.assign(t.nbytes, 0);
  Status s = t.fill(out.data(), t.nbytes);
  if (!s.ok()) return Status(s.code(), StrCat("tensor '", t.name, "': ", s.message()));
  return OkStatus();
}

std::vector<uint8_t> GgufWriter::Serialize() const {
  std::vector<uint8_t> out = HeaderBytes(), bytes;
  for (const PendingTensor& t : tensors_) {
    const Status s = TensorBytes(t, bytes);
    LM_CHECK(s.ok(), s.ToString());
    out.insert(out.end(), bytes.begin(), bytes.end());
    out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
  }
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  auto w = io::AtomicFileWriter::Create(path);
  if (!w.ok()) return w.status();
  const std::vector<uint8_t> header = HeaderBytes();
  auto view = [](const std::vector<uint8_t>& v) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), v.size());
  };
  LM_RETURN_IF_ERROR(w->Write(view(header)));
  std::vector<uint8_t> bytes;
  for (const PendingTensor& t : tensors_) {
    LM_RETURN_IF_ERROR(TensorBytes(t, bytes));
    LM_RETURN_IF_ERROR(w->Write(view(bytes)));
    LM_RETURN_IF_ERROR(w->WriteZeros((alignment_ - t.nbytes % alignment_) % alignment_));
  }
  return w->Commit();
}

}  // namespace lm::gguf
