// A C++ host through the public API only (issue 16): <roomrec/recording_service.h>
// to record, <roomrec/converter.h> to convert, linked against the shared
// libraries libroomrec and libroomrec-convert (no internal header, no archive).
//
// Record a session of real VP8 + Opus to the local S3 server; the server goes
// away mid-recording (uploads fail and are retried, the facade reports them);
// the host shuts down (what is unsent is persisted to the spill folder), the
// server comes back, a new service recovers and uploads the rest; the room is
// then transmuxed and every frame sent is in the output.
#include <roomrec/converter.h>
#include <roomrec/recording_service.h>

#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3/s3rver_process.h"
#include "unit/media_synth.h"

namespace fs = std::filesystem;
using namespace roomrec;

namespace {

struct Feed {
  std::vector<testing::EncodedFrame> video;
  std::vector<std::vector<uint8_t>> audio;
  uint16_t vseq = 1000, aseq = 7;
};

// Sends media time [from_ms, to_ms) of the feed: 25 fps video, 20 ms Opus.
void send(SessionRecorder& s, Feed& f, uint64_t t0, uint64_t from_ms, uint64_t to_ms) {
  for (uint64_t t = from_ms; t < to_ms; t += 20) {
    size_t a = t / 20;
    if (a < f.audio.size()) {
      auto p = testing::rtp_packet(f.aseq++, static_cast<uint32_t>(a * 960), 0x1111, 111, false, f.audio[a].data(),
                                   f.audio[a].size());
      REQUIRE(s.rtp(1, p.data(), p.size(), t0 + t) == RecordResult::ok);
    }
    if (t % 40 == 0) {
      size_t v = t / 40;
      if (v < f.video.size())
        for (auto& p : testing::packetize_vp8(f.video[v].data, f.vseq, static_cast<uint32_t>(v * 3600), 0x2222))
          REQUIRE(s.rtp(2, p.data(), p.size(), t0 + t) == RecordResult::ok);
    }
  }
}

RecordingServiceConfig config_for(const std::string& s3_uri, const fs::path& spill, std::atomic<int>* errors,
                                  std::atomic<int>* uploaded, std::atomic<int>* keyframes) {
  RecordingServiceConfig c;
  c.max_chunk_ms = 500;  // many chunks: some before, some during the outage
  c.store.spill_dir = spill.string();
  UploadConfig u;
  u.uri = s3_uri;
  u.workers = 2;
  u.retry_initial_ms = 50;
  u.retry_max_ms = 200;
  u.connect_timeout_ms = 500;
  c.upload = u;
  c.on_error = [errors](const Status&) { ++*errors; };
  c.on_uploaded = [uploaded](const std::string&, uint64_t) { ++*uploaded; };
  c.request_keyframe = [keyframes](SessionRecorder& s, uint32_t) {
    // per-session user data: the host's own object for this session
    if (s.user_data()) ++*static_cast<std::atomic<int>*>(s.user_data());
    ++*keyframes;
  };
  return c;
}

}  // namespace

TEST_CASE("a C++ host records to S3 through an outage and a restart, recovers and converts (facade only)") {
  testing::S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  REQUIRE_MESSAGE(s3.running(), s3.reason());
  fs::path work = fs::temp_directory_path() / ("roomrec-host-facade-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string uri = s3.s3_uri("roomrec-test", "rec");

  Feed feed;
  feed.video = testing::encode_vp8(160, 120, 150, 25, 25);  // 6 s, a keyframe a second
  feed.audio = testing::encode_opus(6.0, 440);
  const uint64_t t0 = 1'700'000'000'000ULL;

  std::atomic<int> errors{0}, uploaded{0}, keyframes{0}, alice_keyframes{0};
  std::string room_path;
  size_t unsent = 0;
  {
    auto svc = RecordingService::create(config_for(uri, work / "spill", &errors, &uploaded, &keyframes));
    REQUIRE_MESSAGE(svc.is_ok(), svc.status().to_string());
    REQUIRE((*svc)->start().is_ok());
    SessionParams p;
    p.app = "app";
    p.room = "room";
    p.peer = "alice";
    p.session_id = 1;
    p.user_data = &alice_keyframes;
    auto session = (*svc)->open(p, t0);
    REQUIRE(session.is_ok());
    auto& s = **session;
    TrackInfo audio{TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0x1111, "", 0};
    TrackInfo video{TrackKind::video, "video_main", "vp8", 90000, 0, "", 0x2222, "", 0};
    REQUIRE(s.track_started(1, audio, t0) == RecordResult::ok);
    REQUIRE(s.track_started(2, video, t0) == RecordResult::ok);
    CHECK(alice_keyframes.load() >= 1);  // found through SessionRecorder::user_data()
    room_path = s.room_path();

    send(s, feed, t0, 0, 2000);
    s.tick(t0 + 2000);
    REQUIRE((*svc)->flush(20'000).is_ok());
    int before_outage = uploaded.load();
    CHECK(before_outage >= 3);

    s3.stop();  // outage
    send(s, feed, t0, 2000, 6000);
    REQUIRE(s.track_stopped(1, t0 + 6000) == RecordResult::ok);
    REQUIRE(s.track_stopped(2, t0 + 6000) == RecordResult::ok);
    REQUIRE(s.leave(t0 + 6000) == RecordResult::ok);
    CHECK(!(*svc)->flush(1500).is_ok());  // the server is away: still pending after retries
    CHECK(errors.load() >= 1);    // failed attempts reported through on_error
    RecordingServiceStats st = (*svc)->stats();
    CHECK(st.store.chunks_pending + st.store.chunks_uploading >= 1);
    CHECK(st.upload.has_value());
    unsent = (*svc)->shutdown(200);  // persisted to the spill folder
    CHECK(unsent >= 1);
    CHECK(uploaded.load() == before_outage);
  }

  REQUIRE_MESSAGE(s3.start(), s3.reason());
  {
    std::atomic<int> errors2{0}, uploaded2{0}, keyframes2{0};
    auto svc = RecordingService::create(config_for(uri, work / "spill", &errors2, &uploaded2, &keyframes2));
    REQUIRE(svc.is_ok());
    REQUIRE((*svc)->start().is_ok());  // recovers what the first run left
    CHECK((*svc)->stats().store.chunks_recovered == unsent);
    REQUIRE((*svc)->flush(30'000).is_ok());
    CHECK((*svc)->shutdown(1000) == 0);
    // (after shutdown: the workers are joined, so every on_uploaded has run)
    CHECK(static_cast<size_t>(uploaded2.load()) == unsent);
  }

  ConvertJob job;
  job.input = s3.s3_uri("roomrec-test", "rec/" + room_path);
  TransmuxOptions t;
  t.output = (work / "out").string();
  t.threads = 1;
  job.transmux = t;
  REQUIRE(validate(job).is_ok());
  auto result = convert(job);
  REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
  REQUIRE(result->transmux.has_value());
  uint64_t video_frames = 0, audio_frames = 0;
  for (const auto& f : result->transmux->files) {
    CHECK(fs::exists(f.uri));
    if (f.codec == "vp8") video_frames += f.frames;
    if (f.codec == "opus") audio_frames += f.frames;
  }
  CHECK(video_frames == feed.video.size());
  CHECK(audio_frames == feed.audio.size());
  CHECK(result->to_json().find("\"files\"") != std::string::npos);
  for (const auto& pr : result->problems) MESSAGE("problem: " << pr);
  fs::remove_all(work);
}
