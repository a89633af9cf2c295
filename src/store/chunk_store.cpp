#include <roomrec/chunk_store.h>

#include <roomrec/chunk_reader.h>
#include <roomrec/log.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "util/thread_name.h"
#include "util/atomic_file.h"
#include "util/crc32c.h"

namespace roomrec {
namespace fs = std::filesystem;

namespace {

constexpr const char* kComponent = "store";

uint64_t steady_now_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// temp file + fsync + rename (util/atomic_file); the directory is fsynced by
// the caller once for the .rec and its .meta.
Status write_file_atomic(const std::string& path, const uint8_t* p, size_t n) {
  return util::write_file_atomic(path, p, n, /*sync_dir=*/false, ".tmp");
}

void fsync_dir(const std::string& dir) { (void)util::fsync_dir(dir); }


}  // namespace

struct ROOMREC_HIDDEN ChunkStore::Impl {
  enum class State { memory, spilling, disk, uploading };
  struct Entry {
    ChunkKey key;
    uint64_t size = 0;
    State state = State::memory;
    bool on_disk = false;                 // a file holds it (state disk, or uploading from disk)
    std::shared_ptr<const Buffer> bytes;  // memory and spilling chunks
    std::string path;                     // disk chunks: the .rec file
    uint32_t attempts = 0;
    uint64_t due_ms = 0;                  // steady time before which take() skips it
  };

  ChunkStoreConfig cfg;
  mutable std::mutex mu;
  std::condition_variable cv_take;     // a chunk became pending, or shutdown
  std::condition_variable cv_spill;    // spill work queued, or shutdown
  std::condition_variable cv_state;    // spills finished, chunks completed
  std::map<uint64_t, Entry> entries;   // by id = acceptance order
  // The pending entries (state memory or disk), so take() costs O(log n)
  // however long the backlog: `ready` by id, `delayed` (retry backoff) by due time.
  std::set<uint64_t> ready;
  std::set<std::pair<uint64_t, uint64_t>> delayed;  // (due_ms, id)
  std::deque<uint64_t> spill_queue;
  std::set<std::string> known_paths;   // disk files this store owns
  uint64_t next_id = 1;
  uint64_t file_counter = 0;
  ChunkStoreStats st;
  uint64_t disk_reserved = 0;          // bytes on disk + being written
  bool stopping = false;
  bool spill_busy = false;
  ErrorCallback on_error;
  int lock_fd = -1;
  std::thread spill_thread;
  LogRateLimiter refuse_log{5000};

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv_spill.notify_all();
    cv_take.notify_all();
    if (spill_thread.joinable()) spill_thread.join();
    if (lock_fd >= 0) ::close(lock_fd);
  }

  void report(const Status& s) {
    ErrorCallback cb;
    {
      std::lock_guard lock(mu);
      cb = on_error;
    }
    if (cb) {
      try {
        cb(s);
      } catch (...) {
      }
    }
  }

  std::string new_file_base() {
    // unique across processes sharing the folder over time
    std::lock_guard lock(mu);
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count()) +
           "-" + std::to_string(::getpid()) + "-" + std::to_string(++file_counter);
  }

  // Free bytes on the spill file system, minus the reserve we must leave.
  bool disk_has_room(uint64_t n) const {
    if (cfg.spill_dir.empty()) return false;
    if (disk_reserved + n > cfg.disk_budget_bytes) return false;
    struct statvfs v {};
    if (::statvfs(cfg.spill_dir.c_str(), &v) != 0) return false;
    uint64_t free_bytes = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
    return free_bytes >= n + cfg.min_free_disk_bytes;
  }

  // Writes the chunk and its metadata; returns the .rec path.
  Result<std::string> write_chunk_files(const ChunkKey& key, const Buffer& bytes) {
    std::string base = cfg.spill_dir + "/" + new_file_base();
    std::string rec = base + ".rec";
    Status s = write_file_atomic(rec, bytes.data(), bytes.size());
    if (!s) return s;
    nlohmann::json meta = {{"version", 1},
                           {"key", key.to_string()},
                           {"prefix", key.prefix},
                           {"size", bytes.size()},
                           {"crc32c", util::crc32c(bytes.data(), bytes.size())}};
    std::string m = meta.dump();
    s = write_file_atomic(base + ".meta", reinterpret_cast<const uint8_t*>(m.data()), m.size());
    if (!s) {
      ::unlink(rec.c_str());
      return s;
    }
    fsync_dir(cfg.spill_dir);
    return rec;
  }

  static void remove_files(const std::string& rec) {
    ::unlink(rec.c_str());
    std::string meta = rec.substr(0, rec.size() - 4) + ".meta";
    ::unlink(meta.c_str());
  }

  // An entry became pending (state memory or disk). Called with mu held.
  void schedule_locked(uint64_t id, const Entry& e) {
    if (e.due_ms > steady_now_ms())
      delayed.emplace(e.due_ms, id);
    else
      ready.insert(id);
  }

  // A pending entry is taken, or leaves for the spill writer. Called with mu held.
  void unschedule_locked(uint64_t id, const Entry& e) {
    if (ready.erase(id) == 0) delayed.erase({e.due_ms, id});
  }

  // Memory held = chunks in memory + chunks being written to disk. Called with mu held.
  bool memory_fits_locked(uint64_t size) const {
    return st.bytes_in_memory + st.bytes_spilling + size <= cfg.memory_budget_bytes;
  }

  // A chunk kept in memory joins the queue. Called with mu held.
  void accept_in_memory_locked(const ChunkKey& key, uint64_t size, Buffer bytes) {
    Entry e;
    e.key = key;
    e.size = size;
    e.state = State::memory;
    e.bytes = std::make_shared<const Buffer>(std::move(bytes));
    const uint64_t id = next_id++;
    schedule_locked(id, entries.emplace(id, std::move(e)).first->second);
    st.chunks_in_memory++;
    st.bytes_in_memory += size;
    st.chunks_accepted++;
    queue_spills_locked();
    cv_take.notify_one();
  }

  // A chunk written to disk by put() joins the queue. Called with mu held.
  void accept_on_disk_locked(const ChunkKey& key, uint64_t size, const std::string& path) {
    Entry e;
    e.key = key;
    e.size = size;
    e.state = State::disk;
    e.on_disk = true;
    e.path = path;
    known_paths.insert(e.path);
    const uint64_t id = next_id++;
    schedule_locked(id, entries.emplace(id, std::move(e)).first->second);
    st.chunks_on_disk++;
    st.bytes_on_disk += size;
    st.chunks_accepted++;
    cv_take.notify_one();
  }

  // Above the watermark, the newest chunks in memory (the last to be
  // uploaded) are queued for the spill thread. Called with mu held.
  // In background-durable mode every chunk in memory is queued.
  bool writes_in_put() const { return cfg.durable && !cfg.durable_background; }

  void queue_spills_locked() {
    if (writes_in_put() || cfg.spill_dir.empty()) return;
    const double fraction = cfg.durable ? 0.0 : std::clamp(cfg.spill_watermark, 0.0, 1.0);
    const auto mark = static_cast<uint64_t>(static_cast<double>(cfg.memory_budget_bytes) * fraction);
    if (st.bytes_in_memory <= mark) return;
    bool queued = false;
    for (auto it = entries.rbegin(); it != entries.rend() && st.bytes_in_memory > mark; ++it) {
      Entry& e = it->second;
      if (e.state != State::memory) continue;
      if (!disk_has_room(e.size)) break;
      disk_reserved += e.size;
      unschedule_locked(it->first, e);
      e.state = State::spilling;
      st.chunks_in_memory--;
      st.bytes_in_memory -= e.size;
      st.chunks_spilling++;
      st.bytes_spilling += e.size;
      spill_queue.push_back(it->first);
      queued = true;
    }
    if (queued) cv_spill.notify_one();
  }

  void spill_loop() {
    std::unique_lock lock(mu);
    for (;;) {
      cv_spill.wait(lock, [&] { return stopping || !spill_queue.empty(); });
      if (spill_queue.empty()) return;  // stopping with nothing left
      uint64_t id = spill_queue.front();
      spill_queue.pop_front();
      auto it = entries.find(id);
      if (it == entries.end()) continue;
      ChunkKey key = it->second.key;
      auto bytes = it->second.bytes;
      spill_busy = true;
      lock.unlock();
      auto written = write_chunk_files(key, *bytes);
      lock.lock();
      spill_busy = false;
      it = entries.find(id);
      Entry& e = it->second;
      st.chunks_spilling--;
      st.bytes_spilling -= e.size;
      if (written) {
        e.state = State::disk;
        e.on_disk = true;
        e.path = *written;
        e.bytes.reset();
        known_paths.insert(e.path);
        st.chunks_on_disk++;
        st.bytes_on_disk += e.size;
        schedule_locked(id, e);
      } else {
        // Keep it in memory, over budget rather than lost.
        disk_reserved -= e.size;
        e.state = State::memory;
        schedule_locked(id, e);
        st.chunks_in_memory++;
        st.bytes_in_memory += e.size;
        st.spill_errors++;
        Status s = written.status();
        s.with_context("spilling chunk " + e.key.to_string() + " (kept in memory)");
        lock.unlock();
        log_message(LogLevel::error, kComponent, s.to_string());
        report(s);
        lock.lock();
      }
      cv_take.notify_one();
      cv_state.notify_all();
    }
  }
};

ChunkStore::ChunkStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(const ChunkStoreConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  if (config.durable && config.spill_dir.empty())
    return Status::error(ErrorCode::invalid_argument, "durable mode needs a spill_dir");
  if (!config.spill_dir.empty()) {
    std::error_code ec;
    fs::create_directories(config.spill_dir, ec);
    if (ec) return Status::error(ErrorCode::io, "create spill_dir " + config.spill_dir + ": " + ec.message());
    std::string lock_path = config.spill_dir + "/.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::error(ErrorCode::io, errno_text("open", lock_path));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::error(ErrorCode::unavailable,
                           "spill_dir " + config.spill_dir + " is in use by another chunk store");
    }
    impl->lock_fd = fd;
    Impl* raw = impl.get();
    impl->spill_thread = std::thread([raw] {
      util::set_thread_name("rr-spill");
      raw->spill_loop();
    });
  }
  return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(impl)));
}

Status ChunkStore::put(const ChunkKey& key, Buffer bytes) {
  Impl& m = *impl_;
  const uint64_t size = bytes.size();
  bytes.shrink_to_fit();
  if (m.writes_in_put()) {
    bool room;
    {
      std::lock_guard lock(m.mu);
      room = m.disk_has_room(size);
      if (room) m.disk_reserved += size;
    }
    if (room) {
      auto written = m.write_chunk_files(key, bytes);
      std::lock_guard lock(m.mu);
      if (written) {
        m.accept_on_disk_locked(key, size, *written);
        m.st.chunks_written_by_caller++;
        return Status::ok();
      }
      m.disk_reserved -= size;
      m.st.spill_errors++;
      log_message(LogLevel::error, kComponent,
                  "durable write of " + key.to_string() + " failed, holding it in memory: " +
                      written.status().to_string());
    }
    // No disk: hold it in memory rather than lose it (reported below if that fails too).
  }
  std::unique_lock lock(m.mu);
  if (m.memory_fits_locked(size)) {
    m.accept_in_memory_locked(key, size, std::move(bytes));
    return Status::ok();
  }
  if (!m.writes_in_put() && m.disk_has_room(size)) {
    // Memory is full and the spill thread is behind: write this one here.
    m.disk_reserved += size;
    lock.unlock();
    auto written = m.write_chunk_files(key, bytes);
    lock.lock();
    if (written) {
      m.accept_on_disk_locked(key, size, *written);
      m.st.chunks_written_by_caller++;
      return Status::ok();
    }
    m.disk_reserved -= size;
    m.st.spill_errors++;
    lock.unlock();
    log_message(LogLevel::error, kComponent,
                "spilling " + key.to_string() + " with memory full failed: " + written.status().to_string());
    lock.lock();
  }
  // Both full, but part of memory only waits for the spill thread to finish
  // writing: once written, the chunk fits in memory. Wait for that (one file
  // write at most per chunk queued) rather than refuse.
  if (!m.writes_in_put() && m.st.bytes_spilling > 0 && m.st.bytes_in_memory + size <= m.cfg.memory_budget_bytes &&
      !m.stopping) {
    m.cv_state.wait(lock, [&] { return m.stopping || m.memory_fits_locked(size) || m.st.bytes_spilling == 0; });
    if (m.memory_fits_locked(size) && !m.stopping) {
      m.accept_in_memory_locked(key, size, std::move(bytes));
      return Status::ok();
    }
  }
  m.st.chunks_refused++;
  m.st.bytes_refused += size;
  Status s = Status::error(ErrorCode::resource_exhausted,
                           "chunk store full (memory " + std::to_string(m.st.bytes_in_memory) + "/" +
                               std::to_string(m.cfg.memory_budget_bytes) + " bytes, disk " +
                               std::to_string(m.disk_reserved) + "/" +
                               std::to_string(m.cfg.spill_dir.empty() ? 0 : m.cfg.disk_budget_bytes) +
                               " bytes): refused chunk " + key.to_string());
  uint64_t held = 0;
  bool log_now = m.refuse_log.allow(steady_now_ms(), &held);
  lock.unlock();
  if (log_now)
    log_message(LogLevel::error, kComponent,
                s.message() + (held ? " (" + std::to_string(held) + " more refusals not logged)" : ""));
  m.report(s);
  return s;
}

Result<size_t> ChunkStore::recover() {
  Impl& m = *impl_;
  if (m.cfg.spill_dir.empty()) return size_t{0};
  std::error_code ec;
  std::vector<fs::path> recs;
  for (auto it = fs::directory_iterator(m.cfg.spill_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    auto ext = p.extension().string();
    if (ext == ".tmp") {
      fs::remove(p, ec);  // an interrupted write: that chunk was never accepted
      continue;
    }
    if (ext == ".rec") recs.push_back(p);
  }
  if (ec) return Status::error(ErrorCode::io, "list " + m.cfg.spill_dir + ": " + ec.message());
  std::sort(recs.begin(), recs.end());
  size_t added = 0;
  for (const auto& rec : recs) {
    std::string path = rec.string();
    {
      std::lock_guard lock(m.mu);
      if (m.known_paths.count(path)) continue;
    }
    std::optional<ChunkKey> key;
    uint64_t size = fs::file_size(rec, ec);
    if (ec) continue;
    fs::path meta_path = rec;
    meta_path.replace_extension(".meta");
    if (fs::exists(meta_path)) {
      try {
        std::ifstream in(meta_path);
        auto j = nlohmann::json::parse(in);
        auto k = ChunkKey::parse(j.at("key").get<std::string>());
        if (k) {
          k->prefix = j.value("prefix", k->prefix);
          if (j.at("size").get<uint64_t>() == size) key = k;
        }
      } catch (const std::exception&) {
      }
    }
    if (!key) {
      // Rebuild the key from the chunk itself: header and trailer.
      auto src = file_source(path);
      if (src) {
        ChunkReader reader(std::move(src.value()));
        if (const ChunkHeader* h = reader.read_header()) {
          ChunkKey k;
          k.app = h->app;
          k.room = h->room;
          k.room_record_id = h->room_record_id;
          k.peer = h->peer;
          k.session = h->session;
          k.index = h->index;
          k.from_ts = h->first_ts;
          Row row;
          uint64_t last = h->first_ts;
          while (reader.next(row)) last = std::max(last, row.ts);
          if (reader.stats().complete()) {
            k.to_ts = last;
            key = k;
          }
        }
      }
    }
    if (!key) {
      fs::path q = fs::path(m.cfg.spill_dir) / "quarantine";
      fs::create_directories(q, ec);
      fs::rename(rec, q / rec.filename(), ec);
      if (fs::exists(meta_path)) fs::rename(meta_path, q / meta_path.filename(), ec);
      Status s = Status::error(ErrorCode::corrupt, "spilled chunk " + path + " is unreadable; moved to " + q.string());
      log_message(LogLevel::error, kComponent, s.message());
      m.report(s);
      continue;
    }
    std::lock_guard lock(m.mu);
    Impl::Entry e;
    e.key = std::move(*key);
    e.size = size;
    e.state = Impl::State::disk;
    e.on_disk = true;
    e.path = path;
    m.known_paths.insert(path);
    const uint64_t id = m.next_id++;
    m.schedule_locked(id, m.entries.emplace(id, std::move(e)).first->second);
    m.disk_reserved += size;
    m.st.chunks_on_disk++;
    m.st.bytes_on_disk += size;
    m.st.chunks_recovered++;
    m.st.chunks_accepted++;
    ++added;
    m.cv_take.notify_one();
  }
  if (added) log_message(LogLevel::info, kComponent, "recovered " + std::to_string(added) + " chunks from " + m.cfg.spill_dir);
  return added;
}

std::optional<PendingChunk> ChunkStore::take(uint64_t wait_ms, const std::atomic<bool>* cancel) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const uint64_t deadline = steady_now_ms() + wait_ms;
  for (;;) {
    // Checked under the lock: wake_takers() takes it too, so a flag set
    // before that call is seen before this thread waits again.
    if (m.stopping || (cancel && cancel->load())) return std::nullopt;
    const uint64_t now = steady_now_ms();
    while (!m.delayed.empty() && m.delayed.begin()->first <= now) {
      m.ready.insert(m.delayed.begin()->second);
      m.delayed.erase(m.delayed.begin());
    }
    if (!m.ready.empty()) {  // the oldest due chunk
      const uint64_t id = *m.ready.begin();
      m.ready.erase(m.ready.begin());
      Impl::Entry& e = m.entries.at(id);
      PendingChunk p{id, e.key, e.size, e.attempts, e.state == Impl::State::disk};
      e.state = Impl::State::uploading;
      m.st.chunks_uploading++;
      return p;
    }
    const uint64_t next_due = m.delayed.empty() ? UINT64_MAX : m.delayed.begin()->first;
    if (now >= deadline) return std::nullopt;
    uint64_t until = std::min(deadline, next_due);
    m.cv_take.wait_for(lock, std::chrono::milliseconds(until - now));
  }
}

void ChunkStore::wake_takers() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
  }
  m.cv_take.notify_all();
}

Result<std::unique_ptr<ByteSource>> ChunkStore::open_chunk(uint64_t id) {
  Impl& m = *impl_;
  std::shared_ptr<const Buffer> bytes;
  std::string path;
  {
    std::lock_guard lock(m.mu);
    auto it = m.entries.find(id);
    if (it == m.entries.end()) return Status::error(ErrorCode::not_found, "no chunk " + std::to_string(id));
    if (it->second.on_disk)
      path = it->second.path;
    else
      bytes = it->second.bytes;
  }
  if (bytes) {
    const Buffer& b = *bytes;
    return memory_source(b.data(), b.size(), std::move(bytes));
  }
  return file_source(path);
}

void ChunkStore::complete(uint64_t id) {
  Impl& m = *impl_;
  std::string path;
  {
    std::lock_guard lock(m.mu);
    auto it = m.entries.find(id);
    if (it == m.entries.end() || it->second.state != Impl::State::uploading) return;
    Impl::Entry& e = it->second;
    m.st.chunks_uploading--;
    m.st.chunks_uploaded++;
    m.st.bytes_uploaded += e.size;
    if (e.on_disk) {
      m.st.chunks_on_disk--;
      m.st.bytes_on_disk -= e.size;
      m.disk_reserved -= e.size;
      path = e.path;
      m.known_paths.erase(path);
    } else {
      m.st.chunks_in_memory--;
      m.st.bytes_in_memory -= e.size;
    }
    m.entries.erase(it);
  }
  // The files go only now that the upload is confirmed.
  if (!path.empty()) {
    Impl::remove_files(path);
    fsync_dir(m.cfg.spill_dir);
  }
  m.cv_state.notify_all();
}

void ChunkStore::release(uint64_t id, uint64_t retry_after_ms) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    auto it = m.entries.find(id);
    if (it == m.entries.end() || it->second.state != Impl::State::uploading) return;
    Impl::Entry& e = it->second;
    e.state = e.on_disk ? Impl::State::disk : Impl::State::memory;
    e.attempts++;
    e.due_ms = steady_now_ms() + retry_after_ms;
    m.schedule_locked(id, e);
    m.st.chunks_uploading--;
  }
  m.cv_take.notify_all();
}

Result<size_t> ChunkStore::persist_pending() {
  Impl& m = *impl_;
  if (m.cfg.spill_dir.empty()) return Status::error(ErrorCode::invalid_argument, "the store has no spill_dir");
  flush_spills();
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(m.mu);
    for (auto& [id, e] : m.entries)
      if (e.state == Impl::State::memory) ids.push_back(id);
  }
  size_t written = 0;
  Status last_error;
  for (uint64_t id : ids) {
    ChunkKey key;
    std::shared_ptr<const Buffer> bytes;
    {
      std::lock_guard lock(m.mu);
      auto it = m.entries.find(id);
      if (it == m.entries.end() || it->second.state != Impl::State::memory) continue;  // taken meanwhile
      Impl::Entry& e = it->second;
      key = e.key;
      bytes = e.bytes;
      m.unschedule_locked(id, e);
      e.state = Impl::State::spilling;  // keeps take() away from it while it is written
    }
    auto path = m.write_chunk_files(key, *bytes);  // without the lock
    std::lock_guard lock(m.mu);
    Impl::Entry& e = m.entries.at(id);
    if (!path) {
      e.state = Impl::State::memory;  // stays in memory; lost if the process now exits
      m.schedule_locked(id, e);
      m.st.spill_errors++;
      last_error = path.status();
      last_error.with_context("persisting " + key.to_string());
      continue;
    }
    e.state = Impl::State::disk;
    e.on_disk = true;
    e.path = *path;
    e.bytes.reset();
    m.schedule_locked(id, e);
    m.known_paths.insert(e.path);
    m.disk_reserved += e.size;
    m.st.chunks_in_memory--;
    m.st.bytes_in_memory -= e.size;
    m.st.chunks_on_disk++;
    m.st.bytes_on_disk += e.size;
    ++written;
  }
  if (!last_error.is_ok()) {
    log_message(LogLevel::error, kComponent, last_error.to_string());
    m.report(last_error);
  }
  return written;
}

bool ChunkStore::wait_drained(uint64_t timeout_ms) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  return m.cv_state.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return m.entries.empty(); });
}

void ChunkStore::flush_spills() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  m.cv_state.wait(lock, [&] { return (m.spill_queue.empty() && !m.spill_busy) || m.stopping; });
}

void ChunkStore::shutdown() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
  }
  m.cv_take.notify_all();
  m.cv_spill.notify_all();
}

bool ChunkStore::is_shutdown() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stopping;
}

ChunkStoreStats ChunkStore::stats() const {
  std::lock_guard lock(impl_->mu);
  ChunkStoreStats s = impl_->st;
  s.chunks_pending = impl_->ready.size() + impl_->delayed.size();
  return s;
}

void ChunkStore::set_error_callback(ErrorCallback cb) {
  std::lock_guard lock(impl_->mu);
  impl_->on_error = std::move(cb);
}

const ChunkStoreConfig& ChunkStore::config() const { return impl_->cfg; }

}  // namespace roomrec
