// Crash-safe file replacement: write a temp file beside the target, fsync it, rename over the target,
// fsync the directory. A reader sees either the old complete file or the new complete file, never a mix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lm::io {

// Streams a file into `path` + ".tmp.<pid>" and renames it over `path` on Commit(), for outputs too large
// to assemble in memory (converted models). Destroyed without a successful Commit(), it removes the temp
// file and leaves the previous `path` (if any) untouched.
class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> Create(const std::string& path);
  AtomicFileWriter(AtomicFileWriter&& o) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  Status Write(std::string_view bytes);
  Status WriteZeros(uint64_t n);
  uint64_t bytes_written() const { return written_; }
  Status Commit();  // fsync, close, rename, fsync the directory

 private:
  AtomicFileWriter(std::string path, std::string tmp, int fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  void Abandon();
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0;
};

// Writes `parts` (concatenated, in order) to `path` atomically, as AtomicFileWriter does.
Status WriteFileAtomic(const std::string& path, const std::vector<std::string_view>& parts);

// fsync of a directory, so a rename inside it survives a power cut.
Status SyncDirectory(const std::string& dir);

}  // namespace lm::io
