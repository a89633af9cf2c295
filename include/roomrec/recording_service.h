// RecordingService: the one object a C++ host needs to record.
//
// It owns the Recorder (and its ChunkStore), the upload queue with its sink,
// and the hook sender, and runs their whole lifecycle in the right order:
//
//   create()    validates the configuration and builds everything; sessions may
//               be opened at once (their chunks wait in the store).
//   start()     re-queues the chunks a previous process left in store.spill_dir
//               (when `recover`), then starts the upload workers.
//   open()      opens a peer session (see SessionRecorder in recorder.h).
//   flush()     waits until every chunk accepted so far is uploaded.
//   shutdown()  closes every open session, waits up to a deadline for the uploads
//               and hook events, stops the workers and writes what is still in
//               memory to store.spill_dir for the next start().
//   ~RecordingService()  shutdown(0) if not done; no callback runs after it returns.
//
// The C ABI (capi/roomrec.h) and the Python bindings are translations of this
// class. Callbacks are std::function objects: whatever they capture is their
// per-object user data; each SessionRecorder also carries a host pointer
// (SessionParams::user_data, SessionRecorder::user_data()).
//
// Global initialisation: libcurl's curl_global_init and libsrtp's srtp_init run
// once per process, the first time an HTTP client or an SRTP session is made
// (thread-safe). A host that uses libcurl itself before starting other threads
// may call curl_global_init first; the library's call is then a no-op.
#pragma once

#include <roomrec/chunk_store.h>
#include <roomrec/export.h>
#include <roomrec/hook_sender.h>
#include <roomrec/recorder.h>
#include <roomrec/s3_upload.h>
#include <roomrec/status.h>
#include <roomrec/upload_queue.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roomrec {

// Where closed chunks go. At most one of uri / connector / url_callback / sink;
// none: chunks stay in the store (and its spill_dir).
struct UploadConfig {
  // A local folder, "file:///abs/path", or an S3 URI
  // (http(s)://KEY:SECRET@host:port/bucket/prefix?path_style=true&region=...),
  // presigned locally with SigV4.
  std::string uri;
  std::optional<ConnectorConfig> connector;   // presigned URLs from a connector service
  UrlCallback url_callback;                   // presigned URLs from the host (any thread)
  std::shared_ptr<ChunkSink> sink;            // or any ChunkSink of the host's

  size_t workers = 2;
  uint64_t retry_initial_ms = 500;
  uint64_t retry_max_ms = 30'000;
  uint64_t url_timeout_ms = 30'000;           // waiting for a connector's or the host's answer
  uint64_t connect_timeout_ms = 5'000;
  uint64_t low_speed_time_s = 20;             // abort a PUT moving < 1 KiB/s for this long
  std::string ca_file;                        // TLS trust (system default when empty)
  uint32_t presign_expires_s = 86'400;        // local presigner: 1..604800
  std::string path_prefix;                    // prefix of the paths in record hooks
                                              // (default: the S3 URI's prefix)
};

struct RecordingServiceConfig {
  std::string key_prefix;                     // prepended to every chunk key
  uint64_t max_chunk_bytes = 16ull << 20;
  uint64_t max_chunk_ms = 60'000;
  ChunkStoreConfig store;
  bool recover = true;                        // start() re-queues chunks found in store.spill_dir
  std::optional<UploadConfig> upload;
  std::optional<HookConfig> hooks;            // needs a presigned upload (uri S3, connector, url_callback)

  // Keyframe request: on the thread calling the session, inside track_started()
  // or rtp(); it must not call back into that session.
  std::function<void(SessionRecorder& session, uint32_t track_id)> request_keyframe;
  // Refusals, spill errors, failed upload attempts (retried): any library thread.
  std::function<void(const Status& status)> on_error;
  // A chunk is stored at its destination: an upload worker thread.
  std::function<void(const std::string& key, uint64_t bytes)> on_uploaded;
};

struct RecordingServiceStats {
  size_t open_sessions = 0;
  ChunkStoreStats store;
  std::optional<UploadQueueStats> upload;     // once started, with an upload configured
  std::optional<HookSenderStats> hooks;
};

class RecordingService {
 public:
  // Fails (invalid_argument) on an inconsistent configuration.
  ROOMREC_API static Result<std::unique_ptr<RecordingService>> create(RecordingServiceConfig config);
  ROOMREC_API ~RecordingService();
  RecordingService(const RecordingService&) = delete;
  RecordingService& operator=(const RecordingService&) = delete;

  // Recovers spilled chunks (config.recover) and starts the upload workers. Once.
  ROOMREC_API Status start();
  ROOMREC_API Result<std::shared_ptr<SessionRecorder>> open(const SessionParams& params, uint64_t now_ms);
  // Closes every session still open (no leave rows). No session may be in a call.
  ROOMREC_API void close_all(uint64_t now_ms);
  // Waits until every chunk accepted so far is uploaded: ok, timeout, or
  // invalid_argument when there is no upload or the service is not started.
  ROOMREC_API Status flush(uint64_t timeout_ms);
  // Orderly end (see above); returns how many chunks are not uploaded. Later
  // calls return 0 and do nothing; open() then fails.
  ROOMREC_API size_t shutdown(uint64_t timeout_ms);

  ROOMREC_API RecordingServiceStats stats() const;
  ROOMREC_API bool has_upload() const;
  ROOMREC_API bool started() const;
  ROOMREC_API bool is_shutdown() const;
  ROOMREC_API Recorder& recorder();

 private:
  struct Impl;
  explicit RecordingService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec
