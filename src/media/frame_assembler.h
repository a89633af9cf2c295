// FrameAssembler: turns one track's recorded RTP packets (in arrival order,
// with arrival times) into codec frames on the room's timeline.
//
// - orders packets by extended sequence number within a reorder window (a
//   packet count and a time span), drops duplicates and padding-only packets;
// - unwraps 16-bit sequence numbers and 32-bit timestamps;
// - groups packets into frames by timestamp and marker bit and depacketizes
//   them; a frame with a hole, or whose first packet is missing, is dropped;
// - after a loss, drops video frames until the next keyframe;
// - maps RTP time to unix ms. With RTCP sender reports (sender_report()), the
//   sender's own clock pairs place every track of a session on one timeline,
//   so audio and video stay in sync whatever the network did to their first
//   packets; without one, the track is anchored at its first frame's arrival.
//   Either way it is re-anchored whenever RTP time and arrival time disagree
//   by more than `reanchor_ms` (a stream reset), so a jump never makes an
//   hours-long file. Presentation times always increase.
// No threads, no locks.
#pragma once

#include <roomrec/chunk_types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "rtp/depacketizer.h"
#include "rtp/rtp_packet.h"

namespace roomrec::media {

struct AssembledFrame {
  rtp::DepacketizedFrame frame;
  uint64_t pts_ms = 0;       // unix ms on the room timeline
  uint64_t arrival_ms = 0;   // arrival of the frame's last packet
  uint64_t rtp_ts = 0;       // extended RTP timestamp
};

struct AssemblerStats {
  uint64_t packets = 0;            // packets pushed
  uint64_t malformed = 0;          // not parseable as RTP
  uint64_t padding_only = 0;
  uint64_t duplicates = 0;
  uint64_t reordered = 0;          // arrived after a later sequence number
  uint64_t lost = 0;               // sequence numbers never seen
  uint64_t frames = 0;             // frames output
  uint64_t frames_incomplete = 0;  // dropped: a hole or a missing start
  uint64_t frames_invalid = 0;     // dropped: the depacketizer refused the payloads
  uint64_t frames_before_keyframe = 0;  // video frames dropped waiting for a keyframe
  uint64_t reanchors = 0;          // timestamp jumps re-anchored to arrival time
  bool sender_report_anchor = false;  // the track was placed by an RTCP sender report
};

struct AssemblerOptions {
  size_t reorder_packets = 512;    // at most this many packets held waiting for a gap to fill
  uint64_t reorder_ms = 1000;      // ... or for this long (arrival time)
  uint64_t reanchor_ms = 5000;     // RTP vs arrival disagreement that counts as a jump
};

class FrameAssembler {
 public:
  FrameAssembler(std::unique_ptr<rtp::Depacketizer> depacketizer, uint32_t clock_rate, TrackKind kind,
                 AssemblerOptions options = {});

  void push(const uint8_t* packet, size_t n, uint64_t arrival_ms);
  // An RTCP sender report for this track's stream, given before its first
  // frame: RTP time rtp_ts is wall_ms on the room timeline (the report's NTP
  // time moved onto the recorder's clock by the caller, with one offset per
  // session). The first frame is placed by it unless that disagrees with its
  // arrival by more than a second (a report from another stream's epoch).
  void sender_report(uint32_t rtp_ts, uint64_t wall_ms);
  // End of the track: releases what the reorder window holds.
  void flush();
  // The next finished frame, in order.
  bool pop(AssembledFrame& out);

  const AssemblerStats& stats() const { return stats_; }
  rtp::Depacketizer& depacketizer() { return *depack_; }
  bool seen_keyframe() const { return seen_keyframe_; }

 private:
  struct Packet {
    uint64_t ext_seq = 0;
    uint64_t arrival_ms = 0;
    uint32_t ts = 0;
    bool marker = false;
    std::vector<uint8_t> payload;
  };

  void release_ready(bool all);
  std::vector<uint8_t> take_buffer();
  void recycle(std::vector<Packet>& packets);
  void emit(Packet&& p);
  void finish_frame();
  void drop_frame();
  uint64_t timeline_ms(uint64_t ext_ts, uint64_t arrival_ms);

  std::unique_ptr<rtp::Depacketizer> depack_;
  uint32_t clock_rate_;
  TrackKind kind_;
  AssemblerOptions opt_;
  AssemblerStats stats_;

  // sequence state
  bool have_seq_ = false;
  uint64_t highest_ext_seq_ = 0;
  bool have_next_ = false;
  uint64_t next_ext_seq_ = 0;  // the next sequence number to release
  std::map<uint64_t, Packet> pending_;

  // frame being gathered
  std::vector<Packet> frame_;
  bool frame_broken_ = false;

  // timestamp state
  bool have_ts_ = false;
  uint32_t last_ts_ = 0;
  uint64_t ext_ts_ = 0;
  bool anchored_ = false;
  bool sr_pending_ = false;        // a report to place the first frame
  uint32_t sr_rtp_ = 0;
  uint64_t sr_wall_ = 0;
  uint64_t anchor_ts_ = 0, anchor_ms_ = 0;
  uint64_t last_pts_ = 0;
  bool emitted_any_ = false;

  bool need_keyframe_;
  bool seen_keyframe_ = false;
  std::deque<AssembledFrame> ready_;
  std::vector<rtp::PayloadView> views_;
  std::vector<std::vector<uint8_t>> spare_;  // payload buffers to reuse (no malloc per packet)
};

// The SSRC of an RTP packet (0 when too short to have one).
inline uint32_t rtp_ssrc(const uint8_t* p, size_t n) {
  return n >= 12 ? (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11] : 0;
}

}  // namespace roomrec::media
