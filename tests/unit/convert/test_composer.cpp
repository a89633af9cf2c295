// The composer on rooms made with real codecs; outputs checked with ffmpeg.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/clock.h>
#include <roomrec/composer.h>
#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/upload_queue.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <regex>
#include <fstream>
#include <set>
#include <sstream>

#include "../../s3/s3rver_process.h"
#include "../media_synth.h"
#include "convert/video_compositor.h"
#include "h264_capture.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"
#include "s3/sigv4.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t T0 = 1'731'132'577'000ULL;

using roomrec::testing::TempDir;

struct Peer {
  std::string name;
  std::string codec = "vp8";   // vp8 | vp9 | h264
  uint64_t join_ms = 0, leave_ms = 4000;
  uint8_t y = 80, u = 128, v = 128;  // picture colour
  uint32_t w = 320, h = 240;
  double flash_at_s = -1;       // room time of a white flash + a beep
  double loss = 0;
  int cvo = -1;  // video-orientation byte sent in every video packet (extension id 3); -1: none
  std::vector<std::vector<uint8_t>> h264_packets;  // when codec == h264
};

std::vector<std::vector<uint8_t>> packetize_vp9(const EncodedFrame& f, uint16_t& seq, uint32_t ts, uint32_t ssrc) {
  std::vector<std::vector<uint8_t>> out;
  const size_t mtu = 1100;
  size_t off = 0;
  while (off < f.data.size()) {
    size_t n = std::min(mtu, f.data.size() - off);
    std::vector<uint8_t> payload;
    uint8_t d = 0;
    if (!f.keyframe) d |= 0x40;         // P: inter-picture predicted
    if (off == 0) d |= 0x08;            // B: start of frame
    if (off + n == f.data.size()) d |= 0x04;  // E: end of frame
    payload.push_back(d);
    payload.insert(payload.end(), f.data.begin() + static_cast<long>(off), f.data.begin() + static_cast<long>(off + n));
    off += n;
    out.push_back(rtp_packet(seq++, ts, ssrc, 98, off == f.data.size(), payload.data(), payload.size()));
  }
  return out;
}

// Records the peers into `root`; returns the room folder.
std::string record(const std::string& root, std::vector<Peer>& peers, uint32_t seed = 1) {
  struct Ev {
    uint64_t at;
    size_t peer;
    uint32_t track;
    std::vector<uint8_t> pkt;
  };
  std::vector<Ev> evs;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(0, 1);
  for (size_t pi = 0; pi < peers.size(); ++pi) {
    Peer& p = peers[pi];
    uint64_t dur = p.leave_ms - p.join_ms;
    const uint32_t fps = 15;
    uint16_t vseq = 100;
    if (p.codec == "h264") {
      uint32_t ts0 = (uint32_t{p.h264_packets[0][4]} << 24) | (uint32_t{p.h264_packets[0][5]} << 16) |
                     (p.h264_packets[0][6] << 8) | p.h264_packets[0][7];
      for (auto& pk : p.h264_packets) {
        uint32_t ts = (uint32_t{pk[4]} << 24) | (uint32_t{pk[5]} << 16) | (pk[6] << 8) | pk[7];
        evs.push_back({T0 + p.join_ms + (ts - ts0) / 90, pi, 2, pk});
      }
    } else {
      double flash_rel = p.flash_at_s - p.join_ms / 1000.0;
      int flash_frame = p.flash_at_s >= 0 ? static_cast<int>(std::lround(flash_rel * fps)) : -1;
      auto paint = [&](uint32_t i, vpx_image_t& img) {
        if (static_cast<int>(i) == flash_frame)
          fill_i420(img, 235, 128, 128);
        else
          fill_i420(img, p.y, p.u, p.v);
      };
      auto frames = encode_vp8_painted(p.w, p.h, static_cast<uint32_t>(dur * fps / 1000), fps, 15, paint,
                                       p.codec == "vp9");
      for (auto& f : frames) {
        uint32_t ts = 9000 + f.index * 6000;
        uint64_t at = T0 + p.join_ms + f.index * 1000ull / fps;
        auto pkts = p.codec == "vp9" ? packetize_vp9(f, vseq, ts, 0x100 + pi) : packetize_vp8(f.data, vseq, ts, 0x100 + pi);
        for (auto& pk : pkts) {
          if (p.cvo >= 0) {  // a one-byte header extension with the CVO element
            pk[0] |= 0x10;
            const uint8_t ext[8] = {0xBE, 0xDE, 0x00, 0x01, 0x30, static_cast<uint8_t>(p.cvo), 0, 0};
            pk.insert(pk.begin() + 12, ext, ext + 8);
          }
          if (uni(rng) >= p.loss) evs.push_back({at, pi, 2, pk});
        }
      }
    }
    double beep = p.flash_at_s >= 0 ? p.flash_at_s - p.join_ms / 1000.0 : -10;
    auto audio = encode_opus_wave(dur / 1000.0, [&](double t) {
      return (t >= beep && t < beep + 0.1) ? 0.8 * std::sin(2 * M_PI * 1000 * t) : 0.0;
    });
    uint16_t aseq = 5000;
    for (size_t i = 0; i < audio.size(); ++i) {
      auto pk = rtp_packet(aseq++, static_cast<uint32_t>(i * 960), 0x200 + pi, 111, false, audio[i].data(), audio[i].size());
      if (uni(rng) >= p.loss) evs.push_back({T0 + p.join_ms + i * 20, pi, 1, pk});
    }
    evs.push_back({T0 + p.leave_ms, pi, 0, {}});
  }
  std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.at < b.at; });
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 64 * 1024;
  auto rec = Recorder::create(cfg).value();
  UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(root));
  q.start();
  std::vector<std::shared_ptr<SessionRecorder>> ss(peers.size());
  std::string room;
  // A keeper session holds the room open so every peer lands in one recording.
  auto keeper = rec->open("app", "room", "zz-keeper", 9, "", "", T0).value();
  room = keeper->room_path();
  for (auto& e : evs) {
    Peer& p = peers[e.peer];
    if (!ss[e.peer]) {
      uint64_t t = T0 + p.join_ms;
      ss[e.peer] = rec->open("app", "room", p.name, 1, "", "", t).value();
      ss[e.peer]->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0, "", t);
      std::string codec = p.codec == "h264" ? "H264" : p.codec;
      TrackInfo vi{TrackKind::video, "video_main", codec, 90000, 0, "packetization-mode=1", 0, ""};
      if (p.cvo >= 0) vi.cvo_extension_id = 3;
      ss[e.peer]->track_started(2, vi, t);
    }
    if (e.track == 0)
      ss[e.peer]->leave(e.at);
    else
      ss[e.peer]->rtp(e.track, e.pkt.data(), e.pkt.size(), e.at);
  }
  uint64_t end = T0;
  for (auto& p : peers) end = std::max(end, T0 + p.leave_ms);
  keeper->leave(end);
  rec->store().wait_drained(60000);
  q.stop();
  return root + "/" + room;
}

ComposeResult compose_room(const std::string& room_dir, const std::string& out, bool audio = true, bool video = true) {
  auto src = RecordingSource::open(room_dir);
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  ComposeOptions o;
  o.output = out;
  o.audio = audio;
  o.video = video;
  o.width = 640;
  o.height = 360;
  o.video_bitrate = 600'000;
  uint64_t last = 0;
  o.progress = [&](uint64_t done, uint64_t) {
    CHECK(done >= last);
    last = done;
  };
  auto r = compose(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->bytes > 0);
  CHECK(r->bytes == fs::file_size(r->media_uri));
  return r.value();
}

// Times (s) of frames whose mean luma jumps above `threshold`.
std::vector<double> bright_frames(const std::string& file, double threshold) {
  std::string outp = run_capture("ffprobe -v error -f lavfi -i \"movie=" + file +
                                 ",signalstats\" -show_entries frame=pts_time:frame_tags=lavfi.signalstats.YAVG "
                                 "-of csv=p=0 2>/dev/null");
  std::vector<double> times;
  std::istringstream in(outp);
  std::string line;
  while (std::getline(in, line)) {
    auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    double t = std::stod(line.substr(0, comma)), y = std::stod(line.substr(comma + 1));
    if (y > threshold) times.push_back(t);
  }
  return times;
}

// Start times (s) of sounds after silence.
std::vector<double> sound_starts(const std::string& file) {
  std::string outp = run_capture("ffmpeg -nostdin -v info -i '" + file +
                                 "' -af silencedetect=n=-35dB:d=0.05 -vn -f null - 2>&1");
  std::vector<double> times;
  std::regex re("silence_end: ([0-9.]+)");
  for (std::sregex_iterator it(outp.begin(), outp.end(), re), end; it != end; ++it) times.push_back(std::stod((*it)[1]));
  return times;
}

}  // namespace

TEST_CASE("flash and beep line up in the composed file (VP8 and VP9 peers, joins at different times)") {
  TempDir dir, out;
  std::vector<Peer> peers(2);
  peers[0].name = "a";
  peers[0].leave_ms = 5000;
  peers[0].flash_at_s = 3.0;
  peers[1].name = "b";
  peers[1].codec = "vp9";
  peers[1].join_ms = 1000;
  peers[1].leave_ms = 5000;
  peers[1].flash_at_s = 3.0;
  peers[1].y = 120;
  auto room = record(dir.str(), peers);
  auto r = compose_room(room, out.str() + "/room.webm");
  CHECK(r.media_uri == out.str() + "/room.webm");
  CHECK(r.duration_ms == doctest::Approx(5000).epsilon(0.02));
  auto p = probe(r.media_uri);
  INFO("decode errors: " << p.decode_errors);
  CHECK(p.ok);
  CHECK(p.decode_errors.empty());
  CHECK(p.duration == doctest::Approx(5.0).epsilon(0.03));
  auto flashes = bright_frames(r.media_uri, 130);
  auto sounds = sound_starts(r.media_uri);
  REQUIRE_FALSE(flashes.empty());
  REQUIRE_FALSE(sounds.empty());
  INFO("flash at " << flashes[0] << " s, beep at " << sounds[0] << " s");
  CHECK(flashes[0] == doctest::Approx(3.0).epsilon(0.025));
  CHECK(std::fabs(flashes[0] - sounds[0]) <= 0.040);
}

TEST_CASE("a grid of 5 live peers: every cell shows its peer's colour where the layout puts it") {
  TempDir dir, out;
  std::vector<Peer> peers(5);
  const uint8_t colours[5][3] = {{82, 90, 240}, {145, 54, 34}, {41, 240, 110}, {210, 16, 146}, {170, 166, 16}};
  for (int i = 0; i < 5; ++i) {
    peers[i].name = "p" + std::to_string(i);
    peers[i].leave_ms = 3000;
    peers[i].y = colours[i][0];
    peers[i].u = colours[i][1];
    peers[i].v = colours[i][2];
    peers[i].w = i % 2 ? 320 : 240;  // different aspect ratios
    peers[i].h = 240;
  }
  auto room = record(dir.str(), peers);
  auto r = compose_room(room, out.str() + "/grid.webm", false, true);
  auto p = probe(r.media_uri);
  CHECK(p.ok);
  // One frame at 2 s, as raw YUV.
  std::string raw = out.str() + "/f.yuv";
  run_capture("ffmpeg -nostdin -v error -ss 2 -i '" + r.media_uri + "' -frames:v 1 -f rawvideo -pix_fmt yuv420p '" +
              raw + "'");
  std::ifstream in(raw, std::ios::binary);
  std::vector<uint8_t> yuv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(yuv.size() == 640 * 360 * 3 / 2);
  auto cells = convert::VideoCompositor::layout(5, 640, 360);
  REQUIRE(cells.size() >= 5);
  std::set<int> seen;
  for (size_t c = 0; c < 5; ++c) {
    uint32_t cx = cells[c].x + cells[c].w / 2, cy = cells[c].y + cells[c].h / 2;
    int y = yuv[cy * 640 + cx];
    int u = yuv[640 * 360 + (cy / 2) * 320 + cx / 2];
    int v = yuv[640 * 360 + 320 * 180 + (cy / 2) * 320 + cx / 2];
    int match = -1;
    for (int i = 0; i < 5; ++i)
      if (std::abs(y - colours[i][0]) < 20 && std::abs(u - colours[i][1]) < 20 && std::abs(v - colours[i][2]) < 20) match = i;
    INFO("cell " << c << " yuv " << y << "," << u << "," << v);
    CHECK(match >= 0);
    seen.insert(match);
  }
  CHECK(seen.size() == 5);  // five different peers in five cells
  // The sixth cell of the 3x2 grid stays black.
  if (cells.size() > 5) {
    auto& e = cells[5];
    CHECK(yuv[(e.y + e.h / 2) * 640 + e.x + e.w / 2] < 30);
  }
}

TEST_CASE("H264 participants and a lossy VP8 participant compose; audio-only works") {
  auto h264 = capture_ffmpeg_h264(3, 15, "320x240");
  REQUIRE(h264.size() > 30);
  TempDir dir, out;
  std::vector<Peer> peers(2);
  peers[0].name = "h";
  peers[0].codec = "h264";
  peers[0].leave_ms = 3000;
  peers[0].h264_packets = h264;
  peers[1].name = "lossy";
  peers[1].leave_ms = 3000;
  peers[1].loss = 0.05;
  auto room = record(dir.str(), peers, 9);
  auto r = compose_room(room, out.str() + "/mixed.webm");
  auto p = probe(r.media_uri);
  INFO("decode errors: " << p.decode_errors);
  CHECK(p.ok);
  CHECK(p.decode_errors.empty());
  CHECK(p.duration == doctest::Approx(3.0).epsilon(0.05));
  auto a = compose_room(room, out.str() + "/audio.webm", true, false);
  auto pa = probe(a.media_uri);
  CHECK(pa.ok);
  CHECK(pa.codec == "opus");
  CHECK(pa.duration == doctest::Approx(3.0).epsilon(0.05));
}

TEST_CASE("compose output to an S3 object and to a presigned PUT URL; cancellation stops it") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  TempDir dir, tmp;
  std::vector<Peer> peers(1);
  peers[0].name = "solo";
  peers[0].leave_ms = 2000;
  auto room = record(dir.str(), peers);
  std::string base = "http://S3RVER:S3RVER@127.0.0.1:" + std::to_string(s3.port()) + "/roomrec-test/";
  auto src = RecordingSource::open(room).value();

  ComposeOptions o;
  o.width = 320;
  o.height = 180;
  o.temp_dir = tmp.str();
  o.output = base + "app/compose/2026/11/25/job1.webm?path_style=true";
  auto r = compose(*src, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->media_uri == "app/compose/2026/11/25/job1.webm");
  const uint64_t s3_bytes = r->bytes;
  auto uri = s3::S3Uri::parse(base + "?path_style=true").value();
  s3::S3Client client(uri);
  auto body = client.get("app/compose/2026/11/25/job1.webm");
  REQUIRE(body.is_ok());
  std::string local = tmp.str() + "/got.webm";
  std::ofstream(local, std::ios::binary) << *body;
  CHECK(body->size() == s3_bytes);
  auto p = probe(local);
  CHECK(p.ok);
  CHECK(p.duration == doctest::Approx(2.0).epsilon(0.05));
  fs::remove(local);

  auto url = s3::presign_url(uri, "PUT", "app/compose/presigned.webm",
                             static_cast<int64_t>(SystemClock::instance().now_ms() / 1000), 600);
  REQUIRE(url.is_ok());
  o.output = *url;
  auto r2 = compose(*src, o);
  REQUIRE_MESSAGE(r2.is_ok(), r2.status().to_string());
  CHECK(r2->media_uri.find("X-Amz-Signature") == std::string::npos);
  CHECK(client.head("app/compose/presigned.webm").is_ok());
  CHECK(fs::is_empty(tmp.path));  // the staging files are gone

  std::atomic<bool> cancel{true};
  o.output = tmp.str() + "/cancelled.webm";
  o.cancel = &cancel;
  auto r3 = compose(*src, o);
  REQUIRE_FALSE(r3.is_ok());
  CHECK(r3.status().code() == ErrorCode::cancelled);
}

TEST_CASE("the video-orientation (CVO) extension turns the picture") {
  TempDir dir, out;
  std::vector<Peer> peers(1);
  peers[0].name = "phone";
  peers[0].leave_ms = 2000;
  peers[0].y = 200;
  peers[0].cvo = 1;  // 90 degrees
  auto room = record(dir.str(), peers);
  auto r = compose_room(room, out.str() + "/cvo.webm", false, true);
  std::string raw = out.str() + "/f.yuv";
  run_capture("ffmpeg -nostdin -v error -ss 1 -i '" + r.media_uri + "' -frames:v 1 -f rawvideo -pix_fmt yuv420p '" +
              raw + "'");
  std::ifstream in(raw, std::ios::binary);
  std::vector<uint8_t> yuv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(yuv.size() == 640 * 360 * 3 / 2);
  // 320x240 turned to 240x320 fits 270x360 in the 640x360 frame: bars up to x=185.
  // Unturned it would fill 480x360 from x=80.
  CHECK(yuv[180 * 640 + 130] < 40);   // black bar where an unturned picture would be
  CHECK(yuv[180 * 640 + 320] > 150);  // the picture in the middle
}
