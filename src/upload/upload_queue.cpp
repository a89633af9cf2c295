#include <roomrec/log.h>
#include <roomrec/upload_queue.h>

#include "util/backoff.h"

#include "util/atomic_file.h"
#include "util/thread_name.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <thread>
#include <cstring>
#include <filesystem>

namespace roomrec {
namespace fs = std::filesystem;

namespace {
constexpr const char* kComponent = "upload";
}

LocalDirectorySink::LocalDirectorySink(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Result<std::shared_ptr<LocalDirectorySink>> LocalDirectorySink::from_uri(std::string_view uri) {
  std::string_view path = uri;
  if (uri.rfind("file://", 0) == 0) path = uri.substr(7);
  else if (uri.find("://") != std::string_view::npos)
    return Status::error(ErrorCode::invalid_argument, "not a file:// URI or path: " + std::string(uri));
  if (path.empty()) return Status::error(ErrorCode::invalid_argument, "empty directory path in " + std::string(uri));
  return std::make_shared<LocalDirectorySink>(std::string(path));
}

Status LocalDirectorySink::upload(const PendingChunk& chunk, ByteSource& bytes) {
  std::string key = chunk.key.to_string();
  if (key.find("/../") != std::string::npos || key.rfind("../", 0) == 0)
    return Status::error(ErrorCode::invalid_argument, "refusing key with '..': " + key);
  fs::path dest = fs::path(root_) / key;
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return Status::error(ErrorCode::io, "create " + dest.parent_path().string() + ": " + ec.message());
  // One atomic-write routine (util/atomic_file): temp file, fsync, rename, fsync of the directory.
  auto file = util::AtomicFile::create(dest.string(), ".part");
  if (!file) return file.status();
  std::vector<uint8_t> buf(256 * 1024);
  uint64_t total = 0;
  for (;;) {
    auto got = bytes.read(buf.data(), buf.size());
    if (!got) return got.status();
    if (*got == 0) break;
    if (Status s = file->write(buf.data(), *got); !s) return s;
    total += *got;
  }
  if (total != chunk.size)
    return Status::error(ErrorCode::corrupt, "chunk " + key + " read " + std::to_string(total) + " of " +
                                                 std::to_string(chunk.size) + " bytes");
  return file->commit(/*sync_dir=*/true);
}

struct ROOMREC_HIDDEN UploadQueue::Impl {
  Impl(ChunkStore& s, std::shared_ptr<ChunkSink> k, UploadQueueConfig c) : store_(s), sink_(std::move(k)), cfg_(c) {}
  void run(size_t worker);

  ChunkStore& store_;
  std::shared_ptr<ChunkSink> sink_;
  UploadQueueConfig cfg_;
  UploadedCallback on_uploaded_;
  FailureCallback on_failure_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> uploaded_{0}, bytes_{0}, failures_{0};
};

UploadQueue::UploadQueue(ChunkStore& store, std::shared_ptr<ChunkSink> sink, UploadQueueConfig config)
    : impl_(std::make_unique<Impl>(store, std::move(sink), config)) {
  if (impl_->cfg_.workers == 0) impl_->cfg_.workers = 1;
}

void UploadQueue::on_uploaded(UploadedCallback cb) { impl_->on_uploaded_ = std::move(cb); }
void UploadQueue::on_failure(FailureCallback cb) { impl_->on_failure_ = std::move(cb); }

UploadQueue::~UploadQueue() { stop(); }

void UploadQueue::start() {
  if (!impl_->workers_.empty()) return;
  impl_->stop_ = false;
  for (size_t i = 0; i < impl_->cfg_.workers; ++i) impl_->workers_.emplace_back([this, i] {
    util::set_thread_name("rr-upload");
    impl_->run(i);
  });
}

void UploadQueue::stop() {
  impl_->stop_ = true;
  impl_->store_.wake_takers();  // idle workers wait in take() for seconds
  for (auto& t : impl_->workers_)
    if (t.joinable()) t.join();
  impl_->workers_.clear();
}

bool UploadQueue::flush(uint64_t timeout_ms) { return impl_->store_.wait_drained(timeout_ms); }

size_t UploadQueue::shutdown(uint64_t timeout_ms) {
  flush(timeout_ms);
  stop();
  if (!impl_->store_.config().spill_dir.empty()) {
    auto n = impl_->store_.persist_pending();
    if (n && *n > 0)
      log_message(LogLevel::info, kComponent, "kept " + std::to_string(*n) + " unsent chunks on disk for recover()");
  }
  auto st = impl_->store_.stats();
  return st.chunks_pending + st.chunks_uploading;
}

void UploadQueue::Impl::run(size_t worker) {
  (void)worker;
  while (!stop_.load()) {
    // Woken by a new chunk, a due retry or stop(): a long wait costs nothing
    // (an idle recorder's workers wake once every few seconds).
    auto chunk = store_.take(5000, &stop_);
    if (!chunk) {
      if (store_.is_shutdown()) break;
      continue;
    }
    Status s;
    auto src = store_.open_chunk(chunk->id);
    if (!src)
      s = src.status();
    else
      s = sink_->upload(*chunk, *src.value());
    if (s) {
      // Counted and reported before the chunk leaves the store, so that a
      // flush (the store drained) sees every upload's stats and callback done.
      uploaded_++;
      bytes_ += chunk->size;
      if (on_uploaded_) {
        try {
          on_uploaded_(*chunk);
        } catch (...) {
        }
      }
      store_.complete(chunk->id);
    } else {
      failures_++;
      uint64_t wait = util::backoff_ms(cfg_.retry_initial_ms, cfg_.retry_max_ms, chunk->attempts + 1, chunk->id + chunk->attempts);
      log_message(LogLevel::warn, kComponent,
                  "upload of " + chunk->key.to_string() + " to " + sink_->describe() + " failed (attempt " +
                      std::to_string(chunk->attempts + 1) + "), retrying in " + std::to_string(wait) +
                      " ms: " + s.to_string());
      if (on_failure_) {
        try {
          on_failure_(*chunk, s);
        } catch (...) {
        }
      }
      store_.release(chunk->id, wait);
    }
  }
}

UploadQueueStats UploadQueue::stats() const { return {impl_->uploaded_.load(), impl_->bytes_.load(), impl_->failures_.load()}; }

}  // namespace roomrec

