// The Replayer on rooms recorded with real codecs (room_builder), and the transmuxer's data-channel
// export: continuity across missing chunks and timestamp resets, SSRC/PT mapping, sender reports
// that sync audio and video, seeking to keyframes, SRTP output, data rows with their times.
#include <doctest/doctest.h>

#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/replayer.h>
#include <roomrec/srtp.h>
#include <roomrec/transmuxer.h>
#include <roomrec/upload_queue.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../temp_dir.h"
#include "hooks/hook_event.h"
#include "room_builder.h"
#include "rtp/rtp_packet.h"
#include "util/base64.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;

namespace {

struct Out {
  std::vector<ReplayItem> items;
  std::map<uint32_t, std::vector<const ReplayItem*>> rtp, rtcp;  // by track id
  std::vector<const ReplayItem*> data;
  Status status;
  ReplayStats stats;
  std::vector<ReplayTrack> tracks;
  uint64_t start_ms = 0;
};

Out replay_all(const std::string& dir, ReplayOptions o) {
  Out out;
  auto r = Replayer::open(dir, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  out.tracks = r.value()->tracks();
  out.start_ms = r.value()->start_recorded_ms();
  ReplayItem it;
  while (r.value()->next(it)) out.items.push_back(it);
  out.status = r.value()->status();
  out.stats = r.value()->stats();
  for (auto& i : out.items) {
    if (i.kind == ReplayItemKind::rtp) out.rtp[i.track_id].push_back(&i);
    else if (i.kind == ReplayItemKind::rtcp) out.rtcp[i.track_id].push_back(&i);
    else out.data.push_back(&i);
  }
  return out;
}

rtp::RtpHeader header(const ReplayItem& i) {
  rtp::RtpHeader h;
  REQUIRE(rtp::parse_rtp(i.bytes.data(), i.bytes.size(), h));
  return h;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

const ReplayTrack& track_named(const Out& o, const std::string& name) {
  for (auto& t : o.tracks)
    if (t.info.name == name) return t;
  FAIL("no track " << name);
  return o.tracks.front();
}

// Every packet of a track follows the previous one by one sequence number.
void check_seq_continuous(const std::vector<const ReplayItem*>& pk) {
  REQUIRE(!pk.empty());
  uint16_t prev = header(*pk.front()).seq;
  for (size_t i = 1; i < pk.size(); ++i) {
    uint16_t s = header(*pk[i]).seq;
    CHECK_MESSAGE(s == static_cast<uint16_t>(prev + 1), "packet " << i << ": seq " << s << " after " << prev);
    prev = s;
  }
}

std::vector<fs::path> chunk_files(const std::string& session_dir) {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(session_dir))
    if (e.path().extension() == ".rec") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string session_dir(const BuiltRoom& room, const std::string& peer, uint64_t session = 1) {
  return room.room_dir() + "/" + peer + "/" + std::to_string(session);
}

}  // namespace

TEST_CASE("replay: order, mapping, continuity and sender reports that sync audio and video") {
  TempDir tmp;
  PeerPlan p;
  p.peer = "alice";
  p.leave_ms = 4000;
  auto room = record_room(tmp.str(), {p});
  ReplayOptions o;
  o.peer = "alice";
  o.speed = 0;
  o.ntp_origin_ms = 1'700'000'000'000ULL;
  o.mapping["audio_main"].ssrc = 1111;
  o.mapping["audio_main"].payload_type = 100;
  o.mapping["2"].ssrc = 2222;  // by track id
  o.mapping["2"].payload_type = 97;
  o.mapping["2"].first_seq = 65500;  // wraps during the replay
  Out out = replay_all(room.room_dir(), o);
  REQUIRE(out.status.is_ok());
  REQUIRE(out.tracks.size() == 2);
  const auto& audio = track_named(out, "audio_main");
  const auto& video = track_named(out, "video_main");
  CHECK(audio.ssrc == 1111);
  CHECK(video.ssrc == 2222);
  CHECK(video.keyframes >= 2);  // every 30 frames over 60

  // Every stored packet comes out once, in due order (speed 0: media order).
  CHECK(out.rtp[audio.id].size() == room.sent[0].audio_frames);
  CHECK(out.stats.segments == 0);
  for (size_t i = 1; i < out.items.size(); ++i) CHECK(out.items[i].media_ms >= out.items[i - 1].media_ms);
  for (auto& i : out.items) CHECK(i.due_ms == 0);
  for (auto* i : out.rtp[audio.id]) {
    auto h = header(*i);
    CHECK(h.ssrc == 1111);
    CHECK(h.payload_type == 100);
  }
  for (auto* i : out.rtp[video.id]) {
    auto h = header(*i);
    CHECK(h.ssrc == 2222);
    CHECK(h.payload_type == 97);
  }
  CHECK(header(*out.rtp[video.id].front()).seq == 65500);
  check_seq_continuous(out.rtp[audio.id]);
  check_seq_continuous(out.rtp[video.id]);
  CHECK(out.rtp[video.id].front()->keyframe);
  size_t flagged = 0;
  for (auto* i : out.rtp[video.id]) flagged += i->keyframe;
  CHECK(flagged == video.keyframes);
  // Audio timestamps step by 20 ms.
  for (size_t i = 1; i < out.rtp[audio.id].size(); ++i)
    CHECK(header(*out.rtp[audio.id][i]).timestamp - header(*out.rtp[audio.id][i - 1]).timestamp == 960u);

  // Sender reports: one per second per track, with NTP = origin + media time and the SSRC and CNAME.
  for (uint32_t id : {audio.id, video.id}) {
    const auto& srs = out.rtcp[id];
    REQUIRE(srs.size() >= 4);
    for (auto* sr : srs) {
      REQUIRE(sr->bytes.size() >= 28 + 12);
      CHECK(sr->bytes[1] == 200);
      CHECK(rtp::validate_rtcp_compound(sr->bytes.data(), sr->bytes.size()));
      CHECK(be32(&sr->bytes[4]) == (id == audio.id ? 1111u : 2222u));
      uint64_t ntp_s = be32(&sr->bytes[8]) - 2208988800ULL;
      uint64_t ntp_ms = ntp_s * 1000 + (uint64_t{be32(&sr->bytes[12])} * 1000 >> 32);
      CHECK(std::llabs(static_cast<long long>(ntp_ms) - static_cast<long long>(o.ntp_origin_ms + sr->media_ms)) <= 1);
      CHECK(sr->bytes[29] == 202);  // SDES follows
      std::string cname(reinterpret_cast<const char*>(&sr->bytes[38]), sr->bytes[37]);
      CHECK(cname == "roomrec-alice-1");
    }
  }
  // Map each packet's RTP time to wall time through the track's last report: audio and video frames
  // captured at the same instant land at the same wall time (what a receiver's lip sync relies on).
  auto wall_ms = [&](uint32_t id, const ReplayItem& pkt, uint32_t clock) {
    const ReplayItem* sr = out.rtcp[id].back();
    uint32_t sr_rtp = be32(&sr->bytes[16]);
    double ntp_ms = static_cast<double>(o.ntp_origin_ms + sr->media_ms);
    int32_t d = static_cast<int32_t>(header(pkt).timestamp - sr_rtp);
    return ntp_ms + d * 1000.0 / clock;
  };
  // room_builder: video frame f is captured at f * 1000 / 15 ms, audio frame a at a * 20 ms: frame 15k and
  // audio frame 50k are both k seconds in.
  std::map<uint32_t, const ReplayItem*> video_by_ts;
  for (auto* i : out.rtp[video.id]) video_by_ts.emplace(header(*i).timestamp, i);
  std::vector<const ReplayItem*> vframes;
  for (auto* i : out.rtp[video.id])
    if (vframes.empty() || header(*vframes.back()).timestamp != header(*i).timestamp) vframes.push_back(i);
  int compared = 0;
  for (int k = 1; k <= 3; ++k) {
    size_t vf = static_cast<size_t>(15 * k), af = static_cast<size_t>(50 * k);
    if (vf >= vframes.size() || af >= out.rtp[audio.id].size()) continue;
    double wv = wall_ms(video.id, *vframes[vf], 90000);
    double wa = wall_ms(audio.id, *out.rtp[audio.id][af], 48000);
    CHECK_MESSAGE(std::fabs(wv - wa) <= 40.0, "second " << k << ": video " << wv << " audio " << wa);
    compared++;
  }
  CHECK(compared == 3);
}

TEST_CASE("replay: due times follow the recorded times at the chosen speed") {
  TempDir tmp;
  PeerPlan p;
  p.peer = "bob";
  p.leave_ms = 2000;
  p.video = false;
  auto room = record_room(tmp.str(), {p});
  for (double speed : {1.0, 2.0}) {
    ReplayOptions o;
    o.peer = "bob";
    o.speed = speed;
    Out out = replay_all(room.room_dir(), o);
    REQUIRE(!out.items.empty());
    for (auto& i : out.items) {
      CHECK(i.media_ms == i.recorded_ms - out.start_ms);
      CHECK(i.due_ms == static_cast<uint64_t>(std::llround(i.media_ms / speed)));
    }
    CHECK(out.items.back().due_ms >= static_cast<uint64_t>(1900 / speed));
  }
}

TEST_CASE("replay: continuous across a missing chunk") {
  TempDir tmp;
  PeerPlan p;
  p.peer = "carol";
  p.leave_ms = 6000;
  auto room = record_room(tmp.str(), {p}, 7, 24 * 1024);
  auto chunks = chunk_files(session_dir(room, "carol"));
  REQUIRE(chunks.size() >= 5);
  fs::remove(chunks[chunks.size() / 2]);
  ReplayOptions o;
  o.peer = "carol";
  o.speed = 0;
  Out out = replay_all(room.room_dir(), o);
  REQUIRE(out.status.is_ok());
  CHECK(out.stats.segments >= 1);
  const auto& audio = track_named(out, "audio_main");
  const auto& video = track_named(out, "video_main");
  CHECK(out.rtp[audio.id].size() < room.sent[0].audio_frames);  // a chunk's worth is gone
  check_seq_continuous(out.rtp[audio.id]);
  check_seq_continuous(out.rtp[video.id]);
  // Timestamps advance with the recorded time across the gap, never jump.
  size_t gaps = 0;
  const auto& a = out.rtp[audio.id];
  for (size_t i = 1; i < a.size(); ++i) {
    double dts_ms = (header(*a[i]).timestamp - header(*a[i - 1]).timestamp) / 48.0;
    double drec = static_cast<double>(a[i]->recorded_ms - a[i - 1]->recorded_ms);
    CHECK_MESSAGE(std::fabs(dts_ms - drec) <= 25.0, "packet " << i << ": ts " << dts_ms << " ms, recorded " << drec);
    gaps += drec > 100;
  }
  CHECK(gaps == 1);
  bool reported = false;
  auto r = Replayer::open(room.room_dir(), o);
  REQUIRE(r.is_ok());
  for (auto& pr : r.value()->problems()) reported = reported || pr.find("missing") != std::string::npos;
  CHECK(reported);
}

TEST_CASE("replay: continuous across a sender's timestamp reset") {
  for (uint32_t jump : {0u - 90000u * 100u, 90000u * 3600u}) {  // back 100 s, forward an hour
    CAPTURE(jump);
    TempDir tmp;
    PeerPlan p;
    p.peer = "dave";
    p.leave_ms = 4000;
    p.audio = false;
    p.ts_jump_at_frame = 31;
    p.ts_jump = jump;
    auto room = record_room(tmp.str(), {p});
    ReplayOptions o;
    o.peer = "dave";
    o.speed = 0;
    Out out = replay_all(room.room_dir(), o);
    REQUIRE(out.status.is_ok());
    CHECK(out.stats.segments == 1);
    const auto& video = track_named(out, "video_main");
    const auto& v = out.rtp[video.id];
    check_seq_continuous(v);
    uint32_t prev_ts = header(*v.front()).timestamp;
    size_t frames = 1;
    for (size_t i = 1; i < v.size(); ++i) {
      uint32_t ts = header(*v[i]).timestamp;
      if (ts == prev_ts) continue;
      int32_t d = static_cast<int32_t>(ts - prev_ts);
      CHECK_MESSAGE((d >= 4000 && d <= 8000), "frame " << frames << ": timestamp step " << d);  // 6000 = 1/15 s
      prev_ts = ts;
      frames++;
    }
    CHECK(frames == room.sent[0].video_frames);
  }
}

TEST_CASE("replay: seeking starts video at the nearest earlier keyframe") {
  TempDir tmp;
  PeerPlan p;
  p.peer = "erin";
  p.leave_ms = 6000;
  p.kf_interval = 30;  // keyframes at 0, 2 and 4 s
  auto room = record_room(tmp.str(), {p});
  const uint64_t t0 = kRoomT0;
  for (auto [seek, key_at] : std::vector<std::pair<uint64_t, uint64_t>>{{3000, 2000}, {4000, 4000}, {1999, 0}}) {
    CAPTURE(seek);
    ReplayOptions o;
    o.peer = "erin";
    o.speed = 1;
    o.seek_ms = seek;
    Out out = replay_all(room.room_dir(), o);
    REQUIRE(out.status.is_ok());
    const auto& video = track_named(out, "video_main");
    const auto& audio = track_named(out, "audio_main");
    const ReplayItem& first = *out.rtp[video.id].front();
    CHECK(first.keyframe);
    CHECK(first.recorded_ms == t0 + key_at);
    CHECK(first.due_ms == 0);
    CHECK(out.start_ms == t0 + key_at);
    // The payload is a VP8 keyframe's start: S bit in the descriptor, P bit clear in the frame header.
    auto h = header(first);
    CHECK((first.bytes[h.payload_offset] & 0x10) != 0);
    CHECK((first.bytes[h.payload_offset + 1] & 0x01) == 0);
    CHECK(out.rtp[audio.id].front()->recorded_ms >= t0 + key_at);
    CHECK(out.rtp[audio.id].front()->recorded_ms <= t0 + key_at + 20);
    check_seq_continuous(out.rtp[video.id]);
  }
  ReplayOptions o;
  o.peer = "erin";
  o.seek_ms = 60'000;
  auto r = Replayer::open(room.room_dir(), o);
  REQUIRE(!r.is_ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
}

TEST_CASE("replay: SRTP output unprotects to the plain replay") {
  TempDir tmp;
  PeerPlan p;
  p.peer = "frank";
  p.leave_ms = 2000;
  auto room = record_room(tmp.str(), {p});
  ReplayOptions o;
  o.peer = "frank";
  o.speed = 0;
  o.ntp_origin_ms = 1'700'000'000'000ULL;
  for (const char* t : {"audio_main", "video_main"}) {
    o.mapping[t].ssrc = t[0] == 'a' ? 5u : 6u;
    o.mapping[t].first_seq = 100;
    o.mapping[t].first_timestamp = 1000;
  }
  Out plain = replay_all(room.room_dir(), o);
  std::vector<uint8_t> material(30);
  for (size_t i = 0; i < material.size(); ++i) material[i] = static_cast<uint8_t>(i * 7 + 1);
  auto key = SrtpKey::from_bytes(SrtpProfile::aes_cm_128_hmac_sha1_80, material.data(), material.size());
  REQUIRE(key.is_ok());
  o.srtp = key.value();
  Out sec = replay_all(room.room_dir(), o);
  REQUIRE(sec.items.size() == plain.items.size());
  auto rx = SrtpSession::create(key.value(), SrtpSession::Direction::unprotect).value();
  for (size_t i = 0; i < sec.items.size(); ++i) {
    auto b = sec.items[i].bytes;
    size_t n = b.size();
    Status st = sec.items[i].kind == ReplayItemKind::rtp ? rx->unprotect_rtp(b.data(), n)
                                                          : rx->unprotect_rtcp(b.data(), n);
    REQUIRE_MESSAGE(st.is_ok(), "item " << i << ": " << st.to_string());
    b.resize(n);
    CHECK(b == plain.items[i].bytes);
  }
  CHECK(sec.stats.protect_failures == 0);
}

TEST_CASE("replay: bad requests and damaged chunks are errors or problems, never crashes") {
  TempDir tmp;
  PeerPlan p;
  p.peer = "gina";
  p.leave_ms = 3000;
  auto room = record_room(tmp.str(), {p}, 3, 24 * 1024);
  auto open = [&](ReplayOptions o) { return Replayer::open(room.room_dir(), o); };
  ReplayOptions o;
  o.peer = "nobody";
  CHECK(open(o).status().code() == ErrorCode::not_found);
  o.peer = "gina";
  o.session = 99;
  CHECK(open(o).status().code() == ErrorCode::not_found);
  o.session.reset();
  o.tracks = {"screen"};
  CHECK(open(o).status().code() == ErrorCode::not_found);
  o.tracks.clear();
  o.speed = -1;
  CHECK(open(o).status().code() == ErrorCode::invalid_argument);
  o.speed = 0;
  o.mapping["audio_main"].ssrc = 9;
  o.mapping["video_main"].ssrc = 9;
  CHECK(open(o).status().code() == ErrorCode::invalid_argument);
  o.mapping.clear();
  CHECK(Replayer::open(tmp.str() + "/no/such/room", o).status().code() != ErrorCode::ok);

  // Only the audio track, from a session whose chunks are damaged in the middle.
  for (auto& c : chunk_files(session_dir(room, "gina"))) {
    std::fstream f(c, std::ios::in | std::ios::out | std::ios::binary);
    auto size = fs::file_size(c);
    for (uint64_t off = size / 3; off < size / 3 + 64 && off < size; ++off) {
      f.seekp(static_cast<std::streamoff>(off));
      f.put(static_cast<char>(0x5A));
    }
  }
  o.tracks = {"audio_main"};
  Out out = replay_all(room.room_dir(), o);
  CHECK(out.status.is_ok());
  REQUIRE(out.tracks.size() == 1);
  CHECK(out.tracks[0].info.name == "audio_main");
  const auto& a = out.rtp[out.tracks[0].id];
  REQUIRE(!a.empty());
  for (size_t i = 1; i < a.size(); ++i) {  // rows lost inside a chunk show as loss, never as a jump
    int32_t d = rtp::seq_delta(header(*a[i - 1]).seq, header(*a[i]).seq);
    CHECK((d >= 1 && d <= 200));
  }
}

// A session with data-channel messages, recorded through the Recorder.
struct DataRoom {
  std::string dir;
  uint64_t t0 = kRoomT0;
};

DataRoom record_data_room(const std::string& root) {
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 4096;
  auto rec = Recorder::create(cfg).value();
  UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(root));
  q.start();
  uint64_t t = kRoomT0;
  auto s = rec->open("app", "room", "hana", 1, "10.0.0.1", "synth", t).value();
  s->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0, "", t);
  auto opus = encode_opus(3.0, 440);
  const std::string bad_utf8 = "caf\xC3";
  for (size_t i = 0; i < opus.size(); ++i) {
    uint64_t now = t + i * 20;
    auto pk = rtp_packet(static_cast<uint16_t>(i), static_cast<uint32_t>(i * 960), 0x1234, 111, false,
                         opus[i].data(), opus[i].size());
    s->rtp(1, pk.data(), pk.size(), now);
    if (i == 25) s->data("chat", false, reinterpret_cast<const uint8_t*>("hello \"you\"\n"), 12, now);
    if (i == 50) {
      const uint8_t bin[] = {0, 1, 2, 0xFF};
      s->data("chat", true, bin, sizeof bin, now);
    }
    if (i == 75) s->data("chat", false, reinterpret_cast<const uint8_t*>(bad_utf8.data()), bad_utf8.size(), now);
    if (i == 100) s->data("cursor position", false, reinterpret_cast<const uint8_t*>("x=1"), 3, now);
  }
  s->leave(t + opus.size() * 20);
  rec->store().wait_drained(60000);
  q.stop();
  DataRoom d;
  d.dir = root + "/" + s->room_path();
  return d;
}

TEST_CASE("transmux: each data channel as JSON lines, listed in summary.json beside the tracks") {
  TempDir tmp;
  auto room = record_data_room((tmp.path / "rec").string());
  auto src = RecordingSource::open(room.dir).value();
  TransmuxOptions to;
  to.output = (tmp.path / "out").string();
  auto r = transmux(*src, to);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  REQUIRE(r->data_files.size() == 2);
  const auto& chat = r->data_files[0];
  CHECK(chat.path == "hana-1-data-chat.jsonl");
  CHECK(chat.label == "chat");
  CHECK(chat.messages == 3);
  CHECK(chat.start_ms == room.t0 + 25 * 20);
  CHECK(chat.end_ms == room.t0 + 75 * 20);
  CHECK(r->data_files[1].path == "hana-1-data-cursor_position.jsonl");

  std::ifstream f(tmp.path / "out" / chat.path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == nlohmann::json{{"time", room.t0 + 500}, {"binary", false}, {"text", "hello \"you\"\n"}});
  CHECK(lines[1]["time"] == room.t0 + 1000);
  CHECK(lines[1]["binary"] == true);
  CHECK(util::base64_decode(lines[1]["base64"].get<std::string>()) == std::vector<uint8_t>{0, 1, 2, 0xFF});
  CHECK(lines[2]["binary"] == false);  // text that is not UTF-8 is kept byte-exact in base64
  auto bad = util::base64_decode(lines[2]["base64"].get<std::string>());
  REQUIRE(bad.has_value());
  CHECK(std::string(bad->begin(), bad->end()) == "caf\xC3");

  auto summary = nlohmann::json::parse(r->summary_json);
  auto& session = summary["peers"]["hana"]["sessions"]["1"];
  CHECK(session["data"]["chat"] ==
        nlohmann::json{{"path", chat.path}, {"start", chat.start_ms}, {"end", chat.end_ms}, {"messages", 3}});
  CHECK(session["data"]["cursor position"]["messages"] == 1);
  CHECK(session["track"]["audio_main"]["kind"] == 0);
  // The Compose Completed hook still reads the tracks and ignores the data map.
  std::string json = r->summary_json;
  auto ev = hooks::to_json(hooks::compose_completed(1, 2, "app", "job", &json, nullptr));
  CHECK(ev.find("audio_main") != std::string::npos);
  CHECK(ev.find("data-chat") == std::string::npos);
}

TEST_CASE("replay: data rows come out with their due times") {
  TempDir tmp;
  auto room = record_data_room((tmp.path / "rec").string());
  ReplayOptions o;
  o.peer = "hana";
  o.speed = 1;
  Out out = replay_all(room.dir, o);
  REQUIRE(out.data.size() == 4);
  CHECK(out.start_ms == room.t0);
  CHECK(out.data[0]->label == "chat");
  CHECK(out.data[0]->due_ms == 500);
  CHECK(!out.data[0]->binary);
  CHECK(std::string(out.data[0]->bytes.begin(), out.data[0]->bytes.end()) == "hello \"you\"\n");
  CHECK(out.data[1]->due_ms == 1000);
  CHECK(out.data[1]->binary);
  CHECK(out.data[3]->label == "cursor position");
  CHECK(out.data[3]->due_ms == 2000);
  o.include_data = false;
  CHECK(replay_all(room.dir, o).data.empty());
  o.include_data = true;
  o.seek_ms = 1500;  // audio only: starts right at the seek point
  Out later = replay_all(room.dir, o);
  REQUIRE(later.data.size() == 2);
  CHECK(later.data[0]->due_ms == 0);
  CHECK(later.data[1]->due_ms == 500);
}
