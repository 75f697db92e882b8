// Read-only memory-mapped file; the mapping lives as long as any shared_ptr to it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace lm {

class MappedFile {
 public:
  // Errors: NotFound (missing), IoError (not a regular file, mmap failure), with the path in the message.
  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
};

}  // namespace lm
