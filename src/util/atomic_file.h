// Atomic file writes, the one routine for it: the bytes go to a temporary
// file beside the target ("{path}{suffix}"), which is fsynced, renamed over the
// target, and (unless the caller batches it) the directory is fsynced too, so
// after a crash the target is either the old file or the whole new one, and
// the new name survives. Used by the chunk store's spill files, the
// local-directory sink and the worker's job files.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace roomrec::util {

class AtomicFile {
 public:
  // Opens "{path}{suffix}" for writing (truncated), created with `mode` (less the umask).
  static Result<AtomicFile> create(std::string path, std::string suffix = ".tmp", unsigned mode = 0644);
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();  // not committed: the temporary file is removed

  // Appends; ENOSPC is resource_exhausted.
  Status write(const uint8_t* p, size_t n);
  // fsync, rename over the target, then fsync its directory when sync_dir.
  Status commit(bool sync_dir = true);
  const std::string& temp_path() const { return tmp_; }

 private:
  AtomicFile(std::string path, std::string tmp, int fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  void abandon() noexcept;

  std::string path_, tmp_;
  int fd_ = -1;
};

// The whole of [p, p + n) as `path`, atomically (see AtomicFile).
Status write_file_atomic(const std::string& path, const uint8_t* p, size_t n, bool sync_dir = true,
                         const std::string& suffix = ".tmp", unsigned mode = 0644);

// fsyncs a directory (after renames into it).
Status fsync_dir(const std::string& dir);

}  // namespace roomrec::util
