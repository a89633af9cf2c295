// Replayer: a recorded peer session back out as live RTP (see include/roomrec/replayer.h).
#include <roomrec/replayer.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <random>
#include <set>
#include <thread>

#include "read/session_reader.h"
#include "rtp/depacketizer.h"
#include "rtp/rtcp_writer.h"
#include "rtp/sdp.h"
#include "rtp/rtp_packet.h"
#include "util/text.h"

namespace roomrec {

namespace {

constexpr int64_t kSeqJump = 3000;       // sequence jump that starts a new segment
constexpr int64_t kClockSkewMs = 3000;   // RTP clock vs recorded clock disagreement that does
constexpr size_t kDupWindow = 512;       // recent output sequence numbers remembered per track
constexpr size_t kOpenFrames = 4;        // frames gathered at once per video track while scanning

uint64_t now_unix_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Where a video track's keyframe starts: the frame's RTP timestamp, the arrival of its first packet
// to arrive, and its lowest sequence number.
struct KeyPos {
  uint64_t recorded_ms = 0;
  uint32_t rtp_ts = 0;
  uint16_t seq = 0;
};

// Groups one video track's packets into frames (by timestamp, a few frames open at once so reordering
// does not split one) and tells which frames are keyframes.
class KeyframeScanner {
 public:
  KeyframeScanner(std::string_view codec, std::string_view fmtp) : depack_(rtp::make_depacketizer(codec, fmtp)) {}
  bool usable() const { return depack_ != nullptr; }

  void push(const uint8_t* p, const rtp::RtpHeader& h, uint64_t recorded_ms) {
    if (!depack_) return;
    Frame* f = nullptr;
    for (auto& o : open_)
      if (o.ts == h.timestamp) f = &o;
    if (!f) {
      if (open_.size() >= kOpenFrames) {
        finish(open_.front());
        open_.pop_front();
      }
      open_.push_back(Frame{h.timestamp, recorded_ms, {}});
      f = &open_.back();
    }
    f->packets.emplace_back(h.seq, std::vector<uint8_t>(p + h.payload_offset, p + h.payload_offset + h.payload_size));
  }
  void flush() {
    for (auto& f : open_) finish(f);
    open_.clear();
  }
  std::vector<KeyPos>& keyframes() { return keys_; }

 private:
  struct Frame {
    uint32_t ts;
    uint64_t first_ms;
    std::vector<std::pair<uint16_t, std::vector<uint8_t>>> packets;
  };
  void finish(Frame& f) {
    if (f.packets.empty()) return;
    uint16_t base = f.packets.front().first;
    std::stable_sort(f.packets.begin(), f.packets.end(), [base](const auto& a, const auto& b) {
      return rtp::seq_delta(base, a.first) < rtp::seq_delta(base, b.first);
    });
    // Duplicates would make a hole-free frame look broken.
    f.packets.erase(std::unique(f.packets.begin(), f.packets.end(),
                                [](const auto& a, const auto& b) { return a.first == b.first; }),
                    f.packets.end());
    views_.clear();
    for (auto& [seq, payload] : f.packets) views_.push_back({payload.data(), payload.size()});
    if (depack_->depacketize(views_.data(), views_.size(), frame_) && frame_.keyframe)
      keys_.push_back({f.first_ms, f.ts, f.packets.front().first});
  }

  std::unique_ptr<rtp::Depacketizer> depack_;
  std::deque<Frame> open_;
  std::vector<rtp::PayloadView> views_;
  rtp::DepacketizedFrame frame_;
  std::vector<KeyPos> keys_;
};

// The rtpmap encoding name a receiver expects.
std::string encoding_name(const TrackInfo& t) {
  std::string c = util::ascii_lowercase(t.codec);
  if (c == "opus") return "opus";
  if (c == "vp8") return "VP8";
  if (c == "vp9") return "VP9";
  if (c == "h264") return "H264";
  if (c == "av1" || c == "av1x") return "AV1";
  if (c == "red") return "red";
  if (c == "pcmu") return "PCMU";
  if (c == "pcma") return "PCMA";
  if (c == "g722") return "G722";
  std::string out;
  for (char ch : t.codec) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out.empty() ? "unknown" : out;
}

// SDP text must not carry line breaks from recorded strings.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

}  // namespace

struct ROOMREC_HIDDEN Replayer::Impl {
  std::unique_ptr<RecordingSource> owned;
  RecordingSource* src = nullptr;
  ReplayOptions opt;
  RoomListing listing;
  size_t session_index = 0;
  std::vector<ReplayTrack> tracks;
  std::string cname;
  uint64_t first_ms = 0, last_ms = 0;  // session's first and last row
  uint64_t origin_ms = 0;              // due time 0
  std::vector<uint64_t> gap_starts;    // from_ts of chunks following a missing index, ascending
  size_t next_gap = 0;
  std::unique_ptr<SrtpSession> srtp;

  struct Stream {
    size_t track = 0;  // index into tracks
    uint32_t clock = 90000;
    bool video = false;
    std::optional<KeyPos> start;  // video: the keyframe it starts at
    std::set<std::pair<uint32_t, uint16_t>> keys;  // video: (timestamp, first seq) of every keyframe
    bool started = false;
    bool guard = false;  // drop packets older than guard_seq until the first discontinuity
    uint16_t guard_seq = 0;
    uint16_t first_seq = 0;
    uint32_t first_ts = 0;
    // rewriting: out = in + offset
    bool have_last = false;
    bool discontinuity = false;
    uint16_t seq_off = 0;
    uint32_t ts_off = 0;
    uint16_t last_in_seq = 0;
    uint32_t last_in_ts = 0;
    uint64_t last_rec_ms = 0;
    uint16_t max_out_seq = 0;
    uint32_t last_out_ts = 0;
    int64_t out_ts_ext = 0;
    // duplicates
    std::bitset<65536> seen;
    std::array<uint16_t, kDupWindow> ring{};
    size_t ring_n = 0, ring_pos = 0;
    // sender reports
    bool active = false;
    int64_t min_offset = std::numeric_limits<int64_t>::max();  // media ticks - out ticks, least delayed packet
    uint64_t packets = 0, octets = 0;
    uint64_t next_sr_media_ms = 0;
    bool sr_scheduled = false;
  };
  std::vector<Stream> streams;
  std::map<uint32_t, size_t> stream_of;  // track id -> index into streams

  std::unique_ptr<SessionReader> reader;
  uint64_t seen_failures = 0;
  std::deque<ReplayItem> pending;
  Status status;
  bool done = false;
  ReplayStats stats;

  const SessionRef& session() const { return listing.sessions[session_index]; }

  uint64_t media_ms(uint64_t recorded) const { return recorded > origin_ms ? recorded - origin_ms : 0; }
  uint64_t due_ms(uint64_t media) const {
    if (opt.speed <= 0) return 0;
    return static_cast<uint64_t>(std::llround(static_cast<double>(media) / opt.speed));
  }

  Status select_session() {
    const SessionRef* found = nullptr;
    for (size_t i = 0; i < listing.sessions.size(); ++i) {
      const auto& s = listing.sessions[i];
      if (s.peer != opt.peer) continue;
      if (opt.session && s.session != *opt.session) continue;
      found = &s;
      session_index = i;
      break;
    }
    if (!found)
      return Status::error(ErrorCode::not_found,
                           "no session " + (opt.session ? std::to_string(*opt.session) + " " : std::string()) +
                               "of peer \"" + opt.peer + "\" in " + src->describe());
    if (found->chunks.empty())
      return Status::error(ErrorCode::not_found, "session " + opt.peer + "/" + std::to_string(found->session) +
                                                     " has no readable chunk");
    std::set<uint32_t> present;
    for (auto& c : found->chunks) present.insert(c.key.index);
    for (auto& c : found->chunks)
      if (c.key.index > 0 && !present.count(c.key.index - 1)) gap_starts.push_back(c.key.from_ts);
    std::sort(gap_starts.begin(), gap_starts.end());
    return Status::ok();
  }

  bool selected(uint32_t id, const TrackInfo& info) const {
    if (opt.tracks.empty()) return true;
    for (auto& t : opt.tracks)
      if (t == info.name || t == std::to_string(id)) return true;
    return false;
  }

  const ReplayTrackMapping* mapping_for(const ReplayTrack& t) const {
    auto it = opt.mapping.find(t.info.name);
    if (it == opt.mapping.end()) it = opt.mapping.find(std::to_string(t.id));
    return it == opt.mapping.end() ? nullptr : &it->second;
  }

  // First pass: tracks, payload types, keyframes, the session's time span.
  Status scan() {
    SessionReader r(*src, session());
    struct Seen {
      uint64_t packets = 0;
      int pt = -1;
      std::unique_ptr<KeyframeScanner> keys;
    };
    std::map<uint32_t, Seen> seen;
    Row row;
    bool any = false;
    while (r.next(row)) {
      if (!any) first_ms = row.ts;
      any = true;
      first_ms = std::min(first_ms, row.ts);
      last_ms = std::max(last_ms, row.ts);
      if (row.kind != RowKind::rtp) continue;
      const TrackInfo* info = r.track(row.track_id);
      if (!info) continue;
      rtp::RtpHeader h;
      if (!rtp::parse_rtp(row.payload.data(), row.payload.size(), h)) continue;
      Seen& s = seen[row.track_id];
      if (s.pt < 0) s.pt = h.payload_type;
      s.packets++;
      if (info->kind == TrackKind::video) {
        if (!s.keys) s.keys = std::make_unique<KeyframeScanner>(util::ascii_lowercase(info->codec), info->fmtp);
        s.keys->push(row.payload.data(), h, row.ts);
      }
    }
    if (!any) return Status::error(ErrorCode::not_found, "session " + r.name() + " has no readable row");

    // Named tracks must exist.
    for (auto& want : opt.tracks) {
      bool ok = false;
      for (auto& [id, info] : r.tracks()) ok = ok || want == info.name || want == std::to_string(id);
      if (!ok) return Status::error(ErrorCode::not_found, "session " + r.name() + " has no track \"" + want + "\"");
    }
    std::map<uint32_t, std::vector<KeyPos>> keyframes;
    for (auto& [id, info] : r.tracks()) {
      if (!selected(id, info)) continue;
      auto it = seen.find(id);
      if (it == seen.end() || it->second.packets == 0) continue;  // nothing to send
      ReplayTrack t;
      t.id = id;
      t.info = info;
      t.packets = it->second.packets;
      t.payload_type = static_cast<uint8_t>(it->second.pt);
      if (it->second.keys) {
        it->second.keys->flush();
        keyframes[id] = std::move(it->second.keys->keyframes());
        t.keyframes = keyframes[id].size();
      }
      tracks.push_back(std::move(t));
    }
    if (tracks.empty()) return Status::error(ErrorCode::not_found, "session " + r.name() + " has no RTP to replay");

    // Output identities.
    std::random_device rd;
    std::mt19937 rng(rd());
    std::set<uint32_t> used_ssrc;
    for (auto& t : tracks)
      if (const auto* m = mapping_for(t); m && m->ssrc) used_ssrc.insert(*m->ssrc);
    streams.resize(tracks.size());
    for (size_t i = 0; i < tracks.size(); ++i) {
      ReplayTrack& t = tracks[i];
      const ReplayTrackMapping* m = mapping_for(t);
      if (m && m->payload_type) {
        if (*m->payload_type > 127)
          return Status::error(ErrorCode::invalid_argument, "payload type of track " + t.info.name + " above 127");
        t.payload_type = *m->payload_type;
      }
      if (m && m->ssrc) {
        t.ssrc = *m->ssrc;
      } else {
        do t.ssrc = static_cast<uint32_t>(rng());
        while (t.ssrc == 0 || used_ssrc.count(t.ssrc));
        used_ssrc.insert(t.ssrc);
      }
      Stream& s = streams[i];
      s.track = i;
      s.clock = t.info.clock_rate ? t.info.clock_rate : (t.info.kind == TrackKind::video ? 90000 : 48000);
      s.video = t.info.kind == TrackKind::video;
      s.first_seq = m && m->first_seq ? *m->first_seq : static_cast<uint16_t>(rng());
      s.first_ts = m && m->first_timestamp ? *m->first_timestamp : static_cast<uint32_t>(rng());
      stream_of[t.id] = i;
    }
    {
      std::set<uint32_t> distinct;
      for (auto& t : tracks) distinct.insert(t.ssrc);
      if (distinct.size() != tracks.size())
        return Status::error(ErrorCode::invalid_argument, "two tracks are mapped to the same SSRC");
    }

    // The start point.
    uint64_t span = last_ms - first_ms;
    if (opt.seek_ms > span)
      return Status::error(ErrorCode::invalid_argument, "seek to " + std::to_string(opt.seek_ms) +
                                                            " ms is past the end of the session (" +
                                                            std::to_string(span) + " ms)");
    uint64_t target = first_ms + opt.seek_ms;
    origin_ms = target;
    for (size_t i = 0; i < tracks.size(); ++i) {
      auto it = keyframes.find(tracks[i].id);
      if (it == keyframes.end() || it->second.empty()) continue;
      const auto& keys = it->second;
      for (auto& k : keys) streams[i].keys.insert({k.rtp_ts, k.seq});
      const KeyPos* best = nullptr;
      for (auto& k : keys)
        if (k.recorded_ms <= target && (!best || k.recorded_ms >= best->recorded_ms)) best = &k;
      if (!best)
        for (auto& k : keys)
          if (!best || k.recorded_ms < best->recorded_ms) best = &k;
      streams[i].start = *best;
      origin_ms = std::min(origin_ms, best->recorded_ms);
    }
    return Status::ok();
  }

  Status init() {
    if (opt.peer.empty()) return Status::error(ErrorCode::invalid_argument, "no peer given");
    if (!(opt.speed >= 0) || std::isinf(opt.speed) || opt.speed > 1000)
      return Status::error(ErrorCode::invalid_argument, "speed must be 0 (as fast as possible) or in (0, 1000]");
    if (opt.rtcp_interval_ms < 100 || opt.rtcp_interval_ms > 60000)
      return Status::error(ErrorCode::invalid_argument, "rtcp_interval_ms must be 100..60000");
    if (opt.cname.size() > 255) return Status::error(ErrorCode::invalid_argument, "cname longer than 255 bytes");
    auto l = src->list();
    if (!l) return l.status();
    listing = std::move(l.value());
    if (Status s = select_session(); !s) return s;
    if (Status s = scan(); !s) return s;
    cname = opt.cname.empty() ? "roomrec-" + opt.peer + "-" + std::to_string(session().session) : opt.cname;
    if (cname.size() > 255) cname.resize(255);
    if (opt.ntp_origin_ms == 0) opt.ntp_origin_ms = now_unix_ms();
    if (opt.srtp) {
      auto s = SrtpSession::create(*opt.srtp, SrtpSession::Direction::protect);
      if (!s) return s.status().with_context("srtp");
      srtp = std::move(s.value());
    }
    reader = std::make_unique<SessionReader>(*src, session());
    seen_failures = failures();
    return Status::ok();
  }

  uint64_t failures() const {
    const auto& st = reader->stats();
    return st.chunks_failed + st.chunks_damaged + st.bad_regions;
  }

  void mark_discontinuity() {
    for (auto& s : streams) s.discontinuity = true;
  }

  // Sender reports due at or before media time `m`, for every active track.
  void emit_reports_until(uint64_t m) {
    if (!opt.rtcp) return;
    const uint64_t iv = opt.rtcp_interval_ms;
    for (;;) {
      Stream* best = nullptr;
      for (auto& s : streams)
        if (s.active && s.sr_scheduled && s.next_sr_media_ms <= m &&
            (!best || s.next_sr_media_ms < best->next_sr_media_ms))
          best = &s;
      if (!best) return;
      // A long silence: only the latest report of the run is worth sending.
      if (m - best->next_sr_media_ms > 5 * iv) best->next_sr_media_ms = m - (m - best->next_sr_media_ms) % iv;
      emit_report(*best, best->next_sr_media_ms);
      best->next_sr_media_ms += iv;
    }
  }

  void emit_report(Stream& s, uint64_t media) {
    const ReplayTrack& t = tracks[s.track];
    ReplayItem it;
    it.kind = ReplayItemKind::rtcp;
    it.track_id = t.id;
    it.media_ms = media;
    it.due_ms = due_ms(media);
    it.recorded_ms = origin_ms + media;
    // RTP time of this media instant on the track's clock, from its least-delayed packet.
    int64_t media_ticks = static_cast<int64_t>(media * static_cast<uint64_t>(s.clock) / 1000);
    uint32_t rtp_now = static_cast<uint32_t>(static_cast<uint64_t>(media_ticks - s.min_offset));
    // SR + SDES(CNAME), written by the rtp layer beside its parser.
    rtp::SenderInfo info;
    info.ssrc = t.ssrc;
    info.ntp_unix_ms = opt.ntp_origin_ms + media;
    info.rtp_ts = rtp_now;
    info.packets = static_cast<uint32_t>(s.packets);
    info.octets = static_cast<uint32_t>(s.octets);
    size_t n = rtp::sr_sdes_size(cname.size());
    size_t overhead = srtp ? srtp->rtcp_overhead() : 0;
    it.bytes.assign(n + overhead, 0);
    uint8_t* p = it.bytes.data();
    if (n == 0 || rtp::write_sr_sdes(info, cname, p, it.bytes.size()) != n) return;
    if (srtp) {
      Status st = srtp->protect_rtcp(p, n, it.bytes.size());
      if (!st) {
        stats.protect_failures++;
        return;
      }
    }
    it.bytes.resize(n);
    stats.rtcp_packets++;
    pending.push_back(std::move(it));
  }

  void remember(Stream& s, uint16_t seq) {
    if (s.ring_n == kDupWindow) s.seen.reset(s.ring[s.ring_pos]);
    else s.ring_n++;
    s.ring[s.ring_pos] = seq;
    s.ring_pos = (s.ring_pos + 1) % kDupWindow;
    s.seen.set(seq);
  }

  void on_rtp(const Row& row) {
    auto si = stream_of.find(row.track_id);
    if (si == stream_of.end()) return;
    Stream& s = streams[si->second];
    const ReplayTrack& t = tracks[s.track];
    rtp::RtpHeader h;
    if (!rtp::parse_rtp(row.payload.data(), row.payload.size(), h)) {
      stats.malformed++;
      return;
    }
    if (!s.started) {
      bool go;
      if (s.start) go = row.ts >= s.start->recorded_ms && h.timestamp == s.start->rtp_ts;
      else go = row.ts >= origin_ms;
      if (!go) {
        stats.skipped_before_start++;
        return;
      }
      s.started = true;
      if (s.start) {
        s.guard = true;
        s.guard_seq = s.start->seq;
      }
    }
    if (s.guard) {
      if (rtp::seq_delta(s.guard_seq, h.seq) < 0) {  // older than the start keyframe
        stats.skipped_before_start++;
        return;
      }
    }
    const bool keyframe = s.keys.count({h.timestamp, h.seq}) > 0;
    if (!s.have_last) {
      s.seq_off = static_cast<uint16_t>(s.first_seq - h.seq);
      s.ts_off = s.first_ts - h.timestamp;
      s.max_out_seq = static_cast<uint16_t>(s.first_seq - 1);
      s.last_out_ts = s.first_ts;
      s.out_ts_ext = s.first_ts;  // extended form of the output timestamps
      s.have_last = true;
      s.discontinuity = false;
    } else {
      int64_t d_seq = rtp::seq_delta(s.last_in_seq, h.seq);
      int64_t d_ts_ms = static_cast<int64_t>(static_cast<int32_t>(h.timestamp - s.last_in_ts)) * 1000 / s.clock;
      int64_t d_rec = static_cast<int64_t>(row.ts) - static_cast<int64_t>(s.last_rec_ms);
      if (s.discontinuity || std::llabs(d_seq) > kSeqJump || std::llabs(d_ts_ms - d_rec) > kClockSkewMs) {
        uint16_t out_seq = static_cast<uint16_t>(s.max_out_seq + 1);
        uint64_t ticks = static_cast<uint64_t>(std::max<int64_t>(d_rec, 0)) * s.clock / 1000;
        uint32_t out_ts = s.last_out_ts + static_cast<uint32_t>(std::max<uint64_t>(ticks, 1));
        s.seq_off = static_cast<uint16_t>(out_seq - h.seq);
        s.ts_off = out_ts - h.timestamp;
        s.min_offset = std::numeric_limits<int64_t>::max();  // a new segment: a new clock relation
        s.guard = false;
        s.discontinuity = false;
        stats.segments++;
      }
    }
    uint16_t out_seq = static_cast<uint16_t>(h.seq + s.seq_off);
    uint32_t out_ts = h.timestamp + s.ts_off;
    if (s.seen.test(out_seq)) {
      stats.duplicates_dropped++;
      return;
    }
    remember(s, out_seq);
    s.last_in_seq = h.seq;
    s.last_in_ts = h.timestamp;
    s.last_rec_ms = row.ts;
    if (rtp::seq_newer(out_seq, s.max_out_seq)) s.max_out_seq = out_seq;
    s.out_ts_ext += static_cast<int32_t>(out_ts - s.last_out_ts);
    s.last_out_ts = out_ts;

    uint64_t media = media_ms(row.ts);
    emit_reports_until(media);  // reports due before this packet go out first
    int64_t offset = static_cast<int64_t>(media * static_cast<uint64_t>(s.clock) / 1000) - s.out_ts_ext;
    s.min_offset = std::min(s.min_offset, offset);

    ReplayItem it;
    it.kind = ReplayItemKind::rtp;
    it.track_id = t.id;
    it.media_ms = media;
    it.due_ms = due_ms(media);
    it.recorded_ms = row.ts;
    it.keyframe = keyframe;
    size_t overhead = srtp ? srtp->rtp_overhead() : 0;
    it.bytes.resize(row.payload.size() + overhead);
    std::memcpy(it.bytes.data(), row.payload.data(), row.payload.size());
    uint8_t* p = it.bytes.data();
    p[1] = static_cast<uint8_t>((p[1] & 0x80) | (t.payload_type & 0x7F));
    put16(p + 2, out_seq);
    put32(p + 4, out_ts);
    put32(p + 8, t.ssrc);
    size_t n = row.payload.size();
    if (srtp) {
      Status st = srtp->protect_rtp(p, n, it.bytes.size());
      if (!st) {
        stats.protect_failures++;
        return;
      }
    }
    it.bytes.resize(n);
    s.packets++;
    s.octets += h.payload_size;
    stats.rtp_packets++;
    stats.rtp_bytes += n;
    pending.push_back(std::move(it));
    if (!s.active) {
      s.active = true;
      if (!s.sr_scheduled) {  // the first report right after the first packet, then every interval
        s.sr_scheduled = true;
        s.next_sr_media_ms = media;
        emit_reports_until(media);
      }
    }
  }

  // Reads rows until something is pending or the session ends.
  void fill() {
    Row row;
    while (pending.empty() && !done) {
      if (!reader->next(row)) {
        done = true;
        return;
      }
      if (uint64_t f = failures(); f != seen_failures) {  // a chunk could not be read, or lost rows
        seen_failures = f;
        mark_discontinuity();
      }
      while (next_gap < gap_starts.size() && row.ts >= gap_starts[next_gap]) {  // past a missing chunk
        mark_discontinuity();
        next_gap++;
      }
      if (row.ts < origin_ms && row.kind != RowKind::rtp) continue;
      switch (row.kind) {
        case RowKind::rtp:
          on_rtp(row);
          break;
        case RowKind::data: {
          if (!opt.include_data) break;
          uint64_t media = media_ms(row.ts);
          emit_reports_until(media);
          ReplayItem it;
          it.kind = ReplayItemKind::data;
          it.media_ms = media;
          it.due_ms = due_ms(media);
          it.recorded_ms = row.ts;
          it.binary = row.binary;
          it.label = row.label;
          it.bytes = row.payload;
          stats.data_messages++;
          pending.push_back(std::move(it));
          break;
        }
        case RowKind::track_stopped: {
          auto si = stream_of.find(row.track_id);
          if (si != stream_of.end()) streams[si->second].active = false;
          break;
        }
        case RowKind::leave:
          for (auto& s : streams) s.active = false;
          break;
        default:
          break;
      }
    }
  }
};

Replayer::Replayer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replayer::~Replayer() = default;

Result<std::unique_ptr<Replayer>> Replayer::open(RecordingSource& source, const ReplayOptions& options) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->src = &source;
    impl->opt = options;
    if (Status s = impl->init(); !s) return s;
    return std::unique_ptr<Replayer>(new Replayer(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return Status::error(ErrorCode::resource_exhausted, "out of memory opening the replay");
  }
}

Result<std::unique_ptr<Replayer>> Replayer::open(std::string_view uri_or_path, const ReplayOptions& options) {
  auto src = RecordingSource::open(uri_or_path);
  if (!src) return src.status();
  std::unique_ptr<RecordingSource> owned = std::move(src.value());
  auto r = open(*owned, options);
  if (!r) return r.status();
  r.value()->impl_->owned = std::move(owned);
  return r;
}

const std::vector<ReplayTrack>& Replayer::tracks() const { return impl_->tracks; }
const std::string& Replayer::peer() const { return impl_->session().peer; }
uint64_t Replayer::session() const { return impl_->session().session; }
const std::string& Replayer::cname() const { return impl_->cname; }
uint64_t Replayer::duration_ms() const { return impl_->last_ms - impl_->origin_ms; }
uint64_t Replayer::start_recorded_ms() const { return impl_->origin_ms; }
const ReplayStats& Replayer::stats() const { return impl_->stats; }
Status Replayer::status() const { return impl_->status; }

std::vector<std::string> Replayer::problems() const {
  std::vector<std::string> out = impl_->listing.problems;
  if (impl_->reader)
    for (auto& p : impl_->reader->problems()) out.push_back(p);
  return out;
}

bool Replayer::next(ReplayItem& out) {
  Impl& m = *impl_;
  if (!m.status) return false;
  try {
    m.fill();
  } catch (const std::bad_alloc&) {
    m.status = Status::error(ErrorCode::resource_exhausted, "out of memory during the replay");
    return false;
  }
  if (m.pending.empty()) return false;
  out = std::move(m.pending.front());
  m.pending.pop_front();
  return true;
}

Status Replayer::run(const std::function<bool(const ReplayItem&)>& on_item, const std::atomic<bool>* stop) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  ReplayItem it;
  while (next(it)) {
    if (stop && stop->load()) return Status::error(ErrorCode::cancelled, "replay stopped");
    const auto due = start + std::chrono::milliseconds(it.due_ms);
    for (;;) {
      auto now = clock::now();
      if (now >= due) break;
      if (stop && stop->load()) return Status::error(ErrorCode::cancelled, "replay stopped");
      std::this_thread::sleep_for(std::min<clock::duration>(due - now, std::chrono::milliseconds(50)));
    }
    if (!on_item(it)) return Status::error(ErrorCode::cancelled, "replay stopped by its callback");
  }
  return status();
}

Result<std::string> Replayer::sdp(std::string_view address, uint16_t first_port) const {
  const Impl& m = *impl_;
  if (first_port == 0 || 2u * m.tracks.size() + first_port > 65536u)
    return Status::error(ErrorCode::invalid_argument, "first_port leaves no room for the tracks' RTP and RTCP ports");
  sdp::Description d;
  const std::string addr(address);
  d.origin_session_id = std::to_string(m.origin_ms);
  d.origin_address = addr;
  d.session_name = sdp::one_line("roomrec replay " + peer() + "/" + std::to_string(session()));
  sdp::Connection c;
  c.ipv6 = addr.find(':') != std::string::npos;
  c.address = addr;
  d.connection = c;
  for (size_t i = 0; i < m.tracks.size(); ++i) {
    const ReplayTrack& t = m.tracks[i];
    const bool video = t.info.kind == TrackKind::video;
    sdp::Media md;
    md.kind = video ? "video" : "audio";
    md.port = static_cast<uint16_t>(first_port + 2u * i);
    md.proto = m.srtp ? "RTP/SAVP" : "RTP/AVP";
    sdp::Format f;
    f.payload_type = t.payload_type;
    f.encoding = encoding_name(t.info);
    f.clock_rate = m.streams[i].clock;
    f.channels = video ? 0 : t.info.channels > 1 ? t.info.channels
                       : util::ascii_lowercase(t.info.codec) == "opus" ? 2  // RFC 7587: always 2
                                                                         : 1;
    f.fmtp = sdp::one_line(t.info.fmtp);
    f.has_rtpmap = true;
    md.formats = {std::to_string(t.payload_type)};
    md.rtp_formats = {f};
    md.rtcp_port = static_cast<uint16_t>(md.port + 1);
    md.ssrcs = {t.ssrc};
    md.cname = sdp::one_line(m.cname);
    if (m.srtp) {
      sdp::Crypto cr;
      cr.tag = 1;
      cr.attribute = m.opt.srtp->to_sdes(1);  // "1 SUITE inline:KEY"
      size_t a = cr.attribute.find(' '), b = cr.attribute.find(' ', a + 1);
      cr.suite = cr.attribute.substr(a + 1, b - a - 1);
      md.crypto.push_back(std::move(cr));
    }
    d.media.push_back(std::move(md));
  }
  auto text = sdp::write(d);
  if (!text) return text.status().with_context("replay SDP for address '" + sdp::one_line(addr) + "'");
  return text;
}

}  // namespace roomrec
