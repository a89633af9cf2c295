// UploadQueue: worker threads that take closed chunks from a ChunkStore and
// store them through a ChunkSink, retrying with exponential back-off until the
// sink confirms; only then does the chunk leave the store.
#pragma once

#include <roomrec/byte_source.h>
#include <roomrec/chunk_store.h>
#include <roomrec/export.h>
#include <roomrec/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace roomrec {

// Where chunks go. upload() is called from upload worker threads, possibly
// concurrently for different chunks; it returns ok only once the chunk is stored.
class ROOMREC_API ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual Status upload(const PendingChunk& chunk, ByteSource& bytes) = 0;
  virtual std::string describe() const = 0;
};

// "Uploads" into a local folder with the same key layout as S3:
// {root}/{key}. Each file is written atomically (temp file, fsync, rename,
// fsync of its directory), so a confirmed upload survives a crash.
class ROOMREC_API LocalDirectorySink final : public ChunkSink {
 public:
  explicit LocalDirectorySink(std::string root);
  // Accepts "file:///abs/path", "file://relative/path" or a plain path.
  static Result<std::shared_ptr<LocalDirectorySink>> from_uri(std::string_view uri);
  Status upload(const PendingChunk& chunk, ByteSource& bytes) override;
  std::string describe() const override { return "file://" + root_; }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

struct UploadQueueConfig {
  size_t workers = 2;
  uint64_t retry_initial_ms = 500;
  uint64_t retry_max_ms = 30'000;
};

struct UploadQueueStats {
  uint64_t uploaded = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t failures = 0;  // failed attempts (each is retried)
};

class ROOMREC_API UploadQueue {
 public:
  using UploadedCallback = std::function<void(const PendingChunk&)>;
  using FailureCallback = std::function<void(const PendingChunk&, const Status&)>;

  UploadQueue(ChunkStore& store, std::shared_ptr<ChunkSink> sink, UploadQueueConfig config = {});
  ~UploadQueue();  // stops and joins the workers; pending chunks stay in the store
  UploadQueue(const UploadQueue&) = delete;
  UploadQueue& operator=(const UploadQueue&) = delete;

  // Called on a worker thread after each confirmed upload (before the chunk
  // leaves the store, so flush() returns after it) / failed attempt.
  // Set them before start().
  void on_uploaded(UploadedCallback cb);
  void on_failure(FailureCallback cb);

  void start();
  void stop();
  // Waits until every chunk of the store is uploaded, or timeout; true if so.
  bool flush(uint64_t timeout_ms);
  // Orderly shutdown: flush for up to timeout_ms, stop the workers, and write
  // every chunk still in memory to the store's spill_dir so that a later
  // ChunkStore::recover() uploads it. Returns how many chunks remain unsent.
  size_t shutdown(uint64_t timeout_ms);
  UploadQueueStats stats() const;

 private:
  struct Impl;  // the store, sink, worker threads and counters
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec
