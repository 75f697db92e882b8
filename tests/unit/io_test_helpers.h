// Helpers for io tests: a raw little-endian byte builder for crafting (hostile) GGUF/safetensors images,
// and shorthands to parse an image from memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "io/gguf_reader.h"
#include "io/safetensors_reader.h"

namespace lm::test {

class RawBytes {
 public:
  template <class T>
  RawBytes& Put(T x) {
    const size_t at = b_.size();
    b_.resize(at + sizeof(T));
    std::memcpy(b_.data() + at, &x, sizeof(T));
    return *this;
  }
  RawBytes& Str(const std::string& s) {
    Put<uint64_t>(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  RawBytes& Bytes(const std::vector<uint8_t>& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    return *this;
  }
  RawBytes& Pad(size_t alignment) {
    while (b_.size() % alignment) b_.push_back(0);
    return *this;
  }
  // "GGUF" | version | n_tensors | n_kv
  RawBytes& Header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    for (char c : std::string("GGUF")) Put<uint8_t>(static_cast<uint8_t>(c));
    return Put(version).Put(n_tensors).Put(n_kv);
  }
  // key | type u32 (the value follows via Put/Str)
  RawBytes& Key(const std::string& key, gguf::ValueType t) { return Str(key).Put(static_cast<uint32_t>(t)); }
  // name | n_dims | ne[] (innermost first) | ggml type | offset
  RawBytes& TensorInfo(const std::string& name, const std::vector<uint64_t>& ne, uint32_t ggml_type, uint64_t offset) {
    Str(name).Put(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) Put(d);
    return Put(ggml_type).Put(offset);
  }
  const std::vector<uint8_t>& bytes() const { return b_; }
  size_t size() const { return b_.size(); }

 private:
  std::vector<uint8_t> b_;
};

// Parses bytes as GGUF; the copy in `owner` keeps them alive for tensor views.
inline Result<std::shared_ptr<const gguf::GgufFile>> ParseGguf(const std::vector<uint8_t>& bytes,
                                                               const std::string& name = "mem.gguf") {
  auto owner = std::make_shared<std::vector<uint8_t>>(bytes);
  return gguf::GgufFile::Parse(owner->data(), owner->size(), owner, name);
}

inline Result<std::shared_ptr<const SafetensorsSet>> ParseSt(const std::vector<uint8_t>& bytes,
                                                             const std::string& name = "mem.safetensors") {
  auto owner = std::make_shared<std::vector<uint8_t>>(bytes);
  return ParseSafetensors(owner->data(), owner->size(), owner, name);
}

}  // namespace lm::test
