// GGUF v2/v3 parser. Byte layout (all little-endian):
//   magic "GGUF" | version u32 | n_tensors u64 | n_kv u64
//   n_kv x  { key: string | value_type u32 | value }
//           string = len u64 | bytes (no NUL);  array = elem_type u32 | count u64 | count values
//   n_tensors x { name: string | n_dims u32 | ne u64[n_dims] (innermost first) | ggml_type u32 | offset u64 }
//   padding to `general.alignment` (default 32) | data section; tensor offsets are relative to it.
// v1 used u32 counts and lengths and is refused. Every count is checked against the bytes left before
// anything is allocated, so hostile headers cost no memory.
#include "io/gguf_reader.h"

#include <algorithm>
#include <limits>

#include "core/str.h"
#include "io/byte_reader.h"

namespace lm::gguf {

namespace {

constexpr int kMaxArrayDepth = 8;  // real files nest at most 1 level; deep nesting is hostile
constexpr uint32_t kMaxDims = 4;   // GGML_MAX_DIMS
constexpr uint64_t kDefaultAlignment = 32;
// Each parsed value costs ~100 bytes of memory however small on disk (a u8 is 1 byte), so the total
// count is capped: real vocabularies hold < 1M entries, and 16M values is ~1.6 GB already.
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;

// Names of GGML type ids (ggml.h), including ones we do not read, so errors can say "q3_K" not just "11".
std::string_view GgmlTypeName(uint32_t id) {
  // clang-format off
  static constexpr std::string_view kNames[] = {
      "f32", "f16", "q4_0", "q4_1", "q4_2 (removed)", "q4_3 (removed)", "q5_0", "q5_1", "q8_0", "q8_1",
      "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl",
      "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m", "bf16", "q4_0_4_4", "q4_0_4_8",
      "q4_0_8_8", "tq1_0", "tq2_0", "iq4_nl_4_4", "iq4_nl_4_8", "iq4_nl_8_8", "mxfp4"};
  // clang-format on
  return id < std::size(kNames) ? kNames[id] : "unknown";
}

bool KnownValueType(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::kF64); }

// Fewest bytes one value of type t can occupy: lets us bound array counts by the bytes left.
uint64_t MinValueBytes(ValueType t) {
  switch (t) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kBool: return 1;
    case ValueType::kU16:
    case ValueType::kI16: return 2;
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kF32: return 4;
    case ValueType::kU64:
    case ValueType::kI64:
    case ValueType::kF64: return 8;
    case ValueType::kString: return 8;  // length only
    case ValueType::kArray: return 12;  // elem_type + count
  }
  return 1;
}

}  // namespace

class GgufParser {
 public:
  GgufParser(const uint8_t* data, uint64_t size, std::string name) : r_(data, size), file_(new GgufFile()) {
    file_->base_ = data;
    file_->size_ = size;
    file_->path_ = std::move(name);
  }

  Result<std::shared_ptr<const GgufFile>> Run(std::shared_ptr<const void> owner) {
    file_->owner_ = std::move(owner);
    Status s = ParseAll();
    if (!s.ok()) return s;
    return std::shared_ptr<const GgufFile>(std::move(file_));
  }

 private:
  Status Fail(StatusCode code, const std::string& what) const {
    return Status(code, StrCat("gguf: ", file_->path_, ": ", what));
  }
  // `what` names the item; `key`, when given, the metadata key it belongs to. Messages are built only on
  // failure because values are read by the hundred thousand (vocabularies).
  static std::string Label(std::string_view what, std::string_view key) {
    return key.empty() ? std::string(what) : StrCat(what, " of key '", key, "'");
  }
  Status Truncated(std::string_view what, std::string_view key, uint64_t need) const {
    return Fail(StatusCode::kCorrupt,
                StrCat(Label(what, key), " at offset ", r_.pos(), " needs ", need, " bytes but only ", r_.remaining(),
                       " remain (file is ", r_.size(), " bytes); hint: the file is truncated?"));
  }
  template <class T>
  Status Read(T* out, std::string_view what, std::string_view key = {}) {
    if (!r_.Read(out)) return Truncated(what, key, sizeof(T));
    return OkStatus();
  }
  // Reads a T and widens it into *dst (the Value's u / i / f field).
  template <class T, class D>
  Status ReadAs(D* dst, std::string_view key) {
    T x{};
    LM_RETURN_IF_ERROR(Read(&x, "value", key));
    *dst = static_cast<D>(x);
    return OkStatus();
  }
  // "n items of at least `each` bytes" must fit in what is left: checked before any reserve().
  Status CheckCount(uint64_t n, uint64_t each, std::string_view what) const {
    if (n > r_.remaining() / each)
      return Fail(StatusCode::kCorrupt,
                  StrCat(what, " count ", n, " at offset ", r_.pos(), " needs at least ", each, " bytes each but only ",
                         r_.remaining(), " bytes remain; hint: the file is truncated or corrupt?"));
    return OkStatus();
  }
  Status ReadString(std::string* out, std::string_view what, std::string_view key = {}) {
    uint64_t len = 0;
    if (!r_.Read(&len)) return Truncated(StrCat(what, " length"), key, 8);
    if (!r_.Has(len))
      return Fail(StatusCode::kCorrupt,
                  StrCat(Label(what, key), " length ", len, " at offset ", r_.pos() - 8, " exceeds the ",
                         r_.remaining(), " bytes left; hint: the file is truncated or corrupt?"));
    r_.ReadString(len, out);
    return OkStatus();
  }

  Status ParseAll();
  Status ParseHeader(uint64_t* n_tensors, uint64_t* n_kv);
  Status ParseMetadata(uint64_t n_kv);
  Status ReadValue(ValueType t, int depth, const std::string& key, Value* v);
  Status ParseAlignment();
  Status ParseTensorInfo(TensorInfo* info, uint64_t* rel_offset);
  Status PlaceTensors(const std::vector<uint64_t>& rel_offsets);

  io_internal::ByteReader r_;
  std::shared_ptr<GgufFile> file_;
  uint64_t n_values_ = 0;  // array elements parsed so far (all keys, all depths)
};

Status GgufParser::ParseAll() {
  uint64_t n_tensors = 0, n_kv = 0;
  LM_RETURN_IF_ERROR(ParseHeader(&n_tensors, &n_kv));
  LM_RETURN_IF_ERROR(ParseMetadata(n_kv));
  LM_RETURN_IF_ERROR(ParseAlignment());

  // Tensor infos: name len (8) + n_dims (4) + type (4) + offset (8) is the least one can take.
  LM_RETURN_IF_ERROR(CheckCount(n_tensors, 24, "tensor"));
  file_->tensors_.reserve(n_tensors);
  std::vector<uint64_t> rel_offsets;
  rel_offsets.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo info;
    uint64_t rel = 0;
    LM_RETURN_IF_ERROR(ParseTensorInfo(&info, &rel));
    const size_t index = file_->tensors_.size();
    if (!file_->tensor_index_.emplace(info.name, index).second)
      return Fail(StatusCode::kCorrupt, StrCat("duplicate tensor name '", info.name, "' (tensor ", index,
                                               "); hint: the file was written by a broken exporter?"));
    file_->tensors_.push_back(std::move(info));
    rel_offsets.push_back(rel);
  }
  return PlaceTensors(rel_offsets);
}

Status GgufParser::ParseHeader(uint64_t* n_tensors, uint64_t* n_kv) {
  uint8_t magic[4];
  for (auto& b : magic) LM_RETURN_IF_ERROR(Read(&b, "magic"));
  if (magic[0] != 'G' || magic[1] != 'G' || magic[2] != 'U' || magic[3] != 'F')
    return Fail(StatusCode::kCorrupt, StrCat("bad magic ", ShapeString(std::vector<int>(magic, magic + 4)),
                                             " (expected 'GGUF' = [71, 71, 85, 70]); hint: not a GGUF file?"));
  uint32_t version = 0;
  LM_RETURN_IF_ERROR(Read(&version, "version"));
  if (version == 1)
    return Fail(StatusCode::kUnsupported,
                "GGUF version 1 is not supported (only 2 and 3); hint: re-convert the model with a current "
                "llama.cpp convert script");
  if (version == 0x02000000u || version == 0x03000000u)
    return Fail(StatusCode::kUnsupported,
                StrCat("version field reads ", version, "; hint: big-endian GGUF files are not supported"));
  if (version != 2 && version != 3)
    return Fail(StatusCode::kUnsupported,
                StrCat("GGUF version ", version, " is not supported (only 2 and 3); hint: newer file format?"));
  file_->version_ = version;
  LM_RETURN_IF_ERROR(Read(n_tensors, "tensor count"));
  LM_RETURN_IF_ERROR(Read(n_kv, "metadata count"));
  return OkStatus();
}

Status GgufParser::ParseMetadata(uint64_t n_kv) {
  // Key len (8) + type (4) + the smallest value (1 byte).
  LM_RETURN_IF_ERROR(CheckCount(n_kv, 13, "metadata entry"));
  file_->metadata_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    LM_RETURN_IF_ERROR(ReadString(&key, StrCat("metadata key #", k)));
    uint32_t type = 0;
    LM_RETURN_IF_ERROR(Read(&type, StrCat("type of key '", key, "'")));
    if (!KnownValueType(type))
      return Fail(StatusCode::kCorrupt, StrCat("key '", key, "' has unknown value type ", type, " at offset ",
                                               r_.pos() - 4, "; hint: corrupt file or a newer GGUF revision?"));
    Value v;
    LM_RETURN_IF_ERROR(ReadValue(static_cast<ValueType>(type), 0, key, &v));
    const size_t index = file_->metadata_.size();
    if (!file_->key_index_.emplace(key, index).second)
      return Fail(StatusCode::kCorrupt, StrCat("duplicate metadata key '", key, "' (entries ", file_->key_index_[key],
                                               " and ", index, "); hint: the file was written by a broken exporter?"));
    file_->metadata_.emplace_back(std::move(key), std::move(v));
  }
  return OkStatus();
}

Status GgufParser::ReadValue(ValueType t, int depth, const std::string& key, Value* v) {
  v->type = t;
  switch (t) {
    case ValueType::kU8: return ReadAs<uint8_t>(&v->u, key);
    case ValueType::kU16: return ReadAs<uint16_t>(&v->u, key);
    case ValueType::kU32: return ReadAs<uint32_t>(&v->u, key);
    case ValueType::kU64: return ReadAs<uint64_t>(&v->u, key);
    case ValueType::kI8: return ReadAs<int8_t>(&v->i, key);
    case ValueType::kI16: return ReadAs<int16_t>(&v->i, key);
    case ValueType::kI32: return ReadAs<int32_t>(&v->i, key);
    case ValueType::kI64: return ReadAs<int64_t>(&v->i, key);
    case ValueType::kF32: return ReadAs<float>(&v->f, key);
    case ValueType::kF64: return ReadAs<double>(&v->f, key);
    case ValueType::kBool: {
      uint8_t x = 0;
      LM_RETURN_IF_ERROR(Read(&x, "value", key));
      if (x > 1)
        return Fail(StatusCode::kCorrupt,
                    StrCat("bool value of key '", key, "' is ", int{x}, " (must be 0 or 1); hint: corrupt file?"));
      v->u = x;
      break;
    }
    case ValueType::kString: return ReadString(&v->s, "string value", key);
    case ValueType::kArray: {
      if (depth >= kMaxArrayDepth)
        return Fail(StatusCode::kCorrupt, StrCat("key '", key, "': arrays nested deeper than ", kMaxArrayDepth,
                                                 " levels; hint: corrupt or hostile file?"));
      uint32_t elem = 0;
      uint64_t count = 0;
      LM_RETURN_IF_ERROR(Read(&elem, StrCat("array element type of key '", key, "'")));
      if (!KnownValueType(elem))
        return Fail(StatusCode::kCorrupt, StrCat("key '", key, "': array has unknown element type ", elem,
                                                 "; hint: corrupt file or a newer GGUF revision?"));
      LM_RETURN_IF_ERROR(Read(&count, StrCat("array count of key '", key, "'")));
      v->elem_type = static_cast<ValueType>(elem);
      LM_RETURN_IF_ERROR(CheckCount(count, MinValueBytes(v->elem_type),
                                    StrCat("key '", key, "': array<", ValueTypeName(v->elem_type), ">")));
      n_values_ += count;
      if (n_values_ > kMaxMetadataValues)
        return Fail(StatusCode::kCorrupt, StrCat("key '", key, "': metadata holds more than ", kMaxMetadataValues,
                                                 " array values in total; hint: corrupt or hostile file?"));
      v->array.resize(count);
      for (Value& e : v->array) LM_RETURN_IF_ERROR(ReadValue(v->elem_type, depth + 1, key, &e));
      break;
    }
  }
  return OkStatus();
}

Status GgufParser::ParseAlignment() {
  const Value* a = nullptr;
  auto it = file_->key_index_.find("general.alignment");
  if (it == file_->key_index_.end()) {
    file_->alignment_ = kDefaultAlignment;
    return OkStatus();
  }
  a = &file_->metadata_[it->second].second;
  // The spec says u32; any integer type is accepted as long as the value is a positive power of two.
  const bool positive = a->is_integer() && a->AsInt() > 0;
  const uint64_t value = positive ? static_cast<uint64_t>(a->AsInt()) : 0;
  if (!positive || (value & (value - 1)) != 0)
    return Fail(StatusCode::kCorrupt, StrCat("general.alignment = ", a->DebugString(), " (", ValueTypeName(a->type),
                                             ") is not a nonzero power of two; hint: corrupt file?"));
  file_->alignment_ = value;
  return OkStatus();
}

Status GgufParser::ParseTensorInfo(TensorInfo* info, uint64_t* rel_offset) {
  LM_RETURN_IF_ERROR(ReadString(&info->name, StrCat("name of tensor #", file_->tensors_.size())));
  const std::string& name = info->name;
  uint32_t n_dims = 0;
  LM_RETURN_IF_ERROR(Read(&n_dims, StrCat("n_dims of tensor '", name, "'")));
  if (n_dims == 0 || n_dims > kMaxDims)
    return Fail(StatusCode::kCorrupt,
                StrCat("tensor '", name, "' has n_dims ", n_dims, " (must be 1..", kMaxDims, "); hint: corrupt file?"));
  uint64_t ne[kMaxDims];
  int64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    LM_RETURN_IF_ERROR(Read(&ne[d], StrCat("ne[", d, "] of tensor '", name, "'")));
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (ne[d] > kMax)
      return Fail(StatusCode::kCorrupt,
                  StrCat("tensor '", name, "' has ne[", d, "] = ", ne[d], " (negative as int64); hint: corrupt file?"));
    const auto dim = static_cast<int64_t>(ne[d]);
    if (dim != 0 && numel > std::numeric_limits<int64_t>::max() / dim)
      return Fail(StatusCode::kCorrupt,
                  StrCat("tensor '", name, "' dimensions ", ShapeString(std::vector<uint64_t>(ne, ne + d + 1)),
                         " overflow int64 elements; hint: corrupt file?"));
    numel *= dim;
  }
  // GGUF lists ne[] innermost first; our Shape is outermost first.
  for (uint32_t d = n_dims; d-- > 0;) info->shape.push_back(static_cast<int64_t>(ne[d]));

  uint32_t ggml_type = 0;
  LM_RETURN_IF_ERROR(Read(&ggml_type, StrCat("type of tensor '", name, "'")));
  const std::optional<DType> dtype = GgmlTypeToDType(ggml_type);
  if (!dtype)
    return Fail(StatusCode::kUnsupported,
                StrCat("tensor '", name, "' has GGML type id ", ggml_type, " (", GgmlTypeName(ggml_type),
                       ") which longmem cannot read; hint: re-quantise to q8_0, q4_0, "
                       "q4_1, q5_0, q5_1, q4_K, q5_K, q6_K, f16, bf16 or f32"));
  info->dtype = *dtype;
  LM_RETURN_IF_ERROR(Read(rel_offset, StrCat("offset of tensor '", name, "'")));

  // Quantised rows must be whole blocks (stricter than the element count, and what row kernels rely on).
  const int64_t block = Info(info->dtype).block_elems;
  if (static_cast<int64_t>(ne[0]) % block != 0)
    return Fail(StatusCode::kCorrupt,
                StrCat("tensor '", name, "' ", Name(info->dtype), " rows of ", ne[0],
                       " elements are not a whole number of ", block, "-element blocks; hint: corrupt file?"));
  const std::optional<uint64_t> nbytes = BytesFor(info->dtype, numel);
  if (!nbytes)
    return Fail(StatusCode::kCorrupt, StrCat("tensor '", name, "' ", ShapeString(info->shape), " ", Name(info->dtype),
                                             " has an unrepresentable byte size; hint: corrupt file?"));
  info->nbytes = *nbytes;
  return OkStatus();
}

Status GgufParser::PlaceTensors(const std::vector<uint64_t>& rel_offsets) {
  const uint64_t a = file_->alignment_;
  const uint64_t header_end = r_.pos();
  const uint64_t pad = (a - header_end % a) % a;
  if (header_end > std::numeric_limits<uint64_t>::max() - pad)
    return Fail(StatusCode::kCorrupt, StrCat("header end ", header_end, " aligned to ", a, " overflows"));
  file_->data_offset_ = header_end + pad;
  const uint64_t size = r_.size();
  if (!file_->tensors_.empty() && file_->data_offset_ > size)
    return Fail(StatusCode::kCorrupt,
                StrCat("data section starts at ", file_->data_offset_, " (header end ", header_end, " aligned to ", a,
                       ") past the file end (", size, " bytes); hint: the file is truncated?"));
  for (size_t k = 0; k < file_->tensors_.size(); ++k) {
    TensorInfo& t = file_->tensors_[k];
    const uint64_t rel = rel_offsets[k];
    if (rel % a != 0)
      return Fail(StatusCode::kCorrupt, StrCat("tensor '", t.name, "' offset ", rel, " is not a multiple of the ", a,
                                               "-byte alignment; hint: corrupt file?"));
    // Compare without adding first so hostile offsets cannot wrap around.
    const uint64_t room = size - file_->data_offset_;
    if (rel > room || t.nbytes > room - rel)
      return Fail(StatusCode::kCorrupt,
                  StrCat("tensor '", t.name, "' data [offset ", rel, " + ", file_->data_offset_, ", ", t.nbytes,
                         " bytes] ends past the file end (", size, " bytes); hint: the file is truncated?"));
    t.offset = file_->data_offset_ + rel;
  }
  // Overlapping data would mean two tensors alias each other's bytes: a broken writer.
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : file_->tensors_)
    if (t.nbytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* x, const TensorInfo* y) { return x->offset < y->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const TensorInfo& p = *by_offset[k - 1];
    const TensorInfo& q = *by_offset[k];
    if (p.offset + p.nbytes > q.offset)
      return Fail(StatusCode::kCorrupt,
                  StrCat("tensors '", p.name, "' [offset ", p.offset, ", ", p.nbytes, " bytes] and '", q.name,
                         "' [offset ", q.offset, ", ", q.nbytes, " bytes] overlap; hint: corrupt file?"));
  }
  return OkStatus();
}

Result<std::shared_ptr<const GgufFile>> GgufFile::Parse(const uint8_t* data, uint64_t size,
                                                        std::shared_ptr<const void> owner, std::string name) {
  return GgufParser(data, size, std::move(name)).Run(std::move(owner));
}

Result<std::shared_ptr<const GgufFile>> GgufFile::Open(const std::string& path) {
  Result<std::shared_ptr<const MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  const MappedFile& f = **file;
  return Parse(f.data(), f.size(), *file, path);
}

}  // namespace lm::gguf
