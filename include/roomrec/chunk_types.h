// Plain C++ types of the chunk format (the wire form is proto/record.proto).
#pragma once

#include <roomrec/export.h>

#include <cstdint>
#include <string>
#include <vector>

namespace roomrec {

enum class TrackKind : uint8_t { audio = 0, video = 1 };

// An RTP header extension negotiated for a track (RFC 8285: the SDP's a=extmap id and URI).
struct HeaderExtension {
  uint8_t id = 0;
  std::string uri;
  bool operator==(const HeaderExtension&) const = default;
};

struct TrackInfo {
  TrackKind kind = TrackKind::audio;
  std::string name;        // the host's track name ("audio_main", "video_main"...)
  std::string codec;       // "opus", "vp8", "vp9", "h264", "av1", ...
  uint32_t clock_rate = 0;
  uint32_t channels = 0;
  std::string fmtp;
  uint32_t ssrc = 0;
  std::string rid;
  uint8_t cvo_extension_id = 0;  // header extension id of urn:3gpp:video-orientation (SDP extmap); 0: none
  std::vector<HeaderExtension> extensions{};  // all negotiated (at most kMaxExtensions, ids 1..255)
  static constexpr size_t kMaxExtensions = 16;
  static constexpr size_t kMaxExtensionUriBytes = 256;
  bool operator==(const TrackInfo&) const = default;
};

struct OpenTrack {
  uint32_t track_id = 0;
  uint64_t started_ts = 0;
  TrackInfo info;
  bool paused = false;  // paused on its own (SessionRecorder::pause_track) when the chunk started
  bool operator==(const OpenTrack&) const = default;
};

// What every chunk says about itself, so each chunk can be read alone.
struct ChunkHeader {
  std::string app;
  std::string room;
  std::string room_record_id;
  std::string peer;
  uint64_t session = 0;
  uint32_t index = 0;
  uint64_t first_ts = 0;
  std::string ip;
  std::string user_agent;
  std::vector<OpenTrack> tracks;  // tracks open when the chunk starts
  bool paused = false;            // the whole session was paused when the chunk started
  bool operator==(const ChunkHeader&) const = default;
};

// pause/resume: track_id 0 is the whole session, another id that track alone.
enum class RowKind : uint8_t { join, leave, track_started, track_stopped, rtp, rtcp, data, pause, resume };

ROOMREC_API const char* row_kind_name(RowKind kind) noexcept;

// One row as read back. Only the fields of its kind are meaningful.
struct Row {
  uint64_t ts = 0;          // unix ms
  uint32_t track_id = 0;    // track rows, rtp, pause/resume (0: the session)
  RowKind kind = RowKind::join;
  TrackInfo track;          // track_started
  std::string label;        // data: channel label
  bool binary = false;      // data: binary or text message
  std::vector<uint8_t> payload;  // rtp packet, rtcp compound, data bytes
};

}  // namespace roomrec
