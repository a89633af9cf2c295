// Chunks to a real S3 server (s3rver, which checks SigV4 signatures) through
// presigned PUT URLs: outages, faults, expired URLs, restarts.
#include <doctest/doctest.h>

#include "../temp_dir.h"
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <roomrec/chunk_reader.h>
#include <roomrec/recorder.h>
#include <roomrec/s3_upload.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "../../s3/s3rver_process.h"
#include "../rtp_test_util.h"
#include "fault_proxy.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"
#include "s3/sigv4.h"

using namespace roomrec;
using roomrec::testing::FaultProxy;
using roomrec::testing::make_rtp;
using roomrec::testing::S3rverProcess;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t T0 = 1'731'132'577'000ULL;
const char* kBucket = "roomrec-test";

using roomrec::testing::TempDir;

std::string s3_uri_for(int port, const std::string& prefix, const std::string& secret = "S3RVER") {
  return "http://S3RVER:" + secret + "@127.0.0.1:" + std::to_string(port) + "/" + kBucket + "/" + prefix +
         "?path_style=true";
}

// Records `sessions` sessions of `packets` video packets each; returns chunk count.
uint64_t record(Recorder& rec, const std::string& room, int sessions, int packets, uint64_t t0 = T0,
                const std::function<void(int)>& midway = nullptr) {
  std::vector<std::shared_ptr<SessionRecorder>> ss;
  for (int s = 0; s < sessions; ++s) {
    auto x = rec.open("app", room, "peer" + std::to_string(s), 100 + s, "", "", t0).value();
    x->track_started(1, TrackKind::video, "video_main", "vp8", 90000, 0, "", 1, "", t0);
    ss.push_back(x);
  }
  for (int i = 0; i < packets; ++i) {
    if (midway) midway(i);
    for (auto& x : ss) {
      auto p = make_rtp(static_cast<uint16_t>(i), 0, 1, 1000);
      REQUIRE(x->rtp(1, p.data(), p.size(), t0 + i) == RecordResult::ok);
    }
  }
  uint64_t chunks = 0;
  for (auto& x : ss) {
    x->leave(t0 + packets);
    chunks += x->stats().chunks_closed;
  }
  return chunks;
}

// Lists the room in S3 and checks every object: intact, once, and all the
// packets of every session there exactly once, in order.
void verify_room(const std::string& uri, const std::string& room, int sessions, int packets, uint64_t chunks) {
  auto parsed = s3::S3Uri::parse(uri).value();
  s3::S3Client client(parsed);
  auto list = client.list(parsed.key("app/" + room + "/"));
  REQUIRE(list.is_ok());
  CHECK(list->objects.size() == chunks);
  std::map<std::string, std::vector<ChunkKey>> by_session;
  std::set<std::string> keys;
  for (auto& o : list->objects) {
    CHECK(keys.insert(o.key).second);
    auto k = ChunkKey::parse(o.key);
    REQUIRE(k.has_value());
    by_session[k->peer].push_back(*k);
  }
  REQUIRE(by_session.size() == static_cast<size_t>(sessions));
  for (auto& [peer, ks] : by_session) {
    std::sort(ks.begin(), ks.end());
    int next_seq = 0;
    for (size_t i = 0; i < ks.size(); ++i) {
      CHECK(ks[i].index == i);
      auto body = client.get(ks[i].to_string());
      REQUIRE(body.is_ok());
      std::vector<uint8_t> bytes(body->begin(), body->end());
      ChunkReader r(memory_source(std::move(bytes)));
      Row row;
      while (r.next(row))
        if (row.kind == RowKind::rtp) {
          int seq = (row.payload[2] << 8) | row.payload[3];
          CHECK(seq == next_seq);
          next_seq = seq + 1;
        }
      CHECK(r.stats().complete());
    }
    CHECK(next_seq == packets);
  }
}

RecorderConfig config_small_chunks() {
  RecorderConfig c;
  c.max_chunk_bytes = 32 * 1024;
  c.store.memory_budget_bytes = 64ull << 20;
  return c;
}

UploadQueueConfig fast_retries() {
  UploadQueueConfig q;
  q.workers = 3;
  q.retry_initial_ms = 20;
  q.retry_max_ms = 300;
  return q;
}

}  // namespace

TEST_CASE("a recorded room arrives in S3 through the local presigner, every chunk once") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  std::string uri = s3_uri_for(s3.port(), "rec");
  auto rec = Recorder::create(config_small_chunks()).value();
  std::vector<std::pair<RecordHookKind, std::string>> hooks;
  std::mutex hooks_mu;
  PresignedSinkConfig sc;
  sc.on_record_event = [&](RecordHookKind k, const RecordReq&, const std::string& path) {
    std::lock_guard lock(hooks_mu);
    hooks.emplace_back(k, path);
  };
  auto sink = make_sink_for_uri(uri, sc).value();
  UploadQueue q(rec->store(), sink, fast_retries());
  q.start();
  uint64_t chunks = record(*rec, "room1", 3, 200);
  REQUIRE(rec->store().wait_drained(30000));
  q.stop();
  CHECK(q.stats().failures == 0);
  verify_room(uri, "room1", 3, 200, chunks);
  std::lock_guard lock(hooks_mu);
  int started = 0, joined = 0;
  for (auto& [k, p] : hooks) {
    if (k == RecordHookKind::started) {
      ++started;
      CHECK(p == "rec/app/room1/" + std::to_string(T0));
    } else {
      ++joined;
    }
  }
  CHECK(started == 1);
  CHECK(joined == 3);
}

TEST_CASE("a wrong secret is refused by the server and surfaces as a clear error") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  auto rec = Recorder::create(config_small_chunks()).value();
  auto sink = make_sink_for_uri(s3_uri_for(s3.port(), "rec", "wrong-secret")).value();
  UploadQueue q(rec->store(), sink, fast_retries());
  std::mutex mu;
  std::vector<Status> failures;
  q.on_failure([&](const PendingChunk&, const Status& s) {
    std::lock_guard lock(mu);
    failures.push_back(s);
  });
  q.start();
  record(*rec, "room2", 1, 10);
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mu);
      if (!failures.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  q.stop();
  std::lock_guard lock(mu);
  REQUIRE_FALSE(failures.empty());
  CHECK(failures[0].code() == ErrorCode::permission_denied);
  CHECK(failures[0].message().find("SignatureDoesNotMatch") != std::string::npos);
  CHECK(rec->store().stats().chunks_pending + rec->store().stats().chunks_uploading >= 1);  // kept, not dropped
}

TEST_CASE("S3 stops mid-recording and comes back: every chunk arrives exactly once") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  TempDir spill;
  std::string uri = s3_uri_for(s3.port(), "outage");
  auto cfg = config_small_chunks();
  cfg.store.memory_budget_bytes = 256 * 1024;  // the outage backlog spills to disk
  cfg.store.spill_dir = spill.path.string();
  cfg.store.min_free_disk_bytes = 0;
  auto rec = Recorder::create(cfg).value();
  auto sink = make_sink_for_uri(uri).value();
  UploadQueue q(rec->store(), sink, fast_retries());
  q.start();
  uint64_t chunks = record(*rec, "room3", 2, 1200, T0, [&](int i) {
    if (i == 200) s3.stop();
    if (i == 1000) {
      CHECK(rec->store().stats().chunks_on_disk > 0);  // the backlog went to disk
      REQUIRE(s3.restart());
    }
  });
  REQUIRE(rec->store().wait_drained(60000));
  q.stop();
  CHECK(q.stats().failures > 0);
  verify_room(uri, "room3", 2, 1200, chunks);
}

TEST_CASE("a fault-injecting front (500s, resets, stalls) costs retries, never chunks") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  FaultProxy proxy(s3.port(), 0.3, 7);
  std::string uri = s3_uri_for(proxy.port(), "faulty");
  auto rec = Recorder::create(config_small_chunks()).value();
  PresignedSinkConfig sc;
  sc.low_speed_time_s = 1;  // stalls are cut after a second
  auto sink = make_sink_for_uri(uri, sc).value();
  auto q_cfg = fast_retries();
  q_cfg.workers = 4;
  UploadQueue q(rec->store(), sink, q_cfg);
  q.start();
  uint64_t chunks = record(*rec, "room4", 2, 600);
  REQUIRE(rec->store().wait_drained(120000));
  q.stop();
  CHECK(proxy.faults() > 0);
  CHECK(proxy.count(FaultProxy::error_500) > 0);
  CHECK(q.stats().failures > 0);
  verify_room(s3_uri_for(s3.port(), "faulty"), "room4", 2, 600, chunks);
}

TEST_CASE("a provider handing out expired URLs is asked again and the chunks arrive") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  std::string uri = s3_uri_for(s3.port(), "exp");
  auto parsed = s3::S3Uri::parse(uri).value();
  std::mutex mu;
  std::map<std::string, int> asked;
  auto provider = make_callback_provider([&](const RecordReq&, const std::string& key, UrlAnswer answer) {
    int n;
    {
      std::lock_guard lock(mu);
      n = asked[key]++;
    }
    int64_t now = static_cast<int64_t>(SystemClock::instance().now_ms() / 1000);
    // First answer: signed two hours ago, valid one hour: expired. Answer from another thread.
    int64_t when = n == 0 ? now - 7200 : now;
    std::thread([=] { answer(s3::presign_url(parsed, "PUT", key, when, 3600)); }).detach();
  });
  auto rec = Recorder::create(config_small_chunks()).value();
  UploadQueue q(rec->store(), make_presigned_sink(provider), fast_retries());
  std::atomic<int> expired{0};
  q.on_failure([&](const PendingChunk&, const Status& s) {
    if (s.message().find("expired") != std::string::npos) expired++;
  });
  q.start();
  uint64_t chunks = record(*rec, "room5", 1, 100);
  REQUIRE(rec->store().wait_drained(30000));
  q.stop();
  CHECK(expired == static_cast<int>(chunks));
  verify_room(uri, "room5", 1, 100, chunks);
}

TEST_CASE("the connector client gets URLs from a connector service") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  std::string uri = s3_uri_for(s3.port(), "conn");
  auto presigner = make_local_presigner(uri).value();
  httplib::Server connector;
  std::atomic<int> calls{0};
  std::string seen_auth;
  connector.Post("/record/url", [&](const httplib::Request& req, httplib::Response& res) {
    calls++;
    seen_auth = req.get_header_value("Authorization");
    auto j = nlohmann::json::parse(req.body);
    std::string key = j.at("key");
    CHECK(j.at("app") == "app");
    CHECK(j.at("index").is_number());
    std::string url;
    presigner->request({}, key, [&](Result<std::string> u) { url = u.value(); });
    res.set_content(nlohmann::json{{"s3_uri", url}}.dump(), "application/json");
  });
  int port = connector.bind_to_any_port("127.0.0.1");
  std::thread th([&] { connector.listen_after_bind(); });
  while (!connector.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ConnectorConfig cc;
  cc.url = "http://127.0.0.1:" + std::to_string(port) + "/record/url";
  cc.headers = {{"Authorization", "Bearer secret-token"}};
  auto rec = Recorder::create(config_small_chunks()).value();
  UploadQueue q(rec->store(), make_presigned_sink(make_connector_client(cc)), fast_retries());
  q.start();
  uint64_t chunks = record(*rec, "room6", 2, 100);
  REQUIRE(rec->store().wait_drained(30000));
  q.stop();
  connector.stop();
  th.join();
  CHECK(calls == static_cast<int>(chunks));
  CHECK(seen_auth == "Bearer secret-token");
  verify_room(uri, "room6", 2, 100, chunks);
}

TEST_CASE("a process killed while S3 is down loses nothing: a restart uploads the spilled chunks") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  TempDir spill;
  std::string uri = s3_uri_for(s3.port(), "restart");
  auto cfg = config_small_chunks();
  cfg.store.spill_dir = spill.path.string();
  cfg.store.durable = true;
  cfg.store.min_free_disk_bytes = 0;
  s3.stop();
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto rec = Recorder::create(cfg);
    if (!rec) ::_exit(3);
    auto sink = make_sink_for_uri(uri);
    UploadQueue q(rec.value()->store(), sink.value(), fast_retries());
    q.start();
    auto s = rec.value()->open("app", "room7", "peer0", 100, "", "", T0).value();
    s->track_started(1, TrackKind::video, "video_main", "vp8", 90000, 0, "", 1, "", T0);
    for (int i = 0; i < 300; ++i) {
      auto p = make_rtp(static_cast<uint16_t>(i), 0, 1, 1000);
      s->rtp(1, p.data(), p.size(), T0 + i);
    }
    s->leave(T0 + 300);
    ::_exit(static_cast<int>(s->stats().chunks_closed));  // killed: no cleanup at all
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  uint64_t chunks = static_cast<uint64_t>(WEXITSTATUS(status));
  REQUIRE(chunks > 3);
  REQUIRE(s3.restart());
  auto rec = Recorder::create(cfg).value();
  CHECK(*rec->store().recover() == chunks);
  UploadQueue q(rec->store(), make_sink_for_uri(uri).value(), fast_retries());
  q.start();
  REQUIRE(rec->store().wait_drained(30000));
  q.stop();
  verify_room(uri, "room7", 1, 300, chunks);
}
