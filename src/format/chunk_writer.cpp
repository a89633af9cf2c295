#include <roomrec/chunk_writer.h>

#include "format/row_codec.h"

namespace roomrec {

ChunkWriter::ChunkWriter(const ChunkHeader& header, size_t reserve_bytes)
    : header_(header), buf_(reserve_bytes < 256 ? 256 : reserve_bytes) {
  format::write_preamble(buf_);
  format::write_header_frame(buf_, header_);
}

bool ChunkWriter::add_rtp(uint64_t ts, uint32_t track_id, const uint8_t* packet, size_t n) {
  if (finished_ || n > kMaxPayloadBytes) return false;
  format::write_bytes_row(buf_, ts, track_id, format::kRowRtp, packet, n);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_rtcp(uint64_t ts, const uint8_t* packet, size_t n) {
  if (finished_ || n > kMaxPayloadBytes) return false;
  format::write_bytes_row(buf_, ts, 0, format::kRowRtcp, packet, n);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_data(uint64_t ts, std::string_view label, bool binary, const uint8_t* bytes, size_t n) {
  if (finished_ || n > kMaxPayloadBytes || label.size() > 65535) return false;
  format::write_data_row(buf_, ts, label, binary, bytes, n);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_join(uint64_t ts) {
  if (finished_) return false;
  format::write_empty_row(buf_, ts, 0, format::kRowJoin);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_leave(uint64_t ts) {
  if (finished_) return false;
  format::write_empty_row(buf_, ts, 0, format::kRowLeave);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_track_started(uint64_t ts, uint32_t track_id, const TrackInfo& info) {
  if (finished_) return false;
  format::write_track_started_row(buf_, ts, track_id, info);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_track_stopped(uint64_t ts, uint32_t track_id) {
  if (finished_) return false;
  format::write_empty_row(buf_, ts, track_id, format::kRowTrackStopped);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_pause(uint64_t ts, uint32_t track_id) {
  if (finished_) return false;
  format::write_empty_row(buf_, ts, track_id, format::kRowPause);
  note_row(ts);
  return true;
}

bool ChunkWriter::add_resume(uint64_t ts, uint32_t track_id) {
  if (finished_) return false;
  format::write_empty_row(buf_, ts, track_id, format::kRowResume);
  note_row(ts);
  return true;
}

Buffer ChunkWriter::finish() {
  if (finished_) return Buffer();
  format::write_trailer_row(buf_, last_ts(), rows_, last_ts());
  finished_ = true;
  return std::move(buf_);
}

}  // namespace roomrec
