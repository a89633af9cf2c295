#include <doctest/doctest.h>

#include "util/backoff.h"

#include "../temp_dir.h"

#include <roomrec/chunk_reader.h>
#include <roomrec/chunk_store.h>
#include <roomrec/chunk_writer.h>
#include <roomrec/upload_queue.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

using namespace roomrec;
namespace fs = std::filesystem;

namespace {

using roomrec::testing::TempDir;

ChunkKey key_n(uint32_t i) {
  ChunkKey k;
  k.app = "app";
  k.room = "room";
  k.room_record_id = "100";
  k.peer = "peer";
  k.session = 7;
  k.index = i;
  k.from_ts = 1000 + i;
  k.to_ts = 2000 + i;
  return k;
}

// A real chunk of about `size` bytes whose header matches key_n(i).
Buffer chunk_n(uint32_t i, size_t size) {
  ChunkHeader h;
  h.app = "app";
  h.room = "room";
  h.room_record_id = "100";
  h.peer = "peer";
  h.session = 7;
  h.index = i;
  h.first_ts = 1000 + i;
  ChunkWriter w(h);
  std::vector<uint8_t> data(size > 100 ? size - 100 : 1, static_cast<uint8_t>(i));
  w.add_data(1000 + i, "d", true, data.data(), data.size());
  w.add_data(2000 + i, "d", true, data.data(), 1);
  return w.finish();
}

std::vector<uint8_t> read_source(ByteSource& s) {
  std::vector<uint8_t> out;
  uint8_t buf[4096];
  for (;;) {
    auto r = s.read(buf, sizeof buf);
    REQUIRE(r.is_ok());
    if (*r == 0) break;
    out.insert(out.end(), buf, buf + *r);
  }
  return out;
}

// Takes every pending chunk, checks it, confirms it; returns their indexes.
std::multiset<uint32_t> drain(ChunkStore& store) {
  std::multiset<uint32_t> got;
  while (auto c = store.take(0)) {
    auto src = store.open_chunk(c->id);
    REQUIRE(src.is_ok());
    auto bytes = read_source(*src.value());
    CHECK(bytes.size() == c->size);
    ChunkReader r(memory_source(std::move(bytes)));
    Row row;
    while (r.next(row)) {
    }
    CHECK(r.stats().complete());
    got.insert(c->key.index);
    store.complete(c->id);
  }
  return got;
}

}  // namespace

TEST_CASE("memory only: chunks queue in order and leave on complete") {
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;
  auto store = ChunkStore::open(cfg).value();
  for (uint32_t i = 0; i < 5; ++i) REQUIRE(store->put(key_n(i), chunk_n(i, 1000)).is_ok());
  auto st = store->stats();
  CHECK(st.chunks_in_memory == 5);
  CHECK(st.chunks_pending == 5);
  auto a = store->take(0);
  REQUIRE(a);
  CHECK(a->key.index == 0);
  store->release(a->id, 0);  // failed upload: back in the queue, nothing lost
  CHECK(store->stats().chunks_pending == 5);
  auto got = drain(*store);
  CHECK(got == std::multiset<uint32_t>{0, 1, 2, 3, 4});
  st = store->stats();
  CHECK(st.chunks_in_memory == 0);
  CHECK(st.bytes_in_memory == 0);
  CHECK(st.chunks_uploaded == 5);
}

// Checks `take(0)` finds nothing due, unless the back-off may already have
// passed (a slow machine): that check would then prove nothing, so it is skipped.
static void check_none_due(ChunkStore& store, std::chrono::steady_clock::time_point released, int backoff_ms) {
  const auto elapsed = std::chrono::steady_clock::now() - released;
  if (elapsed >= std::chrono::milliseconds(backoff_ms * 8 / 10)) {
    MESSAGE("skipped the 'nothing due yet' check: the back-off may have passed");
    return;
  }
  CHECK_FALSE(store.take(0));
}

TEST_CASE("a long backlog: take() gives the oldest due chunk, skips those backing off until due, counts stay exact") {
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 64 << 20;
  auto store = ChunkStore::open(cfg).value();
  constexpr uint32_t n = 20000;
  constexpr int backoff_ms = 1500;
  for (uint32_t i = 0; i < n; ++i) REQUIRE(store->put(key_n(i), chunk_n(i, 200)).is_ok());
  CHECK(store->stats().chunks_pending == n);

  // Every chunk taken once, in order; the odd ones fail and back off; the even
  // ones fail with no back-off, so each is the next due again, before i + 1.
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; ++i) {
    auto c = store->take(0);
    REQUIRE(c);
    REQUIRE(c->key.index == i);
    store->release(c->id, i % 2 == 1 ? backoff_ms : 0);
    if (i % 2 == 0) {
      auto again = store->take(0);
      REQUIRE(again);
      REQUIRE(again->key.index == i);
      CHECK(again->attempts == 1);
      store->complete(again->id);
    }
  }
  auto st = store->stats();
  CHECK(st.chunks_pending == n / 2);
  CHECK(st.chunks_uploading == 0);
  check_none_due(*store, t0, backoff_ms);

  // Once due they come back oldest first, each once.
  auto first = store->take(10 * backoff_ms);
  REQUIRE(first);
  CHECK(first->key.index == 1);
  CHECK(first->attempts == 1);
  store->complete(first->id);
  // The back-offs end in the order they began, over as long as the loop above
  // took (seconds on a loaded machine): wait for each rather than stopping at
  // the first one not yet due.
  std::vector<uint32_t> rest;
  while (rest.size() < n / 2 - 1) {
    auto c = store->take(10 * backoff_ms);
    if (!c) break;
    rest.push_back(c->key.index);
    store->complete(c->id);
  }
  CHECK(rest.size() == n / 2 - 1);
  CHECK_FALSE(store->take(0));
  uint32_t expect = 3;
  for (uint32_t idx : rest) {
    if (idx != expect) FAIL_CHECK("chunk " << idx << " came where " << expect << " was due");
    expect += 2;
  }
  st = store->stats();
  CHECK(st.chunks_pending == 0);
  CHECK(st.chunks_in_memory == 0);
  CHECK(st.chunks_uploaded == n);
}

TEST_CASE("a chunk backing off that is written to disk meanwhile keeps its due time") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 64 << 20;
  cfg.spill_dir = dir.str();
  auto store = ChunkStore::open(cfg).value();
  constexpr int backoff_ms = 1500;
  for (uint32_t i = 0; i < 4; ++i) REQUIRE(store->put(key_n(i), chunk_n(i, 2000)).is_ok());
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < 2; ++i) {
    auto c = store->take(0);
    REQUIRE(c);
    store->release(c->id, backoff_ms);  // 0 and 1 back off; 2 and 3 are due
  }
  auto persisted = store->persist_pending();
  REQUIRE(persisted.is_ok());
  CHECK(*persisted == 4);
  auto st = store->stats();
  CHECK(st.chunks_on_disk == 4);
  CHECK(st.chunks_in_memory == 0);
  CHECK(st.chunks_pending == 4);
  for (uint32_t want : {2u, 3u}) {
    auto c = store->take(0);
    REQUIRE(c);
    CHECK(c->key.index == want);
    CHECK(c->on_disk);
    store->complete(c->id);
  }
  check_none_due(*store, t0, backoff_ms);
  for (uint32_t want : {0u, 1u}) {
    auto c = store->take(10 * backoff_ms);
    REQUIRE(c);
    CHECK(c->key.index == want);
    CHECK(c->on_disk);
    CHECK(c->attempts == 1);
    CHECK(read_source(*store->open_chunk(c->id).value()).size() == c->size);
    store->complete(c->id);
  }
  CHECK(store->stats().chunks_pending == 0);
  CHECK(store->stats().chunks_on_disk == 0);
}

TEST_CASE("memory held, including chunks being spilled, never passes the budget; the newest spill first") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 10'500;  // ten 1000-byte chunks
  cfg.spill_dir = dir.str();
  cfg.min_free_disk_bytes = 0;
  cfg.spill_watermark = 0.5;
  auto store = ChunkStore::open(cfg).value();
  // A burst much faster than one file write per chunk: the spill thread falls
  // behind, and put() writes chunks itself rather than holding more.
  for (uint32_t i = 0; i < 200; ++i) {
    REQUIRE(store->put(key_n(i), chunk_n(i, 1000)).is_ok());
    auto st = store->stats();
    REQUIRE(st.bytes_in_memory + st.bytes_spilling <= cfg.memory_budget_bytes);
  }
  store->flush_spills();
  auto st = store->stats();
  CHECK(st.chunks_accepted == 200);
  CHECK(st.chunks_refused == 0);
  CHECK(st.bytes_spilling == 0);
  CHECK(st.bytes_in_memory <= 5250);
  CHECK(st.chunks_in_memory + st.chunks_on_disk == 200);
  // The oldest stay in memory for the uploaders; the first taken is chunk 0.
  auto first = store->take(0);
  REQUIRE(first);
  CHECK(first->key.index == 0);
  CHECK_FALSE(first->on_disk);
  store->release(first->id, 0);
  auto got = drain(*store);
  CHECK(got.size() == 200);
  CHECK(std::set<uint32_t>(got.begin(), got.end()).size() == 200);
}

TEST_CASE("chunks past the memory budget spill to disk and come back intact") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 3500;  // three 1000-byte chunks fit
  cfg.spill_dir = dir.str();
  cfg.min_free_disk_bytes = 0;
  cfg.spill_watermark = 1.0;       // spill only what does not fit
  auto store = ChunkStore::open(cfg).value();
  for (uint32_t i = 0; i < 10; ++i) REQUIRE(store->put(key_n(i), chunk_n(i, 1000)).is_ok());
  store->flush_spills();
  auto st = store->stats();
  CHECK(st.chunks_in_memory == 3);
  CHECK(st.chunks_on_disk == 7);
  CHECK(st.bytes_in_memory <= cfg.memory_budget_bytes);
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir.path))
    if (e.path().extension() == ".rec") ++files;
  CHECK(files == 7);
  auto got = drain(*store);
  CHECK(got.size() == 10);
  // Confirmed uploads remove their files.
  files = 0;
  for (auto& e : fs::directory_iterator(dir.path))
    if (e.path().extension() == ".rec" || e.path().extension() == ".meta") ++files;
  CHECK(files == 0);
}

TEST_CASE("both budgets full: new chunks are refused, accepted ones all survive") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 2500;
  cfg.spill_dir = dir.str();
  cfg.disk_budget_bytes = 3500;
  cfg.min_free_disk_bytes = 0;
  auto store = ChunkStore::open(cfg).value();
  std::vector<Status> errors;
  store->set_error_callback([&](const Status& s) { errors.push_back(s); });
  std::set<uint32_t> accepted;
  uint32_t refused = 0;
  for (uint32_t i = 0; i < 12; ++i) {
    Status s = store->put(key_n(i), chunk_n(i, 1000));
    if (s.is_ok())
      accepted.insert(i);
    else {
      CHECK(s.code() == ErrorCode::resource_exhausted);
      ++refused;
    }
  }
  store->flush_spills();
  CHECK(accepted.size() == 5);  // 2 in memory + 3 on disk
  CHECK(refused == 7);
  CHECK(errors.size() == 7);
  auto st = store->stats();
  CHECK(st.chunks_refused == 7);
  auto got = drain(*store);
  CHECK(std::set<uint32_t>(got.begin(), got.end()) == accepted);
  CHECK(got.size() == accepted.size());
  // With room again, chunks are accepted again.
  CHECK(store->put(key_n(50), chunk_n(50, 1000)).is_ok());
}

TEST_CASE("free disk space is really checked") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 0;
  cfg.spill_dir = dir.str();
  cfg.min_free_disk_bytes = 1ull << 62;  // more than any disk has
  auto store = ChunkStore::open(cfg).value();
  CHECK(store->put(key_n(0), chunk_n(0, 500)).code() == ErrorCode::resource_exhausted);
}

TEST_CASE("writes failing mid-chunk (file size limit, as a full disk) give refusals and errors, never a corrupt chunk") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 0;  // every chunk goes to disk
  cfg.spill_dir = dir.str();
  cfg.min_free_disk_bytes = 0;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Files may not grow past 3000 bytes here: writing a bigger chunk fails
    // part way (EFBIG), as a disk filling up under the write would.
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{3000, 3000};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(3);
    auto store = ChunkStore::open(cfg);
    if (!store) ::_exit(4);
    int errors = 0;
    store.value()->set_error_callback([&](const Status&) { ++errors; });
    for (uint32_t i = 0; i < 10; ++i) {
      Status s = store.value()->put(key_n(i), chunk_n(i, i % 2 ? 5000 : 1000));  // odd ones do not fit
      if (s.is_ok() != (i % 2 == 0)) ::_exit(10 + static_cast<int>(i));
    }
    auto st = store.value()->stats();
    if (st.chunks_accepted != 5 || st.chunks_refused != 5 || st.spill_errors != 5 || errors != 5) ::_exit(5);
    ::_exit(0);  // the accepted chunks stay on disk for the next process
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // Nothing torn is left behind: every file is a whole chunk that reads back intact.
  size_t recs = 0, metas = 0;
  for (auto& e : fs::directory_iterator(dir.path)) {
    const std::string name = e.path().filename().string();
    CHECK_MESSAGE(name.find(".tmp") == std::string::npos, name);
    if (e.path().extension() == ".meta") ++metas;
    if (e.path().extension() != ".rec") continue;
    ++recs;
    ChunkReader reader(file_source(e.path().string()).value());
    Row row;
    while (reader.next(row)) {
    }
    CHECK_MESSAGE(reader.stats().complete(), name);
  }
  CHECK(recs == 5);
  CHECK(metas == 5);
  // A new process recovers exactly the accepted chunks, the even ones.
  auto store = ChunkStore::open(cfg).value();
  auto n = store->recover();
  REQUIRE(n.is_ok());
  CHECK(n.value() == 5);
  CHECK_FALSE(fs::exists(dir.path / "quarantine"));
  auto got = drain(*store);
  CHECK(got == std::multiset<uint32_t>{0, 2, 4, 6, 8});
}

TEST_CASE("a second live store on the same folder is refused") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.spill_dir = dir.str();
  auto a = ChunkStore::open(cfg);
  REQUIRE(a.is_ok());
  auto b = ChunkStore::open(cfg);
  CHECK_FALSE(b.is_ok());
  CHECK(b.status().message().find("in use") != std::string::npos);
}

TEST_CASE("durable mode: a killed process loses nothing it accepted; recover() re-queues each chunk once") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.spill_dir = dir.str();
  cfg.durable = true;
  cfg.min_free_disk_bytes = 0;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The "media server": accepts 8 chunks, then dies without any cleanup.
    auto store = ChunkStore::open(cfg);
    if (!store) ::_exit(3);
    for (uint32_t i = 0; i < 8; ++i)
      if (!store.value()->put(key_n(i), chunk_n(i, 2000 + i)).is_ok()) ::_exit(4);
    if (store.value()->stats().chunks_written_by_caller != 8) ::_exit(5);  // each on disk when put() returned
    // Leave a torn write behind, as a crash mid-write would.
    FILE* f = std::fopen((cfg.spill_dir + "/torn.rec.tmp").c_str(), "wb");
    if (f) {
      std::fputs("partial", f);
      std::fclose(f);
    }
    ::_exit(0);  // like kill -9: no destructors, no flush
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  auto store = ChunkStore::open(cfg).value();
  auto n = store->recover();
  REQUIRE(n.is_ok());
  CHECK(*n == 8);
  CHECK(*store->recover() == 0);  // already known: not queued twice
  CHECK_FALSE(fs::exists(dir.path / "torn.rec.tmp"));
  std::map<uint32_t, ChunkKey> keys;
  while (auto c = store->take(0)) {
    CHECK(c->on_disk);
    CHECK(keys.count(c->key.index) == 0);
    keys[c->key.index] = c->key;
    auto src = store->open_chunk(c->id);
    REQUIRE(src.is_ok());
    CHECK(read_source(*src.value()).size() == c->size);
    store->complete(c->id);
  }
  REQUIRE(keys.size() == 8);
  for (uint32_t i = 0; i < 8; ++i) CHECK(keys[i] == key_n(i));
}

TEST_CASE("durable_background: put() leaves the writing to the spill thread; a chunk is uploaded only once on disk") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.spill_dir = dir.str();
  cfg.durable = true;
  cfg.durable_background = true;
  cfg.min_free_disk_bytes = 0;
  auto store = ChunkStore::open(cfg).value();
  std::set<uint32_t> taken;
  for (uint32_t i = 0; i < 8; ++i) {
    REQUIRE(store->put(key_n(i), chunk_n(i, 3000 + i)).is_ok());
    // An uploader racing the writer never gets a chunk that is only in memory.
    if (auto c = store->take(0)) {
      CHECK(c->on_disk);
      taken.insert(c->key.index);
      store->release(c->id, 0);
    }
  }
  store->flush_spills();
  auto st = store->stats();
  CHECK(st.chunks_written_by_caller == 0);
  CHECK(st.chunks_on_disk == 8);
  CHECK(st.chunks_in_memory == 0);
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir.path))
    if (e.path().extension() == ".rec") ++files;
  CHECK(files == 8);
  std::set<uint32_t> seen;
  while (auto c = store->take(0)) {
    CHECK(c->on_disk);
    CHECK(seen.insert(c->key.index).second);
    store->complete(c->id);
  }
  CHECK(seen.size() == 8);
}

TEST_CASE("durable_background with memory full: put() writes the chunk itself rather than hold more") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.spill_dir = dir.str();
  cfg.durable = true;
  cfg.durable_background = true;
  cfg.memory_budget_bytes = 2500;
  cfg.min_free_disk_bytes = 0;
  auto store = ChunkStore::open(cfg).value();
  for (uint32_t i = 0; i < 20; ++i) {
    REQUIRE(store->put(key_n(i), chunk_n(i, 1000)).is_ok());
    CHECK(store->stats().bytes_in_memory + store->stats().bytes_spilling <= cfg.memory_budget_bytes);
  }
  store->flush_spills();
  CHECK(store->stats().chunks_on_disk == 20);
}

TEST_CASE("recover() rebuilds a key from the chunk when its metadata is gone, and quarantines garbage") {
  TempDir dir;
  ChunkStoreConfig cfg;
  cfg.spill_dir = dir.str();
  cfg.durable = true;
  cfg.min_free_disk_bytes = 0;
  {
    auto store = ChunkStore::open(cfg).value();
    REQUIRE(store->put(key_n(3), chunk_n(3, 800)).is_ok());
    store->shutdown();
  }
  for (auto& e : fs::directory_iterator(dir.path))
    if (e.path().extension() == ".meta") fs::remove(e.path());
  {
    FILE* f = std::fopen((dir.str() + "/garbage.rec").c_str(), "wb");
    std::fputs("this is not a chunk", f);
    std::fclose(f);
  }
  auto store = ChunkStore::open(cfg).value();
  std::vector<Status> errors;
  store->set_error_callback([&](const Status& s) { errors.push_back(s); });
  CHECK(*store->recover() == 1);
  auto c = store->take(0);
  REQUIRE(c);
  CHECK(c->key == key_n(3));
  CHECK(errors.size() == 1);
  CHECK(fs::exists(dir.path / "quarantine" / "garbage.rec"));
}

TEST_CASE("a waiting take() returns as soon as its cancel flag is set and takers are woken") {
  auto store = ChunkStore::open(ChunkStoreConfig{}).value();
  std::atomic<bool> cancel{false};
  std::optional<PendingChunk> got = PendingChunk{};
  auto t0 = std::chrono::steady_clock::now();
  std::thread taker([&] { got = store->take(60'000, &cancel); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  cancel = true;
  store->wake_takers();
  taker.join();
  CHECK_FALSE(got.has_value());
  // Without the wake it would wait out its 60 s.
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
  // A flag already set: no wait at all, and a chunk put meanwhile stays queued.
  REQUIRE(store->put(key_n(1), chunk_n(1, 500)).is_ok());
  CHECK_FALSE(store->take(60'000, &cancel).has_value());
  cancel = false;
  CHECK(store->take(0).has_value());
}

TEST_CASE("back-off grows, is capped, and is jittered") {
  auto near = [](uint64_t v, uint64_t target) { return v >= target * 8 / 10 && v <= target * 12 / 10; };
  CHECK(near(util::backoff_ms(100, 1000, 1, 5), 100));
  CHECK(near(util::backoff_ms(100, 1000, 2, 5), 200));
  CHECK(near(util::backoff_ms(100, 1000, 4, 5), 800));
  CHECK(near(util::backoff_ms(100, 1000, 30, 5), 1000));
  std::set<uint64_t> values;
  for (uint64_t seed = 0; seed < 50; ++seed) values.insert(util::backoff_ms(100, 1000, 3, seed));
  CHECK(values.size() > 10);
}

namespace {
// Fails the first `failures` uploads, then stores into a LocalDirectorySink.
class FlakySink : public ChunkSink {
 public:
  FlakySink(std::shared_ptr<ChunkSink> inner, int failures) : inner_(std::move(inner)), left_(failures) {}
  Status upload(const PendingChunk& c, ByteSource& b) override {
    if (left_.fetch_sub(1) > 0) return Status::error(ErrorCode::unavailable, "injected failure");
    return inner_->upload(c, b);
  }
  std::string describe() const override { return "flaky " + inner_->describe(); }

 private:
  std::shared_ptr<ChunkSink> inner_;
  std::atomic<int> left_;
};
}  // namespace

TEST_CASE("the upload queue retries a failing sink until every chunk is stored once") {
  TempDir spill, out;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 4000;
  cfg.spill_dir = spill.str();
  cfg.min_free_disk_bytes = 0;
  auto store = ChunkStore::open(cfg).value();
  auto local = std::make_shared<LocalDirectorySink>(out.str());
  UploadQueueConfig qc;
  qc.workers = 3;
  qc.retry_initial_ms = 5;
  qc.retry_max_ms = 20;
  UploadQueue q(*store, std::make_shared<FlakySink>(local, 15), qc);
  std::atomic<int> uploaded{0};
  q.on_uploaded([&](const PendingChunk&) { uploaded++; });
  q.start();
  for (uint32_t i = 0; i < 20; ++i) REQUIRE(store->put(key_n(i), chunk_n(i, 1000)).is_ok());
  REQUIRE(store->wait_drained(20000));
  q.stop();
  CHECK(uploaded == 20);
  CHECK(q.stats().failures == 15);
  for (uint32_t i = 0; i < 20; ++i) {
    fs::path p = out.path / key_n(i).to_string();
    REQUIRE(fs::exists(p));
    auto src = file_source(p.string());
    ChunkReader r(std::move(src.value()));
    Row row;
    while (r.next(row)) {
    }
    CHECK(r.stats().complete());
  }
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(out.path))
    if (e.is_regular_file()) ++files;
  CHECK(files == 20);
}

TEST_CASE("file:// URIs name a local sink") {
  CHECK(LocalDirectorySink::from_uri("file:///tmp/x").value()->root() == "/tmp/x");
  CHECK(LocalDirectorySink::from_uri("/tmp/y/").value()->root() == "/tmp/y");
  CHECK_FALSE(LocalDirectorySink::from_uri("s3://bucket").is_ok());
  CHECK_FALSE(LocalDirectorySink::from_uri("file://").is_ok());
}

TEST_CASE("orderly shutdown keeps unsent memory chunks on disk for the next recover()") {
  TempDir spill;
  ChunkStoreConfig cfg;
  cfg.memory_budget_bytes = 1 << 20;
  cfg.spill_dir = spill.str();
  cfg.min_free_disk_bytes = 0;
  {
    auto store = ChunkStore::open(cfg).value();
    // A sink that is down for good.
    class Down : public ChunkSink {
     public:
      Status upload(const PendingChunk&, ByteSource&) override {
        return Status::error(ErrorCode::unavailable, "S3 is down");
      }
      std::string describe() const override { return "down"; }
    };
    UploadQueueConfig qc;
    qc.retry_initial_ms = 5;
    UploadQueue q(*store, std::make_shared<Down>(), qc);
    q.start();
    for (uint32_t i = 0; i < 6; ++i) REQUIRE(store->put(key_n(i), chunk_n(i, 700)).is_ok());
    CHECK(store->stats().chunks_in_memory == 6);
    CHECK(q.shutdown(100) == 6);
    auto st = store->stats();
    CHECK(st.chunks_in_memory == 0);
    CHECK(st.chunks_on_disk == 6);
  }
  auto store = ChunkStore::open(cfg).value();
  CHECK(*store->recover() == 6);
  CHECK(drain(*store) == std::multiset<uint32_t>{0, 1, 2, 3, 4, 5});
}
