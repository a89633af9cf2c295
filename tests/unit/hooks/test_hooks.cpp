#include <doctest/doctest.h>
#include <roomrec/hook_sender.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "util/manual_clock.h"
#include "hooks/hook_event.h"
#include "hooks/hook_sender.h"

using namespace roomrec::hooks;
namespace cc = cluster_connector;

TEST_CASE("protobuf-json bodies have the reference's exact shape") {
  // The seed's example, byte for byte.
  auto e = record_started(22, 1731132577151ULL, "app_id", "room_uuid", "app_id/room_uuid/number");
  CHECK(to_json(e) ==
        R"({"node":22,"ts":1731132577151,"event":{"Record":{"app":"app_id","room":"room_uuid","event":{"Started":{"path":"app_id/room_uuid/number"}}}}})");
  CHECK(to_json(record_peer_joined(1, 2, "a", "r", "p", "a/r/1/p/7")) ==
        R"({"node":1,"ts":2,"event":{"Record":{"app":"a","room":"r","event":{"PeerJoined":{"peer":"p","path":"a/r/1/p/7"}}}}})");
  CHECK(to_json(room_event(0, 5, "a", "r", RoomEventKind::peer_leaved, "bob")) ==
        R"({"node":0,"ts":5,"event":{"Room":{"app":"a","room":"r","event":{"PeerLeaved":{"peer":"bob"}}}}})");
  CHECK(to_json(room_event(0, 5, "a", "r", RoomEventKind::all_peers_leaved)) ==
        R"({"node":0,"ts":5,"event":{"Room":{"app":"a","room":"r","event":{"AllPeersLeaved":{}}}}})");
  CHECK(to_json(compose_started(0, 9, "a", "j1")) ==
        R"({"node":0,"ts":9,"event":{"Compose":{"app":"a","job_id":"j1","event":{"Started":{}}}}})");
  CHECK(to_json(compose_failed(0, 9, "a", "j1", "no \"chunks\"")) ==
        R"({"node":0,"ts":9,"event":{"Compose":{"app":"a","job_id":"j1","event":{"Failed":{"error":"no \"chunks\""}}}}})");

  HookEvent done;
  done.set_ts(10);
  auto* c = done.mutable_compose();
  c->set_app("a");
  c->set_job_id("j2");
  auto* comp = c->mutable_completed();
  comp->mutable_compose()->set_media_uri("s3://out.webm");
  comp->mutable_compose()->set_duration_ms(1234);
  auto* tm = comp->mutable_transmux();
  tm->set_metadata_json("{}");
  auto& track = (*(*(*tm->mutable_peers())["alice"].mutable_sessions())[42].mutable_track())["audio_main"];
  track.set_kind(cc::AUDIO);
  auto* tl = track.add_timeline();
  tl->set_path("alice-42-audio_main.webm");
  tl->set_start(100);
  tl->set_end(200);
  CHECK(to_json(done) ==
        R"({"node":0,"ts":10,"event":{"Compose":{"app":"a","job_id":"j2","event":{"Completed":{"transmux":{"metadata_json":"{}","peers":{"alice":{"sessions":{"42":{"track":{"audio_main":{"kind":0,"timeline":[{"path":"alice-42-audio_main.webm","start":100,"end":200}]}}}}}}},"compose":{"media_uri":"s3://out.webm","duration_ms":1234}}}}}})");
}

TEST_CASE("compose_completed fills TransmuxSummary from our summary.json, byte for byte the reference's shape") {
  // A summary.json as the transmuxer writes it: our extra fields (app, problems,
  // codec, frames, packet statistics...) must not reach the hook.
  const std::string summary = R"({
    "metadata_json": "{\"app\":\"a\",\"room\":\"r\",\"room_record_id\":\"1731132577000\"}",
    "app": "a", "room": "r", "room_record_id": "1731132577000", "duration_ms": 5000,
    "peers": {
      "bob": {"sessions": {"7": {"track": {"video_main": {"kind": 1, "timeline": [
        {"path": "bob-7-vp8-video_main-1731132577000.webm", "start": 1731132577000, "end": 1731132580000,
         "codec": "vp8", "width": 640, "height": 360, "frames": 90, "packets_lost": 0}]}}}}},
      "alice": {"sessions": {"42": {"track": {
        "audio_main": {"kind": 0, "timeline": [
          {"path": "alice-42-opus-audio_main-100.webm", "start": 100, "end": 200, "codec": "opus"},
          {"path": "alice-42-opus-audio_main-300.webm", "start": 300}]}}}}}
    },
    "problems": ["session alice/42: chunk 3 missing"]
  })";
  ComposeOutput out{"app/compose/2024/11/09/j.webm", 1234};
  auto both = compose_completed(0, 1731132577151ULL, "a", "j", &summary, &out);
  CHECK(to_json(both) ==
        R"({"node":0,"ts":1731132577151,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":{"metadata_json":"{\"app\":\"a\",\"room\":\"r\",\"room_record_id\":\"1731132577000\"}","peers":{"alice":{"sessions":{"42":{"track":{"audio_main":{"kind":0,"timeline":[{"path":"alice-42-opus-audio_main-100.webm","start":100,"end":200},{"path":"alice-42-opus-audio_main-300.webm","start":300,"end":0}]}}}}},"bob":{"sessions":{"7":{"track":{"video_main":{"kind":1,"timeline":[{"path":"bob-7-vp8-video_main-1731132577000.webm","start":1731132577000,"end":1731132580000}]}}}}}}},"compose":{"media_uri":"app/compose/2024/11/09/j.webm","duration_ms":1234}}}}}})");

  // Only one of the two parts: the other is null.
  CHECK(to_json(compose_completed(3, 9, "a", "j", nullptr, &out)) ==
        R"({"node":3,"ts":9,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":null,"compose":{"media_uri":"app/compose/2024/11/09/j.webm","duration_ms":1234}}}}}})");
  const std::string empty_room = R"({"metadata_json":"{}","peers":{}})";
  CHECK(to_json(compose_completed(3, 9, "a", "j", &empty_room, nullptr)) ==
        R"({"node":3,"ts":9,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":{"metadata_json":"{}","peers":{}},"compose":null}}}}})");

  // The binary body carries the same content (field numbers of the reference).
  cc::HookEvent back;
  REQUIRE(back.ParseFromString(encode(both, BodyType::protobuf_binary).body));
  const auto& t = back.compose().completed().transmux();
  CHECK(t.peers().at("bob").sessions().at(7).track().at("video_main").kind() == cc::VIDEO);
  CHECK(t.peers().at("alice").sessions().at(42).track().at("audio_main").timeline_size() == 2);
  CHECK(back.compose().completed().compose().duration_ms() == 1234);
}

TEST_CASE("compose_completed adds outputs and speakers only when a job made them") {
  ComposeOutput out{"o.webm", 1000};
  // Nothing extra: the reference's event exactly (an empty extra changes nothing).
  CompletedExtra none;
  CHECK(to_json(compose_completed(0, 1, "a", "j", nullptr, &out, nullptr, &none)) ==
        to_json(compose_completed(0, 1, "a", "j", nullptr, &out)));
  CHECK(to_json(compose_completed(0, 1, "a", "j", nullptr, &out, nullptr, &none)).find("outputs") == std::string::npos);

  CompletedExtra extra;
  extra.outputs.push_back({"speakers", "out/speakers.json", "", 321, 5000, ""});
  extra.outputs.push_back({"thumbnails", "out/room-thumbnails/room.vtt", "", 0, 5000, ""});
  extra.has_speakers = true;
  extra.speakers["bob"] = {};  // had audio, never spoke
  extra.speakers["alice"] = {{100, 900}, {1500, 2000}};
  auto e = compose_completed(0, 1, "a", "j", nullptr, &out, nullptr, &extra);
  CHECK(to_json(e) ==
        R"({"node":0,"ts":1,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":null,"compose":{"media_uri":"o.webm","duration_ms":1000},"outputs":[{"kind":"speakers","uri":"out/speakers.json","peer":"","bytes":321,"duration_ms":5000,"how":""},{"kind":"thumbnails","uri":"out/room-thumbnails/room.vtt","peer":"","bytes":0,"duration_ms":5000,"how":""}],"speakers":{"alice":{"spans":[{"start":100,"end":900},{"start":1500,"end":2000}]},"bob":{"spans":[]}}}}}}})");
  // Binary: new field numbers, which a reference decoder skips as unknown.
  cc::HookEvent back;
  REQUIRE(back.ParseFromString(encode(e, BodyType::protobuf_binary).body));
  const auto& c = back.compose().completed();
  REQUIRE(c.outputs_size() == 2);
  CHECK(c.outputs(1).kind() == "thumbnails");
  CHECK(c.outputs(0).bytes() == 321);
  CHECK(c.speakers().at("alice").spans_size() == 2);
  CHECK(c.speakers().at("alice").spans(1).end() == 2000);
  CHECK(c.speakers().at("bob").spans_size() == 0);
  CHECK(c.compose().duration_ms() == 1000);
}

TEST_CASE("compose_completed carries the recording pauses of summary.json (issue 18), only where there were some") {
  const std::string summary = R"({"metadata_json": "{}", "peers": {"pia": {"sessions": {"3": {
    "pauses": [{"start": 2000, "end": 5000}, {"start": 1, "end": "x"}],
    "track": {"audio_main": {"kind": 0, "timeline": [
      {"path": "a.webm", "start": 1000, "end": 8000, "pauses": [{"start": 2000, "end": 5000}], "paused_ms": 3000}]},
              "video_main": {"kind": 1, "timeline": [{"path": "v.webm", "start": 1000, "end": 8000}]}}}}}}})";
  auto e = compose_completed(0, 1, "a", "j", &summary, nullptr);
  CHECK(to_json(e) ==
        R"({"node":0,"ts":1,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":{"metadata_json":"{}","peers":{"pia":{"sessions":{"3":{"track":{"audio_main":{"kind":0,"timeline":[{"path":"a.webm","start":1000,"end":8000,"pauses":[{"start":2000,"end":5000}]}]},"video_main":{"kind":1,"timeline":[{"path":"v.webm","start":1000,"end":8000}]}},"pauses":[{"start":2000,"end":5000}]}}}}},"compose":null}}}}})");
  cc::HookEvent back;
  REQUIRE(back.ParseFromString(encode(e, BodyType::protobuf_binary).body));
  const auto& s = back.compose().completed().transmux().peers().at("pia").sessions().at(3);
  REQUIRE(s.pauses_size() == 1);
  CHECK(s.pauses(0).end() == 5000);
  CHECK(s.track().at("audio_main").timeline(0).pauses_size() == 1);
}

TEST_CASE("compose_completed skips malformed summary entries instead of failing") {
  const std::string bad = R"({"metadata_json": 5, "peers": {
    "p": {"sessions": {"not-a-number": {"track": {}}, "1": {"track": {
      "ok": {"kind": 0, "timeline": [{"path": "x.webm", "start": 1, "end": 2}, {"path": 3, "start": 1}, "junk"]},
      "bad_kind": {"kind": 7, "timeline": []},
      "no_kind": {"timeline": []}}}}},
    "q": "not an object"}})";
  CHECK(to_json(compose_completed(0, 1, "a", "j", &bad, nullptr)) ==
        R"({"node":0,"ts":1,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":{"metadata_json":"","peers":{"p":{"sessions":{"1":{"track":{"ok":{"kind":0,"timeline":[{"path":"x.webm","start":1,"end":2}]}}}}}}},"compose":null}}}}})");
  const std::string not_json = "{";
  CHECK(to_json(compose_completed(0, 1, "a", "j", &not_json, nullptr)) ==
        R"({"node":0,"ts":1,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":{"metadata_json":"","peers":{}},"compose":null}}}}})");
}

TEST_CASE("compose_completed lists the participant files, remuxed or re-encoded, only when the job made them") {
  const std::string people = R"({"output": "/o", "start": 1, "end": 5001, "duration_ms": 5000, "files": [
    {"path": "alice.webm", "uri": "/o/alice.webm", "kind": "av", "peer": "alice", "sessions": [1, 2],
     "video": "reencoded", "video_reason": "sizes differ: 320x240 640x360", "duration_ms": 5000, "bytes": 9},
    {"path": "alice-audio.webm", "uri": "/o/alice-audio.webm", "kind": "audio", "peer": "alice", "video": "none",
     "video_reason": "", "duration_ms": 5000},
    {"path": "speakers-multichannel.wav", "uri": "/o/speakers-multichannel.wav", "kind": "multichannel",
     "peer": null, "video": "none", "duration_ms": 5000},
    "junk"],
    "channels": [{"channel": 0, "peer": "alice"}], "problems": []})";
  auto e = compose_completed(0, 1, "a", "j", nullptr, nullptr, &people);
  CHECK(to_json(e) ==
        R"({"node":0,"ts":1,"event":{"Compose":{"app":"a","job_id":"j","event":{"Completed":{"transmux":null,"compose":null,"participants":{"files":[{"path":"alice.webm","uri":"/o/alice.webm","kind":"av","peer":"alice","video":"reencoded","video_reason":"sizes differ: 320x240 640x360","duration_ms":5000},{"path":"alice-audio.webm","uri":"/o/alice-audio.webm","kind":"audio","peer":"alice","video":"none","video_reason":"","duration_ms":5000},{"path":"speakers-multichannel.wav","uri":"/o/speakers-multichannel.wav","kind":"multichannel","peer":"","video":"none","video_reason":"","duration_ms":5000}],"channels":["alice"]}}}}}})");
  cc::HookEvent back;
  REQUIRE(back.ParseFromString(encode(e, BodyType::protobuf_binary).body));
  REQUIRE(back.compose().completed().participants().files_size() == 3);
  CHECK(back.compose().completed().participants().files(0).video() == "reencoded");
  // Without participant files the event keeps the reference's shape (no "participants" key).
  CHECK(to_json(compose_completed(0, 1, "a", "j", nullptr, nullptr)).find("participants") == std::string::npos);
}

TEST_CASE("protobuf-binary bodies use the reference's field numbers") {
  auto e = record_started(22, 1, "a", "r", "p");
  auto enc = encode(e, BodyType::protobuf_binary);
  CHECK(enc.content_type == "application/octet-stream");
  // node=1 (varint 22), ts=2 (varint 1), record=5 { room=1 "r", started=2 { path=1 "p" }, app=4 "a" }
  const std::string expected("\x08\x16\x10\x01\x2a\x0b\x0a\x01r\x12\x03\x0a\x01p\x22\x01" "a", 17);
  CHECK(enc.body == expected);
  HookEvent back;
  REQUIRE(back.ParseFromString(enc.body));
  CHECK(back.record().started().path() == "p");
  CHECK(encode(e, BodyType::protobuf_json).content_type == "application/json");
  CHECK(body_type_from_name("protobuf-binary") == BodyType::protobuf_binary);
  CHECK_FALSE(body_type_from_name("xml").has_value());
}

namespace {

struct Receiver {
  httplib::Server server;
  std::thread thread;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;  // content type, body
  int port = 0;
  std::atomic<int> fail_next{0};

  explicit Receiver(int fixed_port = 0) {
    server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      if (fail_next > 0) {
        fail_next--;
        res.status = 503;
        return;
      }
      std::lock_guard lock(mu);
      got.emplace_back(req.get_header_value("Content-Type"), req.body);
      res.status = 200;
    });
    if (fixed_port)
      port = server.bind_to_port("127.0.0.1", fixed_port) ? fixed_port : -1;
    else
      port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~Receiver() {
    server.stop();
    thread.join();
  }
  size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

// A port nothing listens on (bound once by the kernel's choice, then closed).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("the hook sender delivers byte-exact JSON and binary bodies in order") {
  Receiver rx;
  for (auto type : {BodyType::protobuf_json, BodyType::protobuf_binary}) {
    HookSenderConfig cfg;
    cfg.url = "http://127.0.0.1:" + std::to_string(rx.port) + "/hook";
    cfg.body_type = type;
    HookSender sender(cfg);
    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) {
      auto e = room_event(1, 1000 + i, "app", "room", RoomEventKind::peer_joined, "peer" + std::to_string(i));
      expected.push_back(encode(e, type).body);
      REQUIRE(sender.send(e));
    }
    REQUIRE(sender.flush(10000));
    std::lock_guard lock(rx.mu);
    REQUIRE(rx.got.size() == 20);
    for (int i = 0; i < 20; ++i) {
      CHECK(rx.got[i].first == content_type_of(type));
      CHECK(rx.got[i].second == expected[i]);
    }
    rx.got.clear();
    CHECK(sender.stats().sent == 20);
  }
}

TEST_CASE("hooks sent while the receiver is down arrive, in order, once it is up") {
  int port = free_port();
  HookSenderConfig cfg;
  cfg.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  cfg.retry_initial_ms = 20;
  cfg.retry_max_ms = 100;
  HookSender sender(cfg);
  for (int i = 0; i < 5; ++i) sender.send(record_started(0, i, "a", "r" + std::to_string(i), "p"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(sender.stats().failed_attempts >= 1);
  CHECK(sender.stats().sent == 0);
  Receiver rx(port);
  REQUIRE(rx.port == port);
  rx.fail_next = 2;  // and it answers 503 twice more before it works
  REQUIRE(sender.flush(10000));
  std::lock_guard lock(rx.mu);
  REQUIRE(rx.got.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(rx.got[i].first == "application/json");
    CHECK(rx.got[i].second.find("\"room\":\"r" + std::to_string(i) + "\"") != std::string::npos);
  }
  CHECK(sender.stats().sent == 5);
}

TEST_CASE("the hook queue is bounded: overflow is dropped and counted, never blocking") {
  HookSenderConfig cfg;
  cfg.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/hook";
  cfg.queue_capacity = 3;
  cfg.retry_initial_ms = 1000;
  HookSender sender(cfg);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += sender.send(compose_started(0, i, "a", "j"));
  CHECK(accepted == 3);
  CHECK(sender.stats().dropped == 7);
  sender.stop();
  CHECK(sender.stats().dropped == 10);  // the undelivered ones too
  CHECK_FALSE(sender.send(compose_started(0, 0, "a", "j")));
}

TEST_CASE("the public HookSender's Record events are the reference's JSON, word for word") {
  Receiver rx;
  roomrec::HookConfig cfg;
  cfg.url = "http://127.0.0.1:" + std::to_string(rx.port) + "/hook";
  cfg.node = 22;
  auto made = roomrec::HookSender::create(cfg);
  REQUIRE(made.is_ok());
  roomrec::HookSender& sender = **made;
  const uint64_t ts = 1731132577151ULL;
  CHECK(sender.record_event(roomrec::RecordHookKind::started, "app_id", "room_uuid", "", "app_id/room_uuid/number", ts)
            .is_ok());
  CHECK(sender
            .record_event(roomrec::RecordHookKind::peer_joined, "app_id", "room_uuid", "alice",
                          "app_id/room_uuid/number/alice/7", ts)
            .is_ok());
  REQUIRE(sender.flush(10000));
  std::lock_guard lock(rx.mu);
  REQUIRE(rx.got.size() == 2);
  CHECK(rx.got[0].second ==
        R"({"node":22,"ts":1731132577151,"event":{"Record":{"app":"app_id","room":"room_uuid","event":{"Started":{"path":"app_id/room_uuid/number"}}}}})");
  CHECK(rx.got[1].second ==
        R"({"node":22,"ts":1731132577151,"event":{"Record":{"app":"app_id","room":"room_uuid","event":{"PeerJoined":{"peer":"alice","path":"app_id/room_uuid/number/alice/7"}}}}})");
}
