// Janus .mjr recordings (one RTP track, or data channel messages, per file), read from memory and
// converted into a roomrec chunk.
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
#include <roomrec/chunk_types.h>
#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
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

// One frame, pointing into the caller's bytes.
struct Frame {
  size_t offset = 0;            // of the frame marker in the file
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
  std::vector<std::string> problems;  // one line per kind of damage (first offsets), for people
  bool clean() const { return skipped_frames == 0 && bad_regions == 0 && !truncated; }
};

// Walks the frames of a whole .mjr held in memory (data must stay alive).
class FrameReader {
 public:
  FrameReader(const MjrInfo& info, const uint8_t* data, size_t n);
  // The next frame; false at the end of the file (or where it is truncated).
  bool next(Frame& f);
  const ScanStats& stats() const { return stats_; }

 private:
  bool resync(size_t from);
  bool plausible_frame_at(size_t pos) const;
  void note_problem(std::string what);

  const MjrInfo& info_;
  const uint8_t* data_;
  size_t n_;
  size_t pos_;
  size_t marker_len_;
  uint32_t clock_rate_;
  ScanStats stats_;
  // MJR00001: time from RTP timestamps.
  bool have_first_rtp_ = false;
  uint32_t last_rtp_ts_ = 0;
  int64_t rtp_ext_ = 0;        // unwrapped RTP timestamp relative to the first packet
  uint32_t last_rel_ms_ = 0;
};

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

struct Conversion {
  Buffer chunk;                // a complete roomrec chunk
  MjrInfo info;
  ScanStats stats;
  uint64_t first_ts = 0;       // u / 1000
  uint64_t last_ts = 0;        // time of the last row
};

// Converts a whole .mjr into one chunk: header (first_ts = u/1000, no open track), a track_started row
// (audio/video), one rtp row per frame (data: one data row per message, label = the recording's
// description or "data", binary when the codec is "binary"), a track_stopped row at the last frame's
// time. Fails only when the header is unusable; damage after it is skipped and counted in stats.
Result<Conversion> convert_to_chunk(const uint8_t* data, size_t n, const ChunkParams& params);

// The peer an .mjr file belongs to: the file name without ".mjr" and without a trailing
// "-audio"/"-video"/"-data" (optionally followed by "-N"): "rec-1234-audio.mjr" -> "rec-1234".
std::string peer_name(std::string_view file_name);

}  // namespace roomrec::mjr
