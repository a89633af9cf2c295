// Replayer: plays one recorded peer session back as live RTP, without transcoding.
//
//   ReplayOptions o;
//   o.peer = "alice";                                  // o.session: default the peer's first session
//   o.speed = 1.0;                                     // 0: as fast as possible
//   auto r = Replayer::open("/rec/app/room/1731132577000", o).value();
//   for (auto& t : r->tracks()) describe(t);           // SSRC, payload type, codec: e.g. for an SDP
//   ReplayItem it;
//   while (r->next(it)) {                              // in due order, across tracks
//     wait_until(start + it.due_ms);                   // or r->run(cb): paces on this thread
//     send(it);                                        // rtp / rtcp bytes (SRTP-protected when asked), data
//   }
//   if (!r->status()) fail(r->status());
//
// What comes out:
//  - every stored RTP packet of the selected tracks, in recorded (arrival) order, with its due time =
//    (recorded time - start of the replay) / speed. Sequence numbers and RTP timestamps are rewritten
//    per track so they are continuous: a new "segment" starts (next sequence number, timestamp advanced
//    by the recorded time that passed) at a missing or unreadable chunk, at a sequence jump of more than
//    3000, and when the RTP clock and the recorded clock disagree by more than 3 s (a sender's timestamp
//    reset or jump). Inside a segment the original spacing is kept (real loss stays visible to the
//    receiver, reordering stays as recorded); exact duplicates are dropped. SSRC and payload type are
//    replaced by the caller's (default: a random SSRC, the recorded payload type).
//  - an RTCP compound (SR + SDES CNAME) per track every rtcp_interval_ms of media time once the track
//    has sent: the NTP time is ntp_origin_ms + media time and the RTP time is extrapolated from the
//    least-delayed packet of the current segment, for every track alike, so a receiver can sync audio
//    and video. The recorded RTCP is not replayed (its SSRCs and clocks are the original sender's).
//  - data-channel messages with their due times (include_data).
// Seeking (seek_ms from the session's first row): each selected video track starts at its nearest
// keyframe at or before the seek point (its first keyframe when there is none before), audio and data
// at the earliest of those keyframes, which is also where due time 0 is.
//
// open() reads the session once to learn its tracks, payload types and keyframe positions; the replay
// then reads it again, one chunk at a time. No threads; one thread at a time uses a Replayer.
// Bad or damaged input never crashes: damaged chunks lose their damaged rows (see problems()).
#pragma once

#include <roomrec/chunk_types.h>
#include <roomrec/export.h>
#include <roomrec/recording_source.h>
#include <roomrec/srtp.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec {

// How one track goes out. Fields left unset keep their defaults.
struct ReplayTrackMapping {
  std::optional<uint32_t> ssrc;             // default: random, distinct per track
  std::optional<uint8_t> payload_type;      // default: the recorded one (0..127)
  std::optional<uint16_t> first_seq;        // default: random
  std::optional<uint32_t> first_timestamp;  // default: random
};

struct ReplayOptions {
  std::string peer;                      // required
  std::optional<uint64_t> session;       // default: the peer's first session in the listing
  // Tracks to replay, by name ("audio_main") or decimal track id; empty: every track.
  std::vector<std::string> tracks;
  bool include_data = true;              // yield data-channel messages
  uint64_t seek_ms = 0;                  // from the session's first row
  double speed = 1.0;                    // > 0: due times divided by it; 0: as fast as possible (due 0)
  bool rtcp = true;                      // regenerate sender reports
  uint32_t rtcp_interval_ms = 1000;      // media time between reports of one track (100..60000)
  std::string cname;                     // SDES CNAME; default "roomrec-{peer}-{session}"
  uint64_t ntp_origin_ms = 0;            // unix ms the media start maps to in SRs; 0: now at open()
  std::map<std::string, ReplayTrackMapping> mapping;  // by track name or decimal id
  std::optional<SrtpKey> srtp;           // protect the output (SRTP and SRTCP)
};

struct ReplayTrack {
  uint32_t id = 0;
  TrackInfo info;              // as recorded (codec, clock rate, channels, fmtp...)
  uint32_t ssrc = 0;           // output SSRC
  uint8_t payload_type = 0;    // output payload type
  uint64_t packets = 0;        // RTP packets stored for it (seen by open())
  uint64_t keyframes = 0;      // video: keyframes found by open()
};

enum class ReplayItemKind : uint8_t { rtp, rtcp, data };

struct ReplayItem {
  ReplayItemKind kind = ReplayItemKind::rtp;
  uint32_t track_id = 0;       // rtp, rtcp
  uint64_t due_ms = 0;         // when to send, from the replay's start instant (0 at speed 0)
  uint64_t media_ms = 0;       // position in the recording, from the replay's start point
  uint64_t recorded_ms = 0;    // unix ms the row was recorded (rtcp: of the media time it describes)
  bool keyframe = false;       // rtp: first packet of a video keyframe
  bool binary = false;         // data
  std::string label;           // data: channel label
  std::vector<uint8_t> bytes;  // rtp/rtcp packet as it goes on the wire; data payload
};

struct ReplayStats {
  uint64_t rtp_packets = 0, rtp_bytes = 0, rtcp_packets = 0, data_messages = 0;
  uint64_t duplicates_dropped = 0;     // same sequence number again
  uint64_t skipped_before_start = 0;   // packets before the seek point / a track's start keyframe
  uint64_t segments = 0;               // discontinuities smoothed (chunk gaps, seq/timestamp jumps)
  uint64_t malformed = 0;              // stored rows that are not valid RTP
  uint64_t protect_failures = 0;       // SRTP protect refused a packet (dropped)
};

class ROOMREC_API Replayer {
 public:
  // The source must outlive the replayer.
  static Result<std::unique_ptr<Replayer>> open(RecordingSource& source, const ReplayOptions& options);
  // Opens the source as RecordingSource::open(uri) does and keeps it.
  static Result<std::unique_ptr<Replayer>> open(std::string_view uri_or_path, const ReplayOptions& options);
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  // Selected tracks in track id order.
  const std::vector<ReplayTrack>& tracks() const;
  const std::string& peer() const;
  uint64_t session() const;
  const std::string& cname() const;
  // Media time from the start point to the session's last row.
  uint64_t duration_ms() const;
  // unix ms of the start point (due time 0).
  uint64_t start_recorded_ms() const;

  // The next item in due order (ties: recorded order); false at the end or on an error (status()).
  bool next(ReplayItem& out);
  Status status() const;

  // Paces the replay on this thread: calls `on_item` for each item when its due time (from the call of
  // run) has come, sleeping in between (at speed 0, at once). Ends at the end (ok), on an error, when
  // on_item returns false or `stop` becomes true (cancelled; a sleep is cut short within 50 ms).
  Status run(const std::function<bool(const ReplayItem&)>& on_item, const std::atomic<bool>* stop = nullptr);

  // An SDP (RFC 8866) describing the tracks for a receiver at `address` (a numeric IPv4/IPv6
  // address or a host name): track i on port first_port + 2i (RTCP on the next port), with rtpmap,
  // fmtp, ssrc/cname and, with SRTP, RTP/SAVP and a=crypto. invalid_argument for a bad address or
  // when the ports do not fit below 65536. Written by the rtp layer's SDP writer (the parser's inverse).
  Result<std::string> sdp(std::string_view address, uint16_t first_port) const;

  const ReplayStats& stats() const;
  // Listing and chunk problems (missing, damaged), as found so far.
  std::vector<std::string> problems() const;

  struct Impl;

 private:
  ROOMREC_HIDDEN explicit Replayer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec
