// ChunkStore: holds closed chunks until they are uploaded.
//
// Chunks live in memory, and memory_budget_bytes bounds every byte the store
// holds in memory, including chunks waiting to be written to disk. Once the
// chunks in memory pass spill_watermark of the budget, a background I/O thread
// moves the newest of them to spill_dir (the oldest go out first by upload),
// up to disk_budget_bytes, checking the real free space of the file system.
// When a chunk arrives with the memory budget full because that thread is
// behind, put() writes it to disk itself (the caller waits for one file
// write: back-pressure instead of loss or unbounded memory); with the disk
// budget taken too, it waits for chunks being written to free their memory.
// When memory and disk are both full a new chunk is refused (counted, logged, reported); an
// accepted chunk is never dropped: it leaves the store only when its upload is
// confirmed with complete().
//
// Disk chunks are written atomically (temp file, fsync, rename) with a small
// JSON metadata file beside them; recover() re-queues what a previous process
// left in spill_dir. In durable mode every chunk is written to disk before
// put() returns, so a killed process loses at most its open chunks; this is one
// file write and fsync on the thread that closes a chunk. With
// durable_background the spill thread writes every chunk instead, as soon as it
// is accepted, and it is uploaded only once on disk: put() does no I/O while
// memory has room (for callers that must not block, such as a media server's
// packet threads), and a killed process loses its open chunks and those still
// queued for writing (about one file write's time of them).
//
// Thread-safe. put() in the default mode does no I/O while memory has room.
#pragma once

#include <roomrec/buffer.h>
#include <roomrec/byte_source.h>
#include <roomrec/chunk_key.h>
#include <roomrec/export.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace roomrec {

struct ChunkStoreConfig {
  uint64_t memory_budget_bytes = 100ull << 20;
  std::string spill_dir;                       // empty: memory only
  uint64_t disk_budget_bytes = 1ull << 30;
  uint64_t min_free_disk_bytes = 64ull << 20;  // keep this much of the file system free
  bool durable = false;                        // needs spill_dir
  bool durable_background = false;             // with durable: written by the spill thread, not by put()
  // With a spill_dir: chunks in memory above this fraction of the budget are
  // spilled in the background, leaving the rest of the budget for bursts.
  double spill_watermark = 0.75;
};

struct ChunkStoreStats {
  uint64_t chunks_in_memory = 0, bytes_in_memory = 0;
  uint64_t chunks_on_disk = 0, bytes_on_disk = 0;
  uint64_t chunks_spilling = 0, bytes_spilling = 0;  // accepted for disk, being written
  uint64_t chunks_uploading = 0;
  uint64_t chunks_pending = 0;                       // waiting for an uploader
  uint64_t chunks_accepted = 0;
  uint64_t chunks_uploaded = 0, bytes_uploaded = 0;
  uint64_t chunks_refused = 0, bytes_refused = 0;
  uint64_t chunks_recovered = 0;
  uint64_t chunks_written_by_caller = 0;              // written by put() itself: durable (not background),
                                                     // or memory full with the spill thread behind
  uint64_t spill_errors = 0;
};

// A chunk handed to an uploader.
struct PendingChunk {
  uint64_t id = 0;
  ChunkKey key;
  uint64_t size = 0;
  uint32_t attempts = 0;     // failed uploads so far
  bool on_disk = false;
};

class ROOMREC_API ChunkStore {
 public:
  using ErrorCallback = std::function<void(const Status&)>;

  // Opens the store; with a spill_dir, creates it and takes an exclusive lock
  // on it (a second live store on the same folder is refused).
  static Result<std::unique_ptr<ChunkStore>> open(const ChunkStoreConfig& config);
  ~ChunkStore();
  ChunkStore(const ChunkStore&) = delete;
  ChunkStore& operator=(const ChunkStore&) = delete;

  // Offers a closed chunk. ok: accepted (the store now owns it until its
  // upload is confirmed). resource_exhausted: refused, both budgets full.
  Status put(const ChunkKey& key, Buffer bytes);

  // Re-queues chunks a previous process left in spill_dir; returns how many.
  // Chunks already known to this store are not queued twice. Damaged files
  // are moved aside into spill_dir/quarantine and reported.
  Result<size_t> recover();

  // Upload side. Takes the oldest chunk that is due (not in back-off),
  // waiting up to wait_ms; nullopt when none, when the store is shutting
  // down, or once *cancel (if given) is true.
  std::optional<PendingChunk> take(uint64_t wait_ms, const std::atomic<bool>* cancel = nullptr);
  // Wakes every waiting take() to check its cancel flag again (call it after
  // setting the flag: an uploader that is stopping).
  void wake_takers();
  // The bytes of a taken chunk (memory chunks are shared, disk chunks read).
  Result<std::unique_ptr<ByteSource>> open_chunk(uint64_t id);
  // The upload is confirmed: the chunk leaves the store.
  void complete(uint64_t id);
  // The upload failed: the chunk goes back to the queue, due again after retry_after_ms.
  void release(uint64_t id, uint64_t retry_after_ms);

  // Orderly shutdown: writes every chunk still held only in memory (and not
  // being uploaded) to spill_dir, so a later recover() finds it. Returns how
  // many were written; chunks that could not be written are reported.
  Result<size_t> persist_pending();

  // Blocks until every accepted chunk is uploaded or timeout; true if drained.
  bool wait_drained(uint64_t timeout_ms);
  // Blocks until no chunk is being spilled (the spill thread has written or
  // given up on every chunk handed to it): before reading spill_dir, backing
  // it up or stopping a process that shares it.
  void flush_spills();
  // Wakes every take() and makes them return nullopt from now on.
  void shutdown();
  bool is_shutdown() const;

  ChunkStoreStats stats() const;
  void set_error_callback(ErrorCallback cb);
  const ChunkStoreConfig& config() const;

 private:
  struct Impl;
  ROOMREC_HIDDEN explicit ChunkStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec
