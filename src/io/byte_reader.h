// ByteReader (private to io): bounds-checked little-endian reads over an in-memory image.
// Every read first compares against the bytes remaining, so callers can validate counts
// ("n items of at least k bytes each") before allocating anything.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace lm::io_internal {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  bool Has(uint64_t n) const { return n <= remaining(); }

  // Reads a little-endian scalar; false (position unchanged) if the bytes are not there.
  // The hosts we target are little-endian, so a memcpy is the decode.
  template <class T>
  bool Read(T* out) {
    if (!Has(sizeof(T))) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  // Copies n bytes into a string; false if fewer than n remain (nothing is allocated then).
  bool ReadString(uint64_t n, std::string* out) {
    if (!Has(n)) return false;
    out->assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += n;
    return true;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "io readers assume a little-endian host");

}  // namespace lm::io_internal
