// Janus .mjr recordings (one RTP track, or data channel messages, per file), read in bounded blocks
// from a ByteSource and turned into roomrec rows (or the bytes of a roomrec chunk) as they are read.
//
// Layout (janus-gateway src/record.c janus_recorder_save_frame, src/postprocessing/janus-pp-rec.c):
//   "MJR00002"                                 8-byte magic
//   u16 BE length + JSON info object          {"t":"a"|"v"|"d", "c":codec, "f":fmtp?, "d":description?,
//                                              "x":{"id":"extmap"}?, "s":created µs (real time),
//                                              "u":first frame written µs (real time), "or":RED pt?, "e":true?}
//   frames: "MEET" + u32 BE ms since the first frame was written (i.e. relative to "u")
//           + u16 BE length + the RTP packet (for data: 8-byte BE real time µs + the message; the
//           length counts those 8 bytes)
// MJR00001 (older): same info header, frames "MEETECHO" + u16 BE length + packet, no frame time: the
// time is then derived from the RTP timestamps (relative to the first packet) and the track's clock.
// The pre-JSON legacy form ("MEETECHO" + u16 5 + "audio"/"video") is refused.
//
// Like janus-pp-rec, a frame that cannot be RTP (shorter than 12 bytes, or not RTP version 2) is
// skipped, as is an embedded "MJR0000x" header. Beyond janus-pp-rec (which stops at the first bad
// frame marker), damage is skipped by scanning for the next plausible frame marker; a frame whose
// length runs past the end of the file ends the read (truncated file). Nothing here trusts a length.
#pragma once

#include <roomrec/buffer.h>
#include <roomrec/byte_source.h>
#include <roomrec/chunk_types.h>
#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roomrec::mjr {

enum class Media : uint8_t { audio, video, data };

struct MjrInfo {
  uint32_t version = 0;       // 1 (MJR00001) or 2 (MJR00002)
  Media media = Media::audio;
  std::string codec;          // "c", lower case ("opus", "vp8", "text"...)
  std::string fmtp;           // "f" (may be empty)
  std::string description;    // "d" (may be empty)
  int64_t created_us = 0;     // "s" (0 when absent)
  int64_t written_us = 0;     // "u"; "s" when "u" is absent
  std::vector<std::pair<int, std::string>> extensions;  // "x": RTP header extension ids and URIs
  int opus_red_pt = 0;        // "or"
  bool encrypted = false;     // "e": end-to-end encrypted media
  std::string json;           // the info object as stored
  size_t frames_offset = 0;   // where the first frame starts
};

// Parses the magic and the info header of an .mjr (data may be just the start of the file: the header
// is at most 8 + 2 + 65535 bytes). Errors say what is wrong (not an .mjr, unsupported version, bad or
// truncated JSON, missing "t"/"c", implausible times).
Result<MjrInfo> parse_header(const uint8_t* data, size_t n);

// One frame, pointing into the reader's window.
struct Frame {
  uint64_t offset = 0;          // of the frame marker in the file
  uint64_t ts_ms = 0;           // unix ms: u/1000 + relative time (data: the message's own time)
  uint32_t rel_ms = 0;          // ms since the first frame (as stored for MJR00002; derived for MJR00001)
  const uint8_t* data = nullptr;  // RTP packet, or the data message without its 8-byte time
  size_t size = 0;
};

// What a pass over the frames met.
struct ScanStats {
  uint64_t frames = 0;           // frames returned
  uint64_t skipped_frames = 0;   // well framed but not RTP, or an embedded header
  uint64_t bad_regions = 0;      // stretches without a valid frame marker, skipped
  uint64_t skipped_bytes = 0;    // bytes in those stretches
  bool truncated = false;        // the last frame (or frame header) runs past the end of the file
  Status source_error;           // reading the file failed (the read stops there)
  std::vector<std::string> problems;  // one line per kind of damage (first offsets), for people
  bool clean() const { return skipped_frames == 0 && bad_regions == 0 && !truncated && source_error.is_ok(); }
};

// Walks the frames of an .mjr read from a ByteSource in bounded blocks: the reader holds a window of
// at most kWindowBytes (a read block plus the largest frame), never the file. Frame::data points into
// that window and stays valid until the next call of next().
class FrameReader {
 public:
  static constexpr size_t kBlockBytes = 256 * 1024;
  static constexpr size_t kWindowBytes = kBlockBytes + 8 + 2 + 65535 + 16;

  // Reads the info header from the start of `source` (at most 8 + 2 + 65535 bytes) and stands before
  // the first frame. Errors are parse_header()'s, or the source's read error.
  static Result<std::unique_ptr<FrameReader>> open(std::unique_ptr<ByteSource> source);
  // Over a whole .mjr already in memory (data must stay alive; it is read in blocks like a file).
  FrameReader(const MjrInfo& info, const uint8_t* data, size_t n);
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  const MjrInfo& info() const { return info_; }
  // The next frame; false at the end of the file (or where it is truncated, or unreadable).
  bool next(Frame& f);
  const ScanStats& stats() const { return stats_; }

 private:
  FrameReader(MjrInfo info, std::unique_ptr<ByteSource> source);
  bool fill(size_t need);  // at least `need` bytes from pos_ in the window, unless the file ends first
  uint64_t abs(size_t i) const { return base_ + i; }
  bool resync();
  bool plausible_frame_here();
  void note_problem(std::string what);
  void init_position();

  MjrInfo info_;
  std::unique_ptr<ByteSource> source_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t pos_ = 0, end_ = 0;   // unread bytes are buf_[pos_, end_)
  uint64_t base_ = 0;          // file offset of buf_[0]
  bool eof_ = false;
  size_t marker_len_;
  uint32_t clock_rate_;
  ScanStats stats_;
  // MJR00001: time from RTP timestamps.
  bool have_first_rtp_ = false;
  uint32_t last_rtp_ts_ = 0;
  int64_t rtp_ext_ = 0;        // unwrapped RTP timestamp relative to the first packet
};

// The time of the last frame, from the last bytes of an MJR00002 file (`tail`, ending at the file's
// end), relative to "u" in ms: the latest frame time along the first run of consecutive frames in
// `tail` that reaches the end of the file (or a frame cut by it, whose time does not count: it is
// not read). Nothing for MJR00001 (its frames
// carry no time) or when no such run is found. Lets a listing know an .mjr's span without reading it.
std::optional<uint32_t> last_frame_rel_ms(const MjrInfo& info, const uint8_t* tail, size_t n);

// The roomrec track an .mjr describes: kind, codec, clock rate (opus 48000/2 ch, g711 8000, g722 8000,
// l16 16000, l16-48 48000, video 90000), fmtp. Data recordings have no track.
TrackInfo track_info(const MjrInfo& info, std::string_view name);

// Where the converted chunk belongs.
struct ChunkParams {
  std::string app, room, room_record_id, peer;
  uint64_t session = 0;
  uint32_t index = 0;
  uint32_t track_id = 1;
  std::string track_name;      // TrackInfo::name (e.g. the file name without .mjr)
};

// The rows of one .mjr, as a roomrec chunk of it holds them, produced while the frames are read: a
// track_started row at u/1000 (audio/video; with the first packet's SSRC), one rtp row per frame
// (data: one data row per message, label = the recording's description or "data", binary when the
// codec is "binary"), a track_stopped row at the latest frame time. Holds one FrameReader window.
class RowReader {
 public:
  static Result<std::unique_ptr<RowReader>> open(std::unique_ptr<ByteSource> source, const ChunkParams& params);
  RowReader(std::unique_ptr<FrameReader> frames, const ChunkParams& params);

  // The chunk header the rows belong under (first_ts = u/1000, no open track).
  const ChunkHeader& header() const { return header_; }
  bool next(Row& row);
  // Whether next() has returned false (the whole file was read).
  bool done() const { return done_; }
  uint64_t rows() const { return rows_; }
  uint64_t last_row_ts() const { return rows_ ? last_row_ts_ : header_.first_ts; }
  uint64_t last_frame_ts() const { return last_ts_; }  // the latest frame time (u/1000 without frames)
  const MjrInfo& info() const { return frames_->info(); }
  const ScanStats& stats() const { return frames_->stats(); }

 private:
  enum class State { start, frames, stop, done };
  void frame_row(const Frame& f, Row& row);
  void emit(Row& row);

  std::unique_ptr<FrameReader> frames_;
  ChunkHeader header_;
  uint32_t track_id_;
  std::string track_name_;
  bool media_;
  std::string label_;
  bool binary_;
  State state_ = State::start;
  bool pending_ = false;       // the first frame, read before the track_started row was returned
  Frame pending_frame_;
  bool done_ = false;
  uint64_t last_ts_;           // latest frame time (track_stopped)
  uint64_t rows_ = 0;
  uint64_t last_row_ts_ = 0;
};

// A roomrec chunk of an .mjr as a stream of bytes (preamble, header, rows, trailer), encoded row by
// row as it is read: holds a RowReader and at most one block of encoded rows.
class ChunkByteSource final : public ByteSource {
 public:
  explicit ChunkByteSource(std::unique_ptr<RowReader> rows);
  Result<size_t> read(uint8_t* dst, size_t max) override;
  const RowReader& rows() const { return *rows_; }

 private:
  void produce(size_t want);
  std::unique_ptr<RowReader> rows_;
  Buffer out_;
  size_t out_pos_ = 0;
  bool trailer_written_ = false;
  Row row_;
};

// People's lines for what a read met (empty when clean): ".mjr damaged: N frames read, ..." and the
// problem lines, and a note when the media is end-to-end encrypted.
std::vector<std::string> problem_lines(const MjrInfo& info, const ScanStats& stats);

struct Conversion {
  Buffer chunk;                // a complete roomrec chunk
  MjrInfo info;
  ScanStats stats;
  uint64_t first_ts = 0;       // u / 1000
  uint64_t last_ts = 0;        // time of the last row
};

// Converts a whole .mjr held in memory into one chunk held in memory (the rows of RowReader). For tests
// and small inputs: readers of recordings use RowReader or ChunkByteSource, which hold a bounded
// window. Fails only when the header is unusable; damage after it is skipped and counted in stats.
Result<Conversion> convert_to_chunk(const uint8_t* data, size_t n, const ChunkParams& params);

// The peer an .mjr file belongs to: the file name without ".mjr" and without a trailing
// "-audio"/"-video"/"-data" (optionally followed by "-N"): "rec-1234-audio.mjr" -> "rec-1234".
std::string peer_name(std::string_view file_name);

}  // namespace roomrec::mjr
