#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace roomrec::util {

namespace {

Status errno_status(const char* what, const std::string& path, int e) {
  return Status::error(e == ENOSPC || e == EDQUOT ? ErrorCode::resource_exhausted : ErrorCode::io,
                       std::string(what) + " " + path + ": " + std::strerror(e));
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<AtomicFile> AtomicFile::create(std::string path, std::string suffix, unsigned mode) {
  std::string tmp = path + suffix;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return errno_status("create", tmp, errno);
  return AtomicFile(std::move(path), std::move(tmp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), fd_(o.fd_) {
  o.fd_ = -1;
  o.tmp_.clear();
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
  }
}

Status AtomicFile::write(const uint8_t* p, size_t n) {
  if (fd_ < 0) return Status::error(ErrorCode::internal, "write to a closed AtomicFile " + tmp_);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno_status("write", tmp_, errno);
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::ok();
}

Status AtomicFile::commit(bool sync_dir) {
  if (fd_ < 0) return Status::error(ErrorCode::internal, "commit of a closed AtomicFile " + tmp_);
  if (::fsync(fd_) != 0) {
    Status s = errno_status("fsync", tmp_, errno);
    abandon();
    return s;
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    Status s = errno_status("rename", tmp_, errno);
    ::unlink(tmp_.c_str());
    return s;
  }
  if (sync_dir) return fsync_dir(parent_of(path_));
  return Status::ok();
}

Status write_file_atomic(const std::string& path, const uint8_t* p, size_t n, bool sync_dir,
                         const std::string& suffix, unsigned mode) {
  auto f = AtomicFile::create(path, suffix, mode);
  if (!f) return f.status();
  if (Status s = f->write(p, n); !s) return s;
  return f->commit(sync_dir);
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("open directory", dir, errno);
  Status s;
  if (::fsync(fd) != 0 && errno != EINVAL) s = errno_status("fsync directory", dir, errno);
  ::close(fd);
  return s;
}

}  // namespace roomrec::util
