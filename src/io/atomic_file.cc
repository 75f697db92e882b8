// Atomic file writes with POSIX calls (open/write/fsync/rename), so checkpoints survive SIGKILL and power loss.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/str.h"

namespace lm::io {

namespace {
Status Errno(const std::string& what, const std::string& path) {
  return IoError(StrCat(what, " '", path, "': ", std::strerror(errno)));
}
}  // namespace

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync directory", dir);
  return OkStatus();
}

Result<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path) {
  std::string tmp = StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  return AtomicFileWriter(path, std::move(tmp), fd);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), fd_(o.fd_), written_(o.written_) {
  o.fd_ = -1;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
  fd_ = -1;
}

Status AtomicFileWriter::Write(std::string_view bytes) {
  if (fd_ < 0) return Internal(StrCat("write to '", tmp_, "' after commit or failure"));
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno(StrCat("write (", written_, " bytes in; hint: disk full?) to"), tmp_);
      Abandon();
      return s;
    }
    p += n;
    left -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
  return OkStatus();
}

Status AtomicFileWriter::WriteZeros(uint64_t n) {
  static constexpr char kZeros[256] = {};
  for (; n > 0;) {
    const uint64_t m = std::min<uint64_t>(n, sizeof(kZeros));
    LM_RETURN_IF_ERROR(Write(std::string_view(kZeros, m)));
    n -= m;
  }
  return OkStatus();
}

Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return Internal(StrCat("commit of '", tmp_, "' after commit or failure"));
  if (::fsync(fd_) != 0) {
    Status s = Errno("fsync", tmp_);
    Abandon();
    return s;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(tmp_.c_str());
    return Errno("close", tmp_);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    Status s = Errno("rename to " + path_, tmp_);
    ::unlink(tmp_.c_str());
    return s;
  }
  return SyncDirectory(std::filesystem::path(path_).parent_path().string());
}

Status WriteFileAtomic(const std::string& path, const std::vector<std::string_view>& parts) {
  auto w = AtomicFileWriter::Create(path);
  if (!w.ok()) return w.status();
  for (std::string_view part : parts) LM_RETURN_IF_ERROR(w->Write(part));
  return w->Commit();
}

}  // namespace lm::io
