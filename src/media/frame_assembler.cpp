#include "media/frame_assembler.h"

#include "rtp/rtp_packet.h"
#include <cstdlib>

namespace roomrec::media {

FrameAssembler::FrameAssembler(std::unique_ptr<rtp::Depacketizer> depacketizer, uint32_t clock_rate, TrackKind kind,
                               AssemblerOptions options)
    : depack_(std::move(depacketizer)),
      clock_rate_(clock_rate ? clock_rate : (kind == TrackKind::video ? 90000 : 48000)),
      kind_(kind),
      opt_(options),
      need_keyframe_(kind == TrackKind::video) {}

void FrameAssembler::push(const uint8_t* data, size_t n, uint64_t arrival_ms) {
  stats_.packets++;
  rtp::RtpHeader h;
  if (!rtp::parse_rtp(data, n, h)) {
    stats_.malformed++;
    return;
  }
  // Extended sequence number, relative to the highest seen.
  uint64_t ext;
  if (!have_seq_) {
    ext = (1ull << 32) + h.seq;  // room below for packets that arrive late
    have_seq_ = true;
    highest_ext_seq_ = ext;
    next_ext_seq_ = ext;
    have_next_ = true;
  } else {
    int64_t d = rtp::seq_delta(static_cast<uint16_t>(highest_ext_seq_), h.seq);
    ext = static_cast<uint64_t>(static_cast<int64_t>(highest_ext_seq_) + d);
    if (d > 0)
      highest_ext_seq_ = ext;
    else if (d < 0)
      stats_.reordered++;
  }
  if (ext < next_ext_seq_ || pending_.count(ext)) {
    // Already released or already held: a duplicate (or hopelessly late).
    stats_.duplicates++;
    return;
  }
  if (h.payload_size == 0) {
    // Padding only (bandwidth probing): takes a sequence number, carries nothing.
    stats_.padding_only++;
  }
  Packet p;
  p.ext_seq = ext;
  p.arrival_ms = arrival_ms;
  p.ts = h.timestamp;
  p.marker = h.marker;
  p.payload = take_buffer();
  p.payload.assign(data + h.payload_offset, data + h.payload_offset + h.payload_size);
  if (ext == next_ext_seq_ && pending_.empty()) {
    // In order, nothing waiting: the common case skips the reorder map.
    next_ext_seq_++;
    emit(std::move(p));
    return;
  }
  pending_.emplace(ext, std::move(p));
  release_ready(false);
}

void FrameAssembler::flush() {
  release_ready(true);
  if (!frame_.empty()) finish_frame();
}

bool FrameAssembler::pop(AssembledFrame& out) {
  if (ready_.empty()) return false;
  out = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

void FrameAssembler::release_ready(bool all) {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    if (it->first == next_ext_seq_) {
      Packet p = std::move(it->second);
      pending_.erase(it);
      next_ext_seq_++;
      emit(std::move(p));
      continue;
    }
    // A gap: wait for it to fill unless the window is exhausted.
    uint64_t newest_arrival = pending_.rbegin()->second.arrival_ms;
    bool give_up = all || pending_.size() > opt_.reorder_packets ||
                   newest_arrival > it->second.arrival_ms + opt_.reorder_ms;
    if (!give_up) return;
    stats_.lost += it->first - next_ext_seq_;
    // A frame still being gathered has no marker yet (it would have been
    // finished): its remaining packets, or its marker packet, are in the gap.
    if (!frame_.empty()) frame_broken_ = true;
    if (kind_ == TrackKind::video) need_keyframe_ = true;
    next_ext_seq_ = it->first;
  }
}

void FrameAssembler::emit(Packet&& p) {
  if (!frame_.empty() && p.ts != frame_.back().ts) finish_frame();
  if (p.payload.empty()) {
    // padding-only: nothing to depacketize; it may still end a frame by marker
    if (p.marker && !frame_.empty()) finish_frame();
    if (spare_.size() < 64) spare_.push_back(std::move(p.payload));
    return;
  }
  frame_.push_back(std::move(p));
  if (kind_ == TrackKind::audio || frame_.back().marker) finish_frame();
}

std::vector<uint8_t> FrameAssembler::take_buffer() {
  if (spare_.empty()) return {};
  std::vector<uint8_t> b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void FrameAssembler::recycle(std::vector<Packet>& packets) {
  for (auto& p : packets)
    if (spare_.size() < 64) spare_.push_back(std::move(p.payload));
  packets.clear();
}

void FrameAssembler::drop_frame() {
  recycle(frame_);
  frame_broken_ = false;
}

void FrameAssembler::sender_report(uint32_t rtp_ts, uint64_t wall_ms) {
  if (anchored_) return;  // it only places the start
  sr_pending_ = true;
  sr_rtp_ = rtp_ts;
  sr_wall_ = wall_ms;
}

uint64_t FrameAssembler::timeline_ms(uint64_t ext_ts, uint64_t arrival_ms) {
  auto to_ms = [&](uint64_t ts) -> int64_t {
    return static_cast<int64_t>(anchor_ms_) +
           (static_cast<int64_t>(ts) - static_cast<int64_t>(anchor_ts_)) * 1000 / static_cast<int64_t>(clock_rate_);
  };
  if (!anchored_) {
    anchored_ = true;
    anchor_ts_ = ext_ts;
    anchor_ms_ = arrival_ms;
    if (sr_pending_) {
      sr_pending_ = false;
      const uint64_t sr_ts =
          static_cast<uint64_t>(static_cast<int64_t>(ext_ts) + static_cast<int32_t>(sr_rtp_ - last_ts_));
      const int64_t at = static_cast<int64_t>(sr_wall_) +
                         (static_cast<int64_t>(ext_ts) - static_cast<int64_t>(sr_ts)) * 1000 /
                             static_cast<int64_t>(clock_rate_);
      if (at >= 0 && std::llabs(at - static_cast<int64_t>(arrival_ms)) <= 1000) {
        anchor_ts_ = sr_ts;
        anchor_ms_ = sr_wall_;
        stats_.sender_report_anchor = true;
      }
    }
  }
  int64_t pts = to_ms(ext_ts);
  int64_t diff = pts - static_cast<int64_t>(arrival_ms);
  if (diff > static_cast<int64_t>(opt_.reanchor_ms) || diff < -static_cast<int64_t>(opt_.reanchor_ms)) {
    // The sender's clock jumped (or reset): trust arrival time from here on.
    stats_.reanchors++;
    anchor_ts_ = ext_ts;
    anchor_ms_ = arrival_ms;
    pts = static_cast<int64_t>(arrival_ms);
  }
  uint64_t out = pts < 0 ? 0 : static_cast<uint64_t>(pts);
  // Strictly increasing: muxers and players refuse repeated timestamps.
  if (emitted_any_ && out <= last_pts_) out = last_pts_ + 1;
  emitted_any_ = true;
  last_pts_ = out;
  return out;
}

void FrameAssembler::finish_frame() {
  if (frame_.empty()) return;
  // Extended RTP timestamp.
  uint32_t ts = frame_.front().ts;
  if (!have_ts_) {
    have_ts_ = true;
    ext_ts_ = (1ull << 32) + ts;
  } else {
    int64_t d = static_cast<int32_t>(ts - last_ts_);
    ext_ts_ = static_cast<uint64_t>(static_cast<int64_t>(ext_ts_) + d);
  }
  last_ts_ = ts;

  bool complete = !frame_broken_ && depack_->starts_frame({frame_.front().payload.data(), frame_.front().payload.size()});
  if (!complete) {
    stats_.frames_incomplete++;
    if (kind_ == TrackKind::video) need_keyframe_ = true;
    drop_frame();
    return;
  }
  views_.clear();
  for (auto& p : frame_) views_.push_back({p.payload.data(), p.payload.size()});
  AssembledFrame out;
  if (!depack_->depacketize(views_.data(), views_.size(), out.frame)) {
    stats_.frames_invalid++;
    if (kind_ == TrackKind::video) need_keyframe_ = true;
    drop_frame();
    return;
  }
  if (need_keyframe_ && !out.frame.keyframe) {
    stats_.frames_before_keyframe++;
    drop_frame();
    return;
  }
  if (out.frame.keyframe) {
    need_keyframe_ = false;
    seen_keyframe_ = true;
  }
  out.arrival_ms = frame_.back().arrival_ms;
  out.rtp_ts = ext_ts_;
  out.pts_ms = timeline_ms(ext_ts_, frame_.front().arrival_ms);
  stats_.frames++;
  ready_.push_back(std::move(out));
  drop_frame();
}

}  // namespace roomrec::media
