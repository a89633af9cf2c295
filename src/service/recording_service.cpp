// RecordingService: recorder + store + upload queue + hook sender, one lifecycle.
#include <roomrec/recording_service.h>

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

#include "hooks/hook_sender.h"
#include "s3/s3_uri.h"
#include "util/text.h"

namespace roomrec {

namespace {

bool is_http(std::string_view s) { return util::is_http_uri(s); }

Status invalid(std::string message) { return Status::error(ErrorCode::invalid_argument, std::move(message)); }

// The host's callbacks, shared with the lambdas handed to the parts. Once
// `dead` is set (under mu), none of them runs again.
struct HostCallbacks {
  std::function<void(SessionRecorder&, uint32_t)> request_keyframe;
  std::function<void(const Status&)> on_error;
  std::function<void(const std::string&, uint64_t)> on_uploaded;
  std::mutex mu;
  bool dead = false;

  void error(const Status& s) noexcept {
    try {
      std::lock_guard lock(mu);
      if (!dead && on_error) on_error(s);
    } catch (...) {
    }
  }
  void uploaded(const std::string& key, uint64_t bytes) noexcept {
    try {
      std::lock_guard lock(mu);
      if (!dead && on_uploaded) on_uploaded(key, bytes);
    } catch (...) {
    }
  }
};

}  // namespace

struct ROOMREC_HIDDEN RecordingService::Impl {
  RecordingServiceConfig cfg;
  std::shared_ptr<HostCallbacks> cb = std::make_shared<HostCallbacks>();
  std::unique_ptr<HookSender> hooks;  // outlives the sink (its forwarder points at it)
  std::shared_ptr<ChunkSink> sink;
  UploadQueueConfig queue_cfg;
  std::unique_ptr<Recorder> rec;
  std::unique_ptr<UploadQueue> queue;
  mutable std::mutex mu;  // lifecycle: start / shutdown / stats of the queue
  bool started = false;
  std::atomic<bool> shut{false};

  Status build_sink(const UploadConfig& u, PresignedSinkConfig sc) {
    if (u.sink) {
      sink = u.sink;
    } else if (!u.uri.empty()) {
      if (is_http(u.uri)) {
        auto parsed = s3::S3Uri::parse(u.uri);
        if (!parsed) return parsed.status().with_context("upload.uri");
        if (parsed->presigned)
          return invalid("upload.uri: a presigned URL names one object; give an S3 URI with credentials");
        auto presigner = make_local_presigner(u.uri, u.presign_expires_s);
        if (!presigner) return presigner.status().with_context("upload.uri");
        if (sc.path_prefix.empty()) sc.path_prefix = parsed->prefix;
        sink = make_presigned_sink(std::move(presigner.value()), std::move(sc));
      } else {
        auto local = LocalDirectorySink::from_uri(u.uri);
        if (!local) return local.status().with_context("upload.uri");
        sink = std::move(local.value());
      }
    } else if (u.connector) {
      if (!is_http(u.connector->url)) return invalid("upload.connector.url must be an http:// or https:// URL");
      sink = make_presigned_sink(make_connector_client(*u.connector), std::move(sc));
    } else {
      sink = make_presigned_sink(make_callback_provider(u.url_callback), std::move(sc));
    }
    return Status::ok();
  }

  size_t shutdown_locked(uint64_t timeout_ms) {
    if (shut.exchange(true)) return 0;
    rec->close_all(0);
    size_t unsent = 0;
    if (queue) {
      unsent = queue->shutdown(timeout_ms);  // flush, stop the workers, persist what is in memory
      queue.reset();
    } else {
      if (!rec->store().config().spill_dir.empty()) (void)rec->store().persist_pending();
      unsent = rec->store().stats().chunks_pending;
    }
    if (hooks && timeout_ms) hooks->flush(timeout_ms);
    rec->store().flush_spills();
    return unsent;
  }
};

Result<std::unique_ptr<RecordingService>> RecordingService::create(RecordingServiceConfig config) {
  auto impl = std::make_unique<Impl>();
  if (config.store.durable && config.store.spill_dir.empty()) return invalid("store.durable needs store.spill_dir");
  if (config.max_chunk_bytes == 0) return invalid("max_chunk_bytes must be positive");
  if (config.max_chunk_ms == 0) return invalid("max_chunk_ms must be positive");

  if (config.hooks) {
    auto sender = HookSender::create(*config.hooks);
    if (!sender) return sender.status();
    impl->hooks = std::move(sender.value());
  }

  if (config.upload) {
    const UploadConfig& u = *config.upload;
    int kinds = int(!u.uri.empty()) + int(u.connector.has_value()) + int(bool(u.url_callback)) + int(bool(u.sink));
    if (kinds != 1) return invalid("upload needs exactly one of uri, connector, url_callback, sink");
    if (u.workers == 0 || u.workers > 256) return invalid("upload.workers must be 1..256");
    if (u.retry_initial_ms == 0 || u.retry_max_ms < u.retry_initial_ms)
      return invalid("upload: need 0 < retry_initial_ms <= retry_max_ms");
    if (u.presign_expires_s < 1 || u.presign_expires_s > 604800)
      return invalid("upload.presign_expires_s must be 1..604800");
    impl->queue_cfg.workers = u.workers;
    impl->queue_cfg.retry_initial_ms = u.retry_initial_ms;
    impl->queue_cfg.retry_max_ms = u.retry_max_ms;
    PresignedSinkConfig sc;
    sc.url_timeout_ms = u.url_timeout_ms;
    sc.connect_timeout_ms = u.connect_timeout_ms;
    sc.low_speed_time_s = u.low_speed_time_s;
    sc.ca_file = u.ca_file;
    sc.path_prefix = u.path_prefix;
    if (impl->hooks)
      sc.on_record_event = [h = impl->hooks.get()](RecordHookKind kind, const RecordReq& req, const std::string& path) {
        h->record_event(kind, req.app, req.room, req.peer, path);  // a full queue is counted as dropped
      };
    if (Status s = impl->build_sink(u, std::move(sc)); !s) return s;
  }

  impl->cb->request_keyframe = std::move(config.request_keyframe);
  impl->cb->on_error = std::move(config.on_error);
  impl->cb->on_uploaded = std::move(config.on_uploaded);

  RecorderConfig rc;
  rc.key_prefix = config.key_prefix;
  rc.max_chunk_bytes = config.max_chunk_bytes;
  rc.max_chunk_ms = config.max_chunk_ms;
  rc.store = config.store;
  std::shared_ptr<HostCallbacks> cb = impl->cb;
  // The keyframe request runs on the session's calling thread, inside a session
  // call the host made; the host cannot free the service during it.
  if (cb->request_keyframe)
    rc.request_keyframe = [cb](SessionRecorder& s, uint32_t track_id) { cb->request_keyframe(s, track_id); };
  rc.on_error = [cb](const Status& s) { cb->error(s); };
  auto rec = Recorder::create(std::move(rc));
  if (!rec) return rec.status();
  impl->rec = std::move(rec.value());
  impl->cfg = std::move(config);
  return std::unique_ptr<RecordingService>(new RecordingService(std::move(impl)));
}

RecordingService::RecordingService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RecordingService::~RecordingService() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->shutdown_locked(0);
  }
  {
    std::lock_guard lock(impl_->cb->mu);
    impl_->cb->dead = true;
  }
  impl_->sink.reset();
  impl_->hooks.reset();
  impl_->rec.reset();
}

Status RecordingService::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return invalid("the recording service is already started");
  if (impl_->shut) return invalid("the recording service is shut down");
  if (impl_->cfg.recover && !impl_->rec->store().config().spill_dir.empty()) {
    auto n = impl_->rec->store().recover();
    if (!n) return n.status().with_context("recovering spilled chunks");
  }
  if (impl_->sink) {
    impl_->queue = std::make_unique<UploadQueue>(impl_->rec->store(), impl_->sink, impl_->queue_cfg);
    std::shared_ptr<HostCallbacks> cb = impl_->cb;
    impl_->queue->on_uploaded([cb](const PendingChunk& c) { cb->uploaded(c.key.to_string(), c.size); });
    impl_->queue->on_failure([cb](const PendingChunk& c, const Status& s) {
      cb->error(Status(s.code(), "upload of " + c.key.to_string() + " failed (attempt " + std::to_string(c.attempts + 1) +
                                     ", will retry): " + s.message()));
    });
    impl_->queue->start();
  }
  impl_->started = true;
  return Status::ok();
}

Result<std::shared_ptr<SessionRecorder>> RecordingService::open(const SessionParams& params, uint64_t now_ms) {
  if (impl_->shut) return invalid("the recording service is shut down");
  return impl_->rec->open(params, now_ms);
}

void RecordingService::close_all(uint64_t now_ms) { impl_->rec->close_all(now_ms); }

Status RecordingService::flush(uint64_t timeout_ms) {
  if (!impl_->sink) return invalid("no upload is configured");
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->queue) return invalid("the recording service is not started (or is shut down)");
  }
  if (!impl_->rec->store().wait_drained(timeout_ms))
    return Status::error(ErrorCode::timeout,
                         "chunks still waiting for upload after " + std::to_string(timeout_ms) + " ms");
  return Status::ok();
}

size_t RecordingService::shutdown(uint64_t timeout_ms) {
  std::lock_guard lock(impl_->mu);
  return impl_->shutdown_locked(timeout_ms);
}

RecordingServiceStats RecordingService::stats() const {
  RecordingServiceStats st;
  st.open_sessions = impl_->rec->open_sessions();
  st.store = impl_->rec->store().stats();
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->queue) st.upload = impl_->queue->stats();
  }
  if (impl_->hooks) {
    st.hooks = impl_->hooks->stats();
  }
  return st;
}

bool RecordingService::has_upload() const { return impl_->sink != nullptr; }
bool RecordingService::started() const {
  std::lock_guard lock(impl_->mu);
  return impl_->started;
}
bool RecordingService::is_shutdown() const { return impl_->shut.load(); }
Recorder& RecordingService::recorder() { return *impl_->rec; }

}  // namespace roomrec
