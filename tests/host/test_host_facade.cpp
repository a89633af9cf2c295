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
#include <roomrec/hook_sender.h>
#include <roomrec/recording_service.h>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

// A hook endpoint on a loopback port: keeps each POST's body; answers 500 to
// the first `fail_first` requests, 200 after.
class HookReceiver {
 public:
  explicit HookReceiver(int fail_first) : fail_left_(fail_first) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~HookReceiver() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void run() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      size_t need = std::string::npos;
      while (need == std::string::npos || in.size() < need) {
        ssize_t k = ::recv(c, buf, sizeof buf, 0);
        if (k <= 0) break;
        in.append(buf, static_cast<size_t>(k));
        auto end = in.find("\r\n\r\n");
        if (need == std::string::npos && end != std::string::npos) {
          auto cl = in.find("Content-Length: ");
          size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
          need = end + 4 + len;
        }
      }
      bool fail;
      {
        std::lock_guard lock(mu_);
        ++requests_;
        fail = fail_left_ > 0;
        if (fail) --fail_left_;
        else if (need != std::string::npos) bodies_.push_back(in.substr(in.find("\r\n\r\n") + 4));
      }
      std::string out = fail ? "HTTP/1.1 500 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                             : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mu_;
  int fail_left_;
  int requests_ = 0;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a C++ host sends its own hook events through the public HookSender") {
  HookConfig bad;
  bad.url = "ftp://hooks.example/x";
  auto refused = HookSender::create(bad);
  REQUIRE(!refused.is_ok());
  CHECK(refused.status().message() == "hooks.url must be an http:// or https:// URL");
  CHECK(validate(bad).message() == refused.status().message());

  HookReceiver receiver(1);  // the first attempt fails: retried
  HookConfig hc;
  hc.url = receiver.url();
  hc.node = 7;
  hc.retry_initial_ms = 20;
  hc.retry_max_ms = 50;
  auto sender = HookSender::create(hc);
  REQUIRE(sender.is_ok());
  HookSender& h = **sender;
  CHECK(h.room_event(RoomHookKind::peer_joined, "app", "room1", "").code() == ErrorCode::invalid_argument);
  CHECK(h.send_json("{not json").code() == ErrorCode::invalid_argument);
  CHECK(h.room_event(RoomHookKind::started, "app", "room1", {}, 1000).is_ok());
  CHECK(h.room_event(RoomHookKind::peer_joined, "app", "room1", "alice", 1001).is_ok());
  CHECK(h.record_event(RecordHookKind::peer_joined, "app", "room1", "alice", "rec/app/room1/5/alice/1", 1002).is_ok());
  CHECK(h.send_json(R"({"mine":1})").is_ok());
  REQUIRE(h.flush(20'000));
  auto bodies = receiver.bodies();
  REQUIRE(bodies.size() == 4);  // in order, the failed first attempt retried
  CHECK(receiver.requests() == 5);
  CHECK(bodies[0].find(R"("node":7,"ts":1000)") != std::string::npos);
  CHECK(bodies[0].find(R"("Room":{"app":"app","room":"room1")") != std::string::npos);
  CHECK(bodies[1].find("PeerJoined") != std::string::npos);
  CHECK(bodies[1].find(R"("alice")") != std::string::npos);
  CHECK(bodies[2].find(R"("Record")") != std::string::npos);
  CHECK(bodies[2].find("rec/app/room1/5/alice/1") != std::string::npos);
  CHECK(bodies[3] == R"({"mine":1})");
  HookSenderStats st = h.stats();
  CHECK(st.sent == 4);
  CHECK(st.failed_attempts == 1);
  CHECK(st.pending == 0);
}

TEST_CASE("a C++ host records to S3 through an outage and a restart, recovers and converts (facade only)") {
  testing::S3rverProcess s3;
  REQUIRE_MESSAGE(s3.available(), s3.reason());  // scripts/bootstrap installs it: missing is a failure
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
