// record_tool: records synthetic sessions (video RTP, audio RTP, data) with
// deterministic times into any sink URI (file://, a path, or an S3 URI), and
// optionally also into a local folder so a test can compare both byte for byte.
//   record_tool --out URI [--also-local DIR] [--sessions N] [--packets M] [--room R] [--app A] [--media synthetic|real]
// Each session gets M audio packets, one per 20 ms. --media synthetic (the
// default) sends made-up payloads; --media real sends Opus (a tone per
// session) and VP8 (160x120, 15 fps, a keyframe a second) from libopus and
// libvpx, so the recording transmuxes and composes into real pictures and sound.
// Prints one line per uploaded chunk key, then the room path as the last line.
#include <roomrec/log.h>
#include <roomrec/recorder.h>
#include <roomrec/s3_upload.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../unit/media_synth.h"

using namespace roomrec;

namespace {

class TeeSink final : public ChunkSink {
 public:
  TeeSink(std::shared_ptr<ChunkSink> a, std::shared_ptr<ChunkSink> b) : a_(std::move(a)), b_(std::move(b)) {}
  Status upload(const PendingChunk& c, ByteSource& bytes) override {
    std::vector<uint8_t> all;
    uint8_t buf[65536];
    for (;;) {
      auto r = bytes.read(buf, sizeof buf);
      if (!r) return r.status();
      if (*r == 0) break;
      all.insert(all.end(), buf, buf + *r);
    }
    auto s1 = memory_source(all.data(), all.size());
    Status s = a_->upload(c, *s1);
    if (!s) return s;
    auto s2 = memory_source(all.data(), all.size());
    return b_->upload(c, *s2);
  }
  std::string describe() const override { return a_->describe() + " + " + b_->describe(); }

 private:
  std::shared_ptr<ChunkSink> a_, b_;
};

std::vector<uint8_t> rtp(uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt, size_t payload) {
  std::vector<uint8_t> p(12 + payload);
  p[0] = 0x80;
  p[1] = pt;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (size_t i = 0; i < payload; ++i) p[12 + i] = static_cast<uint8_t>(seq * 31 + i);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, also_local, room = "room", app = "app", media = "synthetic";
  int sessions = 2, packets = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--out") out = argv[i + 1];
    else if (a == "--also-local") also_local = argv[i + 1];
    else if (a == "--sessions") sessions = std::atoi(argv[i + 1]);
    else if (a == "--packets") packets = std::atoi(argv[i + 1]);
    else if (a == "--room") room = argv[i + 1];
    else if (a == "--app") app = argv[i + 1];
    else if (a == "--media") media = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (out.empty() || (media != "synthetic" && media != "real")) {
    std::fprintf(stderr,
                 "usage: record_tool --out URI [--also-local DIR] [--sessions N] [--packets M] [--room R] [--app A] "
                 "[--media synthetic|real]\n");
    return 2;
  }
  log_to_stderr(LogLevel::warn);
  auto sink = make_sink_for_uri(out);
  if (!sink) {
    std::fprintf(stderr, "%s\n", sink.status().to_string().c_str());
    return 1;
  }
  std::shared_ptr<ChunkSink> target = sink.value();
  if (!also_local.empty()) target = std::make_shared<TeeSink>(target, std::make_shared<LocalDirectorySink>(also_local));
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 64 * 1024;
  auto rec = Recorder::create(cfg).value();
  UploadQueue q(rec->store(), target);
  std::mutex mu;
  std::vector<std::string> keys;
  q.on_uploaded([&](const PendingChunk& c) {
    std::lock_guard lock(mu);
    keys.push_back(c.key.to_string());
  });
  q.start();
  const uint64_t t0 = 1'731'132'577'000ULL;
  std::vector<std::shared_ptr<SessionRecorder>> ss;
  for (int s = 0; s < sessions; ++s) {
    auto x = rec->open(app, room, "peer-" + std::to_string(s), 1000 + s, "127.0.0.1", "record_tool", t0 + s).value();
    x->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "useinbandfec=1", 11, "", t0 + s);
    x->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 22, "", t0 + s);
    ss.push_back(x);
  }
  const bool real = media == "real";
  constexpr uint32_t kFps = 15;
  std::vector<std::vector<testing::EncodedFrame>> video(ss.size());
  std::vector<std::vector<std::vector<uint8_t>>> audio(ss.size());
  std::vector<uint16_t> video_seq(ss.size(), 0);
  std::vector<size_t> next_frame(ss.size(), 0);
  if (real) {
    for (size_t s = 0; s < ss.size(); ++s) {
      video[s] = testing::encode_vp8(160, 120, static_cast<uint32_t>(packets) * 20 * kFps / 1000, kFps, kFps);
      audio[s] = testing::encode_opus(packets * 0.02 + 0.01, 300.0 + 150.0 * static_cast<double>(s));
    }
  }
  for (int i = 0; i < packets; ++i) {
    for (size_t s = 0; s < ss.size(); ++s) {
      auto& x = ss[s];
      if (real) {
        const auto& opus = audio[s].at(static_cast<size_t>(i));
        auto a = testing::rtp_packet(static_cast<uint16_t>(i), 960u * i, 11, 111, false, opus.data(), opus.size());
        x->rtp(1, a.data(), a.size(), t0 + 20 * i);
        // The video frames due by the end of this 20 ms step.
        for (; next_frame[s] < video[s].size(); ++next_frame[s]) {
          const auto& f = video[s][next_frame[s]];
          uint64_t ms = uint64_t{f.index} * 1000 / kFps;
          if (ms >= 20ull * (i + 1)) break;
          for (auto& p : testing::packetize_vp8(f.data, video_seq[s], static_cast<uint32_t>(ms * 90), 22))
            x->rtp(2, p.data(), p.size(), t0 + ms + 1);
        }
      } else {
        auto a = rtp(static_cast<uint16_t>(i), 960u * i, 11, 111, 80);
        auto v = rtp(static_cast<uint16_t>(i), 3000u * i, 22, 96, 900);
        x->rtp(1, a.data(), a.size(), t0 + 20 * i);
        x->rtp(2, v.data(), v.size(), t0 + 20 * i + 1);
      }
      if (i % 100 == 0) {
        std::string m = "message " + std::to_string(i);
        x->data("chat", false, reinterpret_cast<const uint8_t*>(m.data()), m.size(), t0 + 20 * i + 2);
      }
    }
  }
  for (auto& x : ss) x->leave(t0 + 20 * packets);
  if (!rec->store().wait_drained(120000)) {
    std::fprintf(stderr, "uploads did not finish\n");
    return 1;
  }
  q.stop();
  for (auto& k : keys) std::printf("%s\n", k.c_str());
  std::printf("%s\n", ss[0]->room_path().c_str());
  return 0;
}
