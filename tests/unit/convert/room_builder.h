// Records synthetic rooms with real codecs through the real Recorder into a
// local folder, with the network impairments a test asks for.
#pragma once

#include <roomrec/recorder.h>
#include <roomrec/upload_queue.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../media_synth.h"

namespace roomrec::testing {

struct PeerPlan {
  std::string peer;
  uint64_t session = 1;
  uint64_t join_ms = 0, leave_ms = 4000;  // relative to the room start
  bool audio = true, video = true;
  uint32_t width = 320, height = 240, fps = 15, kf_interval = 30;
  double loss = 0, reorder = 0, duplicate = 0;  // probabilities per packet
  uint16_t seq_start = 1000;
  uint32_t ts_start = 5000;
  int ts_jump_at_frame = -1;           // video RTP timestamp jumps forward here
  uint32_t ts_jump = 90000u * 3600u;   // by an hour
  bool drop_first_keyframe = false;
  double tone_hz = 440;
  // When not empty, the tone sounds only in these spans (ms from the join), silence elsewhere.
  std::vector<std::pair<uint64_t, uint64_t>> speaking;
  // The camera shows one flat colour (I420 Y, U, V) when colour_y >= 0, else a moving gradient.
  int colour_y = -1;
  uint8_t colour_u = 128, colour_v = 128;
  std::string video_name = "video_main";  // "screen..." makes it a screen share for the layouts
  // Recording paused in these spans (ms from the join): SessionRecorder::pause/resume, or
  // pause_track/resume_track of pause_track (1 audio, 2 video) when it is not 0. The peer goes on
  // sending; what it sends meanwhile is not recorded.
  std::vector<std::pair<uint64_t, uint64_t>> pauses;
  uint32_t pause_track = 0;
};

struct BuiltRoom {
  std::string root;       // the folder the sink writes into
  std::string room_path;  // relative room path
  std::string room_dir() const { return root + "/" + room_path; }
  struct Sent {
    std::string peer;
    uint64_t session;
    uint64_t video_frames = 0, audio_frames = 0;
    uint64_t first_ms = 0, last_ms = 0;  // absolute
  };
  std::vector<Sent> sent;
};

inline constexpr uint64_t kRoomT0 = 1'731'132'577'000ULL;

inline BuiltRoom record_room(const std::string& root, const std::vector<PeerPlan>& plans, uint32_t seed = 1,
                             uint64_t max_chunk_bytes = 64 * 1024) {
  struct Event {
    uint64_t at;
    size_t peer;
    int kind;  // 0 rtp audio, 1 rtp video, 2 leave, 3 pause, 4 resume
    std::vector<uint8_t> packet;
  };
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Event> events;
  BuiltRoom room;
  room.root = root;
  for (size_t pi = 0; pi < plans.size(); ++pi) {
    const PeerPlan& p = plans[pi];
    BuiltRoom::Sent sent{p.peer, p.session};
    sent.first_ms = kRoomT0 + p.join_ms;
    sent.last_ms = kRoomT0 + p.leave_ms;
    uint64_t dur = p.leave_ms - p.join_ms;
    std::vector<Event> mine;
    if (p.video) {
      uint32_t frames = static_cast<uint32_t>(dur * p.fps / 1000);
      auto enc = p.colour_y >= 0 ? encode_vp8_painted(p.width, p.height, frames, p.fps, p.kf_interval,
                                                      [&p](uint32_t, vpx_image_t& img) {
                                                        fill_i420(img, static_cast<uint8_t>(p.colour_y),
                                                                  p.colour_u, p.colour_v);
                                                      })
                                 : encode_vp8(p.width, p.height, frames, p.fps, p.kf_interval);
      uint16_t seq = p.seq_start;
      uint32_t ts = p.ts_start;
      for (auto& f : enc) {
        if (p.ts_jump_at_frame >= 0 && f.index == static_cast<uint32_t>(p.ts_jump_at_frame)) ts += p.ts_jump;
        uint32_t fts = ts + f.index * (90000 / p.fps);
        uint64_t at = kRoomT0 + p.join_ms + f.index * 1000ull / p.fps;
        auto pkts = packetize_vp8(f.data, seq, fts, 0x1000 + static_cast<uint32_t>(pi));
        if (p.drop_first_keyframe && f.index == 0) continue;
        sent.video_frames++;
        for (auto& pk : pkts) mine.push_back({at, pi, 1, pk});
      }
    }
    if (p.audio) {
      auto enc = p.speaking.empty()
                     ? encode_opus(dur / 1000.0, p.tone_hz)
                     : encode_opus_wave(dur / 1000.0, [&p](double t) {
                         const double ms = t * 1000;
                         for (auto [from, to] : p.speaking)
                           if (ms >= static_cast<double>(from) && ms < static_cast<double>(to))
                             return 0.4 * std::sin(2 * M_PI * p.tone_hz * t);
                         return 0.0;
                       });
      uint16_t seq = static_cast<uint16_t>(p.seq_start + 20000);
      for (size_t i = 0; i < enc.size(); ++i) {
        uint64_t at = kRoomT0 + p.join_ms + i * 20;
        auto pk = rtp_packet(seq++, p.ts_start + static_cast<uint32_t>(i * 960), 0x2000 + static_cast<uint32_t>(pi),
                             111, false, enc[i].data(), enc[i].size());
        mine.push_back({at, pi, 0, pk});
        sent.audio_frames++;
      }
    }
    std::stable_sort(mine.begin(), mine.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
    // Impairments, applied to the arrival sequence.
    std::vector<Event> impaired;
    for (size_t i = 0; i < mine.size(); ++i) {
      if (u(rng) < p.loss) continue;
      impaired.push_back(mine[i]);
      if (u(rng) < p.duplicate) impaired.push_back(mine[i]);
    }
    // Reordering: a packet swaps places with the next packet of its own track.
    for (size_t i = 0; i + 1 < impaired.size(); ++i) {
      if (u(rng) >= p.reorder) continue;
      for (size_t j = i + 1; j < impaired.size() && j < i + 8; ++j)
        if (impaired[j].kind == impaired[i].kind) {
          std::swap(impaired[i].packet, impaired[j].packet);
          i = j;
          break;
        }
    }
    impaired.push_back({kRoomT0 + p.leave_ms, pi, 2, {}});
    for (auto [from, to] : p.pauses) {
      impaired.push_back({kRoomT0 + p.join_ms + from, pi, 3, {}});
      impaired.push_back({kRoomT0 + p.join_ms + to, pi, 4, {}});
    }
    events.insert(events.end(), impaired.begin(), impaired.end());
    room.sent.push_back(sent);
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });

  RecorderConfig cfg;
  cfg.max_chunk_bytes = max_chunk_bytes;
  auto rec = Recorder::create(cfg).value();
  UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(root));
  q.start();
  std::vector<std::shared_ptr<SessionRecorder>> sessions(plans.size());
  std::vector<bool> joined(plans.size(), false);
  auto ensure = [&](size_t pi) {
    if (joined[pi]) return;
    joined[pi] = true;
    const PeerPlan& p = plans[pi];
    uint64_t t = kRoomT0 + p.join_ms;
    sessions[pi] = rec->open("app", "room", p.peer, p.session, "10.0.0.1", "synth", t).value();
    if (p.audio) sessions[pi]->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0, "", t);
    if (p.video) sessions[pi]->track_started(2, TrackKind::video, p.video_name, "vp8", 90000, 0, "", 0, "", t);
    if (room.room_path.empty()) room.room_path = sessions[pi]->room_path();
  };
  // Joins happen at join time even before the first packet.
  std::vector<std::pair<uint64_t, size_t>> joins;
  for (size_t i = 0; i < plans.size(); ++i) joins.emplace_back(kRoomT0 + plans[i].join_ms, i);
  std::sort(joins.begin(), joins.end());
  size_t next_join = 0;
  for (auto& e : events) {
    while (next_join < joins.size() && joins[next_join].first <= e.at) ensure(joins[next_join++].second);
    ensure(e.peer);
    auto& s = sessions[e.peer];
    const uint32_t pt = plans[e.peer].pause_track;
    if (e.kind == 2)
      s->leave(e.at);
    else if (e.kind == 3 && (pt ? s->pause_track(pt, e.at) : s->pause(e.at)) != RecordResult::ok)
      throw std::runtime_error("room_builder: pause refused");
    else if (e.kind == 4 && (pt ? s->resume_track(pt, e.at) : s->resume(e.at)) != RecordResult::ok)
      throw std::runtime_error("room_builder: resume refused");
    else if (e.kind < 2)
      s->rtp(e.kind == 0 ? 1 : 2, e.packet.data(), e.packet.size(), e.at);
  }
  rec->store().wait_drained(60000);
  q.stop();
  return room;
}

}  // namespace roomrec::testing
