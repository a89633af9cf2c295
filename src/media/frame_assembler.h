// FrameAssembler: turns one track's recorded RTP packets (in arrival order,
// with arrival times) into codec frames on the room's timeline.
//
// - orders packets by extended sequence number within a reorder window (a
//   packet count and a time span), drops duplicates and padding-only packets;
// - unwraps 16-bit sequence numbers and 32-bit timestamps;
// - groups packets into frames by timestamp and marker bit and depacketizes
//   them; a frame with a hole, or whose first packet is missing, is dropped;
// - after a loss, drops video frames until the next keyframe;
// - maps RTP time to unix ms: the track is anchored at its first frame's
//   arrival time and re-anchored whenever RTP time and arrival time disagree
//   by more than `reanchor_ms` (a stream reset), so a jump never makes an
//   hours-long file. Presentation times never go backwards.
// No threads, no locks.
#pragma once

#include <roomrec/chunk_types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "rtp/depacketizer.h"

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
  uint64_t anchor_ts_ = 0, anchor_ms_ = 0;
  uint64_t last_pts_ = 0;

  bool need_keyframe_;
  bool seen_keyframe_ = false;
  std::deque<AssembledFrame> ready_;
  std::vector<rtp::PayloadView> views_;
  std::vector<std::vector<uint8_t>> spare_;  // payload buffers to reuse (no malloc per packet)
};

}  // namespace roomrec::media
