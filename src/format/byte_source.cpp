#include <roomrec/byte_source.h>
#include <roomrec/chunk_types.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace roomrec {
namespace {

// The one in-memory source: bytes at p, kept alive by `owner` when there is
// one (a vector, a store's shared buffer, a converted chunk).
class SpanSource final : public ByteSource {
 public:
  SpanSource(const uint8_t* p, size_t n, std::shared_ptr<const void> owner)
      : owner_(std::move(owner)), p_(p), n_(n) {}
  Result<size_t> read(uint8_t* dst, size_t max) override {
    size_t k = std::min(max, n_ - off_);
    if (k) std::memcpy(dst, p_ + off_, k);
    off_ += k;
    return k;
  }

 private:
  std::shared_ptr<const void> owner_;
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
};

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  Result<size_t> read(uint8_t* dst, size_t max) override {
    for (;;) {
      ssize_t r = ::read(fd_, dst, max);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      return Status::error(ErrorCode::io, "read " + path_ + ": " + std::strerror(errno));
    }
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

std::unique_ptr<ByteSource> memory_source(const uint8_t* data, size_t n) {
  return std::make_unique<SpanSource>(data, n, nullptr);
}

std::unique_ptr<ByteSource> memory_source(std::vector<uint8_t> bytes) {
  auto owned = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  return std::make_unique<SpanSource>(owned->data(), owned->size(), owned);
}

std::unique_ptr<ByteSource> memory_source(const uint8_t* data, size_t n, std::shared_ptr<const void> owner) {
  return std::make_unique<SpanSource>(data, n, std::move(owner));
}

Result<std::unique_ptr<ByteSource>> file_source(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(ErrorCode::io, "open " + path + ": " + std::strerror(errno));
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(fd, path));
}

Result<std::unique_ptr<ByteSource>> file_source_nofollow(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return Status::error(ErrorCode::io, "open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(ErrorCode::io, "open " + path + ": not a regular file");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(fd, path));
}

const char* row_kind_name(RowKind kind) noexcept {
  switch (kind) {
    case RowKind::join: return "join";
    case RowKind::leave: return "leave";
    case RowKind::track_started: return "track_started";
    case RowKind::track_stopped: return "track_stopped";
    case RowKind::rtp: return "rtp";
    case RowKind::rtcp: return "rtcp";
    case RowKind::data: return "data";
    case RowKind::pause: return "pause";
    case RowKind::resume: return "resume";
  }
  return "?";
}

}  // namespace roomrec
