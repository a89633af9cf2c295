// Builds one chunk in memory: preamble, header frame, row frames, trailer.
// Owns no threads and takes no locks; appending a row is O(row size) and
// allocation-free once the buffer has grown to its working size.
#pragma once

#include <roomrec/buffer.h>
#include <roomrec/chunk_types.h>
#include <roomrec/export.h>

#include <cstdint>
#include <string_view>

namespace roomrec {

class ROOMREC_API ChunkWriter {
 public:
  // The largest message a row may carry (rtp, rtcp or data bytes).
  static constexpr size_t kMaxPayloadBytes = 8u << 20;

  explicit ChunkWriter(const ChunkHeader& header, size_t reserve_bytes = 64 * 1024);

  // Each add_* returns false and writes nothing when the payload is larger
  // than kMaxPayloadBytes or the writer is finished.
  bool add_rtp(uint64_t ts, uint32_t track_id, const uint8_t* packet, size_t n);
  bool add_rtcp(uint64_t ts, const uint8_t* packet, size_t n);
  bool add_data(uint64_t ts, std::string_view label, bool binary, const uint8_t* bytes, size_t n);
  bool add_join(uint64_t ts);
  bool add_leave(uint64_t ts);
  bool add_track_started(uint64_t ts, uint32_t track_id, const TrackInfo& info);
  bool add_track_stopped(uint64_t ts, uint32_t track_id);
  // Recording paused / resumed: track_id 0 for the whole session.
  bool add_pause(uint64_t ts, uint32_t track_id);
  bool add_resume(uint64_t ts, uint32_t track_id);

  const ChunkHeader& header() const noexcept { return header_; }
  size_t size_bytes() const noexcept { return buf_.size(); }
  uint64_t row_count() const noexcept { return rows_; }
  // Time of the first and last row (the header's first_ts while empty).
  uint64_t first_ts() const noexcept { return rows_ ? first_ts_ : header_.first_ts; }
  uint64_t last_ts() const noexcept { return rows_ ? last_ts_ : header_.first_ts; }
  bool finished() const noexcept { return finished_; }

  // Appends the trailer and hands over the bytes; the writer accepts no more rows.
  Buffer finish();

 private:
  void note_row(uint64_t ts) noexcept {
    if (rows_ == 0) first_ts_ = ts;
    last_ts_ = ts;
    ++rows_;
  }

  ChunkHeader header_;
  Buffer buf_;
  uint64_t rows_ = 0;
  uint64_t first_ts_ = 0;
  uint64_t last_ts_ = 0;
  bool finished_ = false;
};

}  // namespace roomrec
