// A stream of bytes read in pieces (a chunk in memory, a file, an S3 object).
#pragma once

#include <roomrec/export.h>
#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roomrec {

class ROOMREC_API ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to max bytes into dst; 0 means the end. An error ends the stream.
  virtual Result<size_t> read(uint8_t* dst, size_t max) = 0;
};

// Reads bytes the caller keeps alive.
ROOMREC_API std::unique_ptr<ByteSource> memory_source(const uint8_t* data, size_t n);
// Reads bytes it owns.
ROOMREC_API std::unique_ptr<ByteSource> memory_source(std::vector<uint8_t> bytes);
// Reads bytes that `owner` keeps alive (a shared buffer): the source holds the owner.
ROOMREC_API std::unique_ptr<ByteSource> memory_source(const uint8_t* data, size_t n, std::shared_ptr<const void> owner);
// Reads a file; fails when it cannot be opened.
ROOMREC_API Result<std::unique_ptr<ByteSource>> file_source(const std::string& path);
// The same for input that others may have arranged: a symbolic link as the
// last component is not followed, and anything but a regular file is refused.
ROOMREC_API Result<std::unique_ptr<ByteSource>> file_source_nofollow(const std::string& path);

}  // namespace roomrec
