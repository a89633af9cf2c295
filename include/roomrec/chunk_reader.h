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
  const ChunkHeader* header() const { return stats_.header_ok ? &header_ : nullptr; }

  // The next intact row; false at the end of the chunk.
  bool next(Row& row);

  const ChunkReadStats& stats() const { return stats_; }

 private:
  enum class Frame { none, header, row };
  ROOMREC_HIDDEN bool fill(size_t need);
  ROOMREC_HIDDEN Frame next_frame(Row* row);
  ROOMREC_HIDDEN void skip_damaged(size_t n);

  std::unique_ptr<ByteSource> source_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  bool preamble_done_ = false;
  bool in_damage_ = false;
  // Bytes the CRC may still be computed over for candidate frames that turn
  // out damaged: 16 MiB, plus 16 for each byte read past (see chunk_reader.cpp),
  // so resynchronisation costs at most a fixed multiple of the chunk's size
  // (issue 21 item 7).
  uint64_t crc_budget_ = 16u << 20;
  bool have_pending_ = false;
  Row pending_;
  ChunkHeader header_;
  ChunkReadStats stats_;
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;
};

}  // namespace roomrec
