// Reads a chunk as a stream: never loads the whole chunk, verifies every
// frame's CRC, resynchronises after damage and keeps count of what it saw.
#pragma once

#include <roomrec/byte_source.h>
#include <roomrec/chunk_types.h>
#include <roomrec/export.h>
#include <roomrec/status.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace roomrec {

struct ChunkReadStats {
  bool magic_ok = false;          // preamble present and of a known version
  uint32_t format_version = 0;
  bool header_ok = false;         // the header frame was read intact
  uint64_t good_rows = 0;         // rows returned (the trailer not counted)
  uint64_t bad_regions = 0;       // damaged stretches skipped
  uint64_t skipped_bytes = 0;     // bytes in those stretches
  uint64_t crc_bytes_failed = 0;  // bytes checksummed for candidate frames that were not frames
  bool trailer_seen = false;
  uint64_t trailer_row_count = 0; // rows the writer says it wrote
  uint64_t trailer_last_ts = 0;
  Status source_error;            // the byte source failed (the read stops there)

  // Everything the writer wrote was read back, intact.
  bool complete() const {
    return magic_ok && header_ok && trailer_seen && bad_regions == 0 && skipped_bytes == 0 &&
           trailer_row_count == good_rows && source_error.is_ok();
  }
};

class ROOMREC_API ChunkReader {
 public:
  explicit ChunkReader(std::unique_ptr<ByteSource> source);
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // Reads up to the header frame. Returns the header, or nullptr when the
  // chunk has none intact (its rows may still be read with next()).
  const ChunkHeader* read_header();
  const ChunkHeader* header() const;

  // The next intact row; false at the end of the chunk.
  bool next(Row& row);

  const ChunkReadStats& stats() const;

 private:
  struct Impl;  // the source, its sliding buffer and the frame scanner (chunk_reader.cpp)
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec
