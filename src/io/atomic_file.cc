// Atomic file writes with POSIX calls (open/write/fsync/rename), so checkpoints survive SIGKILL and power loss.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

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

Status WriteFileAtomic(const std::string& path, const std::vector<std::string_view>& parts) {
  const std::string tmp = StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  auto fail = [&](const std::string& what) {
    Status s = Errno(what, tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  for (std::string_view part : parts) {
    const char* p = part.data();
    size_t left = part.size();
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail("write");
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Errno("close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("rename to " + path, tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(std::filesystem::path(path).parent_path().string());
}

}  // namespace lm::io
