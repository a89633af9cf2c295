// The chunk's framing and the protobuf wire encoding of rows, shared by
// ChunkWriter and ChunkReader. Hot rows (rtp, rtcp, data) are encoded by hand
// straight into the chunk buffer, byte-identical to what protobuf would write;
// they are parsed back with the generated code of proto/record.proto.
#pragma once

#include <roomrec/buffer.h>
#include <roomrec/chunk_types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "record.pb.h"

namespace roomrec::format {

// File: 8-byte magic, u32 LE format version, then frames.
inline constexpr char kMagic[8] = {'R', 'R', 'C', 'H', 'U', 'N', 'K', '\n'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kPreambleBytes = 12;

// Frame: 0xF1 | type | u32 LE length | message | u32 LE CRC32C(type, length, message)
inline constexpr uint8_t kFrameMarker = 0xF1;
inline constexpr uint8_t kFrameHeader = 'H';
inline constexpr uint8_t kFrameRow = 'R';
inline constexpr size_t kFramePrefixBytes = 6;
inline constexpr size_t kFrameCrcBytes = 4;
inline constexpr size_t kFrameOverhead = kFramePrefixBytes + kFrameCrcBytes;
// No frame is ever larger; a longer length field is damage.
inline constexpr size_t kMaxFrameBytes = 16u << 20;

// Row field numbers (proto/record.proto).
enum RowField : uint32_t {
  kRowTs = 1, kRowTrackId = 2, kRowJoin = 3, kRowLeave = 4, kRowTrackStarted = 5, kRowTrackStopped = 6,
  kRowRtp = 7, kRowRtcp = 8, kRowData = 9, kRowTrailer = 10, kRowPause = 11, kRowResume = 12,
};

void write_preamble(Buffer& out);

// Writes one frame whose message is `msg` (already serialized).
void write_frame(Buffer& out, uint8_t type, const uint8_t* msg, size_t n);

// Appends a row frame of a bytes-kind row (rtp or rtcp) without intermediate copies.
void write_bytes_row(Buffer& out, uint64_t ts, uint32_t track_id, RowField field, const uint8_t* p, size_t n);
// Appends a data row frame.
void write_data_row(Buffer& out, uint64_t ts, std::string_view label, bool binary, const uint8_t* p, size_t n);
// Appends a row with an empty sub-message (join, leave, track_stopped, pause, resume).
void write_empty_row(Buffer& out, uint64_t ts, uint32_t track_id, RowField field);
void write_track_started_row(Buffer& out, uint64_t ts, uint32_t track_id, const TrackInfo& info);
void write_trailer_row(Buffer& out, uint64_t ts, uint64_t row_count, uint64_t last_ts);
void write_header_frame(Buffer& out, const ChunkHeader& header);

// Size of the frame write_bytes_row would write.
size_t bytes_row_frame_size(uint64_t ts, uint32_t track_id, size_t n);

// Conversions between generated messages and the public structs.
void to_proto(const TrackInfo& in, record::TrackStarted& out);
void from_proto(const record::TrackStarted& in, TrackInfo& out);
void to_proto(const ChunkHeader& in, record::ChunkHeader& out);
void from_proto(const record::ChunkHeader& in, ChunkHeader& out);

}  // namespace roomrec::format
