// The transmuxer on rooms made with real codecs, checked with ffprobe/ffmpeg.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/recording_source.h>
#include <roomrec/transmuxer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <map>
#include <nlohmann/json.hpp>

#include <set>

#include "../../s3/s3rver_process.h"
#include "../upload/fault_proxy.h"
#include "h264_capture.h"
#include "room_builder.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;

namespace {

using roomrec::testing::TempDir;

struct Converted {
  TransmuxResult result;
  nlohmann::json summary;
  std::map<std::string, const TransmuxFile*> by_track;  // "peer/session/track"
};

Converted convert(const BuiltRoom& room, const std::string& out) {
  auto src = RecordingSource::open(room.room_dir());
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  TransmuxOptions o;
  o.output = out;
  uint64_t last_done = 0, total = 0;
  o.progress = [&](uint64_t done, uint64_t t) {
    CHECK(done >= last_done);
    last_done = done;
    total = t;
  };
  auto r = transmux(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(total > 0);
  CHECK(last_done == total);
  Converted c;
  c.result = std::move(r.value());
  std::ifstream in(out + "/summary.json");
  REQUIRE(in.good());
  c.summary = nlohmann::json::parse(in);
  for (auto& f : c.result.files) c.by_track[f.peer + "/" + std::to_string(f.session) + "/" + f.track] = &f;
  return c;
}

}  // namespace

TEST_CASE("a clean room: one playable file per track per session, and a summary timeline") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(3);
  plans[0].peer = "alice";
  plans[0].join_ms = 0;
  plans[0].leave_ms = 6000;
  plans[1].peer = "bob";
  plans[1].join_ms = 2000;
  plans[1].leave_ms = 10000;
  plans[1].width = 640;
  plans[1].height = 360;
  plans[1].tone_hz = 660;
  plans[2].peer = "alice";  // rejoins with a new session
  plans[2].session = 2;
  plans[2].join_ms = 7000;
  plans[2].leave_ms = 9000;
  auto room = record_room(dir.str(), plans);
  auto c = convert(room, out.str());
  CHECK(c.result.problems.empty());
  REQUIRE(c.result.files.size() == 6);
  for (const auto& f : c.result.files) {
    CHECK(f.uri == out.str() + "/" + f.path);
    CHECK(f.bytes > 0);
    CHECK(f.bytes == fs::file_size(f.uri));
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    const auto& p = plans[i];
    const auto& sent = room.sent[i];
    std::string base = p.peer + "/" + std::to_string(p.session) + "/";
    REQUIRE(c.by_track.count(base + "video_main"));
    REQUIRE(c.by_track.count(base + "audio_main"));
    const TransmuxFile& v = *c.by_track[base + "video_main"];
    const TransmuxFile& a = *c.by_track[base + "audio_main"];
    CHECK(v.path == p.peer + "-" + std::to_string(p.session) + "-vp8-video_main-" + std::to_string(v.start_ms) +
                        ".webm");
    auto pv = probe(out.str() + "/" + v.path);
    INFO(v.path << " decode errors: " << pv.decode_errors);
    CHECK(pv.ok);
    CHECK(pv.decode_errors.empty());
    CHECK(pv.codec == "vp8");
    CHECK(pv.width == p.width);
    CHECK(pv.height == p.height);
    CHECK(pv.frames == sent.video_frames);
    double expected_s = (p.leave_ms - p.join_ms) / 1000.0;
    CHECK(pv.duration == doctest::Approx(expected_s).epsilon(0.08));
    auto pa = probe(out.str() + "/" + a.path);
    CHECK(pa.ok);
    CHECK(pa.decode_errors.empty());
    CHECK(pa.codec == "opus");
    CHECK(pa.channels == 2);
    CHECK(pa.duration == doctest::Approx(expected_s).epsilon(0.05));
    // The summary timeline places each file where it happened.
    auto& tl = c.summary["peers"][p.peer]["sessions"][std::to_string(p.session)]["track"]["video_main"];
    CHECK(tl["kind"] == 1);
    REQUIRE(tl["timeline"].size() == 1);
    CHECK(tl["timeline"][0]["path"] == v.path);
    CHECK(tl["timeline"][0]["start"].get<uint64_t>() == sent.first_ms);
    CHECK(tl["timeline"][0]["end"].get<uint64_t>() <= sent.last_ms);
    CHECK(tl["timeline"][0]["end"].get<uint64_t>() + 200 >= sent.last_ms);
    CHECK(tl["timeline"][0]["width"] == p.width);
    CHECK(c.summary["peers"][p.peer]["sessions"][std::to_string(p.session)]["track"]["audio_main"]["kind"] == 0);
  }
  CHECK(c.summary["metadata_json"].is_string());
  CHECK(c.result.duration_ms == doctest::Approx(10000).epsilon(0.03));
}

TEST_CASE("loss, reordering, duplicates and sequence/timestamp wrap: files still decode cleanly") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(1);
  plans[0].peer = "lossy";
  plans[0].leave_ms = 8000;
  plans[0].loss = 0.05;
  plans[0].reorder = 0.05;
  plans[0].duplicate = 0.03;
  plans[0].seq_start = 65000;              // wraps within seconds
  plans[0].ts_start = 0xFFFFFFFFu - 90000; // wraps after a second
  plans[0].kf_interval = 15;
  auto room = record_room(dir.str(), plans, 3);
  auto c = convert(room, out.str());
  REQUIRE(c.by_track.count("lossy/1/video_main"));
  REQUIRE(c.by_track.count("lossy/1/audio_main"));
  auto& v = *c.by_track["lossy/1/video_main"];
  auto pv = probe(out.str() + "/" + v.path);
  INFO("decode errors: " << pv.decode_errors);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.frames < room.sent[0].video_frames);
  CHECK(pv.frames > room.sent[0].video_frames / 3);
  CHECK(pv.duration == doctest::Approx(8.0).epsilon(0.15));
  auto pa = probe(out.str() + "/" + c.by_track["lossy/1/audio_main"]->path);
  CHECK(pa.ok);
  CHECK(pa.decode_errors.empty());
  CHECK(pa.duration == doctest::Approx(8.0).epsilon(0.05));
  auto& e = c.summary["peers"]["lossy"]["sessions"]["1"]["track"]["video_main"]["timeline"][0];
  CHECK(e["packets_lost"].get<uint64_t>() > 0);
  CHECK(e["packets_reordered"].get<uint64_t>() > 0);
  CHECK(e["packets_duplicated"].get<uint64_t>() > 0);
  CHECK(e["frames_dropped"].get<uint64_t>() > 0);
}

TEST_CASE("a sender timestamp jump never makes an hours-long file") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(1);
  plans[0].peer = "jumpy";
  plans[0].leave_ms = 6000;
  plans[0].ts_jump_at_frame = 40;
  auto room = record_room(dir.str(), plans);
  auto c = convert(room, out.str());
  auto& v = *c.by_track["jumpy/1/video_main"];
  auto pv = probe(out.str() + "/" + v.path);
  CHECK(pv.ok);
  CHECK(pv.duration == doctest::Approx(6.0).epsilon(0.08));
  CHECK(pv.frames == room.sent[0].video_frames);
  CHECK(c.summary["peers"]["jumpy"]["sessions"]["1"]["track"]["video_main"]["timeline"][0]["timestamp_jumps"] == 1);
}

TEST_CASE("a missing first keyframe: the video starts at the next keyframe") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(1);
  plans[0].peer = "late";
  plans[0].leave_ms = 5000;
  plans[0].drop_first_keyframe = true;
  auto room = record_room(dir.str(), plans);
  auto c = convert(room, out.str());
  auto& v = *c.by_track["late/1/video_main"];
  auto pv = probe(out.str() + "/" + v.path);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.frames == room.sent[0].video_frames - 29);  // frames 1..29 wait for keyframe 30
  auto& e = c.summary["peers"]["late"]["sessions"]["1"]["track"]["video_main"]["timeline"][0];
  CHECK(e["first_keyframe_offset_ms"].get<uint64_t>() == doctest::Approx(2000).epsilon(0.05));
  CHECK(e["start"].get<uint64_t>() == kRoomT0 + 2000);
}

TEST_CASE("a missing chunk and a corrupt chunk are reported; the rest converts") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(1);
  plans[0].peer = "hurt";
  plans[0].leave_ms = 12000;
  plans[0].kf_interval = 15;
  auto room = record_room(dir.str(), plans, 5, 32 * 1024);
  std::vector<fs::path> chunks;
  for (auto& e : fs::recursive_directory_iterator(room.room_dir()))
    if (e.path().extension() == ".rec") chunks.push_back(e.path());
  std::sort(chunks.begin(), chunks.end());
  REQUIRE(chunks.size() >= 8);
  fs::remove(chunks[2]);
  {
    std::fstream f(chunks[5], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3000);
    const char junk[64] = "this is no longer a chunk frame, it is damage from a bad disk!";
    f.write(junk, sizeof junk);
  }
  auto c = convert(room, out.str());
  bool missing = false, damaged = false;
  for (auto& p : c.result.problems) {
    if (p.find("missing") != std::string::npos) missing = true;
    if (p.find("damage") != std::string::npos || p.find("bad region") != std::string::npos) damaged = true;
  }
  INFO(c.summary["problems"].dump());
  CHECK(missing);
  CHECK(damaged);
  auto pv = probe(out.str() + "/" + c.by_track["hurt/1/video_main"]->path);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.frames > room.sent[0].video_frames / 2);
  CHECK(pv.frames < room.sent[0].video_frames);
  auto pa = probe(out.str() + "/" + c.by_track["hurt/1/audio_main"]->path);
  CHECK(pa.ok);
  CHECK(pa.decode_errors.empty());
}

TEST_CASE("bad inputs give clear errors") {
  CHECK_FALSE(RecordingSource::open("/nonexistent/room").is_ok());
  TempDir empty;
  auto src = RecordingSource::open(empty.str());
  if (src.is_ok()) {
    TransmuxOptions o;
    o.output = empty.str() + "/out";
    CHECK_FALSE(transmux(*src.value(), o).is_ok());
  }
}

TEST_CASE("H264 sent by ffmpeg (libx264, FU-A) transmuxes into a playable .mp4 (the default container for H264)") {
  auto packets = capture_ffmpeg_h264(3, 15, "320x240");
  REQUIRE(packets.size() > 30);
  TempDir dir, out;
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 32 * 1024;
  std::string room_path;
  {
    auto rec = Recorder::create(cfg).value();
    UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(dir.str()));
    q.start();
    auto s = rec->open("app", "room", "h264peer", 1, "", "", kRoomT0).value();
    s->track_started(1, TrackKind::video, "video_main", "H264", 90000, 0, "packetization-mode=1", 0, "", kRoomT0);
    uint32_t ts0 = (uint32_t{packets[0][4]} << 24) | (uint32_t{packets[0][5]} << 16) | (packets[0][6] << 8) |
                   packets[0][7];
    uint64_t last = kRoomT0;
    for (auto& p : packets) {
      uint32_t ts = (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (p[6] << 8) | p[7];
      last = kRoomT0 + (ts - ts0) / 90;
      REQUIRE(s->rtp(1, p.data(), p.size(), last) == RecordResult::ok);
    }
    s->leave(last + 66);
    room_path = s->room_path();
    rec->store().wait_drained(30000);
    q.stop();
  }
  BuiltRoom room;
  room.root = dir.str();
  room.room_path = room_path;
  auto c = convert(room, out.str());
  REQUIRE(c.by_track.count("h264peer/1/video_main"));
  auto& v = *c.by_track["h264peer/1/video_main"];
  CHECK(v.path.size() > 4);
  CHECK(v.path.substr(v.path.size() - 4) == ".mp4");
  CHECK(v.container == "mp4");
  CHECK(v.codec == "h264");
  auto pv = probe(out.str() + "/" + v.path);
  INFO("decode errors: " << pv.decode_errors);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.codec == "h264");
  CHECK(pv.width == 320);
  CHECK(pv.height == 240);
  CHECK(pv.frames == 45);
  CHECK(pv.duration == doctest::Approx(3.0).epsilon(0.1));
}

TEST_CASE("S3 in, S3 out: a room recorded to S3 transmuxes into S3 (temporaries removed)") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  TempDir dir, tmp;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "p1";
  plans[0].leave_ms = 3000;
  plans[1].peer = "p2";
  plans[1].join_ms = 500;
  plans[1].leave_ms = 3000;
  auto room = record_room(dir.str(), plans);
  // Upload the recorded room as the recorder would have.
  std::string base = "http://S3RVER:S3RVER@127.0.0.1:" + std::to_string(s3.port()) + "/roomrec-test/";
  auto in_uri = s3::S3Uri::parse(base + "recordings?path_style=true").value();
  s3::S3Client client(in_uri);
  for (auto& e : fs::recursive_directory_iterator(dir.path)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(client.put(in_uri.key(fs::relative(e.path(), dir.path).string()), bytes).is_ok());
  }
  auto src = RecordingSource::open(base + "recordings/" + room.room_path + "?path_style=true");
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  TransmuxOptions o;
  o.output = base + "transmux/job1?path_style=true";
  o.temp_dir = tmp.str();
  auto r = transmux(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->files.size() == 4);
  auto out_uri = s3::S3Uri::parse(o.output).value();
  s3::S3Client out(out_uri);
  auto list = out.list(out_uri.key(""));
  REQUIRE(list.is_ok());
  std::set<std::string> keys;
  for (auto& obj : list->objects) keys.insert(obj.key);
  CHECK(keys.count("transmux/job1/summary.json") == 1);
  for (auto& f : r->files) {
    CHECK(keys.count("transmux/job1/" + f.path) == 1);
    CHECK(f.uri == "transmux/job1/" + f.path);
  }
  auto summary = out.get("transmux/job1/summary.json");
  REQUIRE(summary.is_ok());
  CHECK(nlohmann::json::parse(*summary)["peers"].contains("p2"));
  // One output, fetched back, plays.
  auto body = out.get(r->files[0].uri);
  REQUIRE(body.is_ok());
  std::string local = tmp.str() + "/check.webm";
  std::ofstream(local, std::ios::binary) << *body;
  auto p = probe(local);
  CHECK(p.ok);
  CHECK(p.decode_errors.empty());
  fs::remove(local);
  CHECK(fs::is_empty(tmp.path));  // staging folders cleaned up

  // The same job through a front that fails 30% of the requests (500s, resets before and after the
  // request reached S3, stalls): each output PUT is retried, the job completes, every file is there.
  roomrec::testing::FaultProxy proxy(s3.port(), 0.3, 11);
  auto src2 = RecordingSource::open(base + "recordings/" + room.room_path + "?path_style=true");
  REQUIRE(src2.is_ok());
  o.output = "http://S3RVER:S3RVER@127.0.0.1:" + std::to_string(proxy.port()) +
             "/roomrec-test/transmux/job2?path_style=true";
  auto r2 = transmux(*src2.value(), o);
  REQUIRE_MESSAGE(r2.is_ok(), r2.status().to_string());
  CHECK(proxy.faults() > 0);
  REQUIRE(r2->files.size() == 4);
  for (auto& f : r2->files) {
    auto a = out.get("transmux/job1/" + f.path), b = out.get("transmux/job2/" + f.path);
    REQUIRE(a.is_ok());
    REQUIRE(b.is_ok());
    CHECK(*a == *b);  // the same bytes, whole
    CHECK(b->size() == f.bytes);
  }
  CHECK(out.head("transmux/job2/summary.json").is_ok());
  CHECK(fs::is_empty(tmp.path));
}

namespace {
// Janus' MJR00002: magic, u16 BE JSON length + JSON, then "MEET" + u32 BE ms
// since the first frame + u16 BE length + the RTP packet.
void write_mjr(const std::string& path, const char* type, const char* codec, uint64_t start_ms,
               const std::vector<std::pair<uint64_t, std::vector<uint8_t>>>& packets) {
  std::ofstream f(path, std::ios::binary);
  f.write("MJR00002", 8);
  std::string info = std::string("{\"t\":\"") + type + "\",\"c\":\"" + codec + "\",\"s\":" +
                     std::to_string(start_ms * 1000) + ",\"u\":" + std::to_string(start_ms * 1000) + "}";
  auto be16 = [&](uint16_t v) { char b[2] = {char(v >> 8), char(v)}; f.write(b, 2); };
  auto be32 = [&](uint32_t v) { char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; f.write(b, 4); };
  be16(static_cast<uint16_t>(info.size()));
  f.write(info.data(), static_cast<std::streamsize>(info.size()));
  for (auto& [at, p] : packets) {
    f.write("MEET", 4);
    be32(static_cast<uint32_t>(at - start_ms));
    be16(static_cast<uint16_t>(p.size()));
    f.write(reinterpret_cast<const char*>(p.data()), static_cast<std::streamsize>(p.size()));
  }
}
}  // namespace

TEST_CASE("a Janus .mjr recording converts and plays") {
  TempDir in, out;
  const uint64_t start = kRoomT0;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> video, audio;
  uint16_t seq = 10;
  for (auto& f : encode_vp8(320, 240, 45, 15, 15))
    for (auto& p : packetize_vp8(f.data, seq, 6000 * f.index, 0x1234)) video.emplace_back(start + f.index * 1000 / 15, p);
  auto opus = encode_opus(3.0, 440);
  for (size_t i = 0; i < opus.size(); ++i)
    audio.emplace_back(start + i * 20, rtp_packet(static_cast<uint16_t>(i), static_cast<uint32_t>(i * 960), 0x5678,
                                                  111, false, opus[i].data(), opus[i].size()));
  write_mjr(in.str() + "/rec-1-video.mjr", "v", "vp8", start, video);
  write_mjr(in.str() + "/rec-1-audio.mjr", "a", "opus", start, audio);
  auto src = RecordingSource::open(in.str());
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  TransmuxOptions o;
  o.output = out.str();
  auto r = transmux(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  REQUIRE(r->files.size() == 2);
  for (auto& f : r->files) {
    CHECK(f.peer == "rec-1");
    auto p = probe(out.str() + "/" + f.path);
    INFO(f.path << ": " << p.decode_errors);
    CHECK(p.ok);
    CHECK(p.decode_errors.empty());
    CHECK(p.duration == doctest::Approx(3.0).epsilon(0.08));
    if (f.codec == "vp8") {
      CHECK(p.frames == 45);
      CHECK(p.width == 320);
    } else {
      CHECK(p.codec == "opus");
    }
  }
}

namespace {

// RTCP SR: sender `ssrc` says RTP time `rtp_ts` is unix time `unix_ms`.
std::vector<uint8_t> sender_report(uint32_t ssrc, uint64_t unix_ms, uint32_t rtp_ts) {
  const uint64_t secs = unix_ms / 1000 + 2'208'988'800ULL;
  const uint64_t frac = ((unix_ms % 1000) << 32) / 1000;
  std::vector<uint8_t> p = {0x80, 200, 0, 6};
  auto put32 = [&](uint64_t v) {
    for (int i = 3; i >= 0; --i) p.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(ssrc);
  put32(secs);
  put32(frac);
  put32(rtp_ts);
  put32(100);     // packets
  put32(100000);  // octets
  return p;
}

// One peer whose camera and microphone start capturing at the same instant;
// the network delivers video `video_delay_ms` later than audio. Returns the
// audio and video start times the transmuxer gives them.
std::pair<uint64_t, uint64_t> starts_with_video_delay(bool with_sender_reports, uint64_t video_delay_ms) {
  TempDir dir, out;
  const uint64_t t0 = kRoomT0;
  const uint32_t aus = 0x1111, vid = 0x2222;
  const uint32_t ats0 = 123456, vts0 = 4'000'000'000u;  // video wraps soon after
  auto video = encode_vp8(320, 240, 45, 15, 15);
  auto audio = encode_opus(3.0, 440);
  struct Ev {
    uint64_t at;
    uint32_t track;  // 0 rtcp
    std::vector<uint8_t> bytes;
  };
  std::vector<Ev> evs;
  uint16_t vseq = 10;
  for (auto& f : video) {
    uint64_t capture = t0 + f.index * 1000ull / 15;
    for (auto& pk : packetize_vp8(f.data, vseq, vts0 + f.index * 6000, vid))
      evs.push_back({capture + video_delay_ms, 2, pk});
  }
  for (size_t i = 0; i < audio.size(); ++i)
    evs.push_back({t0 + i * 20 + 5, 1,
                   rtp_packet(static_cast<uint16_t>(500 + i), ats0 + static_cast<uint32_t>(i * 960), aus, 111, false,
                              audio[i].data(), audio[i].size())});
  if (with_sender_reports)
    for (uint64_t s = 1; s <= 2; ++s) {  // the sender's NTP clock is 7 s ahead of the recorder's
      evs.push_back({t0 + s * 1000 + 5, 0,
                     sender_report(aus, t0 + 7000 + s * 1000, ats0 + static_cast<uint32_t>(s * 48000))});
      evs.push_back({t0 + s * 1000 + 5 + video_delay_ms, 0,
                     sender_report(vid, t0 + 7000 + s * 1000, vts0 + static_cast<uint32_t>(s * 90000))});
    }
  std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.at < b.at; });
  {
    auto rec = Recorder::create({}).value();
    UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(dir.str()));
    q.start();
    auto s = rec->open("app", "room", "pat", 1, "10.0.0.1", "test", t0).value();
    s->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", aus, "", t0);
    s->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", vid, "", t0);
    for (auto& e : evs) {
      if (e.track == 0) REQUIRE(s->rtcp(e.bytes.data(), e.bytes.size(), e.at) == RecordResult::ok);
      else REQUIRE(s->rtp(e.track, e.bytes.data(), e.bytes.size(), e.at) == RecordResult::ok);
    }
    s->leave(t0 + 4000);
    REQUIRE(rec->store().wait_drained(30000));
    q.stop();
    BuiltRoom room;
    room.root = dir.str();
    room.room_path = s->room_path();
    auto c = convert(room, out.str());
    REQUIRE(c.by_track.count("pat/1/audio_main"));
    REQUIRE(c.by_track.count("pat/1/video_main"));
    auto pv = probe(out.str() + "/" + c.by_track.at("pat/1/video_main")->path);
    CHECK_MESSAGE(pv.decode_errors.empty(), "decode errors: " << pv.decode_errors);
    return {c.by_track.at("pat/1/audio_main")->start_ms, c.by_track.at("pat/1/video_main")->start_ms};
  }
}

}  // namespace

TEST_CASE("RTCP sender reports put a peer's audio and video on the sender's clock, whatever the network delay") {
  // Without reports, each track starts at its first arrival: video shows up 300 ms late.
  auto [a0, v0] = starts_with_video_delay(false, 300);
  CHECK(v0 - a0 >= 290);
  // With them, both are placed by the sender's clock pairs: the same capture instant.
  auto [a1, v1] = starts_with_video_delay(true, 300);
  CHECK(std::llabs(static_cast<long long>(v1) - static_cast<long long>(a1)) <= 10);
  // On the recorder's clock (offset by the least delay seen), not the sender's.
  CHECK(a1 >= kRoomT0);
  CHECK(a1 <= kRoomT0 + 20);
}
