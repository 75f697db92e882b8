// Read-only memory mapping of a whole file (POSIX open/fstat/mmap), released when the last owner goes.
#include "io/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/str.h"

namespace lm {

namespace {

// An empty file cannot be mmap'd (EINVAL); it gets this byte so data() is never null.
const uint8_t kEmpty[1] = {0};

// Closes the descriptor on every return path; the mapping stays valid after close.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return NotFound(StrCat("mmap: ", path, ": no such file; hint: check the path"));
    return IoError(StrCat("mmap: ", path, ": cannot open: ", std::strerror(err)));
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError(StrCat("mmap: ", path, ": fstat failed: ", std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return IoError(StrCat("mmap: ", path, ": not a regular file", S_ISDIR(st.st_mode) ? " (it is a directory)" : ""));

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<uint64_t>(st.st_size);
  if (file->size_ == 0) {
    file->data_ = kEmpty;
    return std::shared_ptr<const MappedFile>(std::move(file));
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(file->size_), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return IoError(StrCat("mmap: ", path, ": mmap of ", file->size_, " bytes failed: ", std::strerror(errno)));
  // Weights are read in full on every forward pass: ask the kernel to start reading ahead now.
  // Failure is harmless (advice only), so the result is ignored.
  (void)::madvise(p, static_cast<size_t>(file->size_), MADV_WILLNEED);
  file->data_ = static_cast<const uint8_t*>(p);
  return std::shared_ptr<const MappedFile>(std::move(file));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr && data_ != kEmpty && size_ > 0)
    ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
}

}  // namespace lm
