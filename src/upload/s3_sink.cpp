#include <roomrec/log.h>
#include <roomrec/s3_upload.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "s3/http_client.h"
#include "s3/s3_uri.h"
#include "util/text.h"

namespace roomrec {
namespace {

// One answer slot shared with a provider that may answer late (or never).
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Result<std::string> url = Status::error(ErrorCode::timeout, "no answer");
};

class PresignedSink final : public ChunkSink {
 public:
  PresignedSink(std::shared_ptr<UrlProvider> provider, PresignedSinkConfig cfg)
      : provider_(std::move(provider)), cfg_(std::move(cfg)) {}

  Status upload(const PendingChunk& chunk, ByteSource& bytes) override {
    // The whole chunk, for its MD5 and an exact Content-Length.
    Buffer data(chunk.size);
    data.resize(chunk.size);
    size_t off = 0;
    while (off < chunk.size) {
      auto got = bytes.read(data.data() + off, chunk.size - off);
      if (!got) return got.status();
      if (*got == 0) break;
      off += *got;
    }
    if (off != chunk.size)
      return Status::error(ErrorCode::corrupt, "chunk " + chunk.key.to_string() + " is shorter than recorded");

    RecordReq req{chunk.key.app,   chunk.key.room,    chunk.key.peer,
                  chunk.key.session, chunk.key.index, chunk.key.from_ts, chunk.key.to_ts};
    std::string key = chunk.key.to_string();
    auto url = ask_url(req, key);
    if (!url) return url.status().with_context("presigned URL for " + key + " from " + provider_->describe());

    s3::Headers headers = {{"Content-MD5", s3::content_md5_base64(data.data(), data.size())},
                           {"Content-Type", "application/octet-stream"}};
    auto body = memory_source(data.data(), data.size());
    auto r = http().request("PUT", *url, headers, body.get(), data.size());
    if (!r) return r.status();
    if (s3::is_expired(*r))
      return Status::error(ErrorCode::unavailable, "presigned URL for " + key + " had expired; asking for a fresh one");
    Status s = s3::check_status(*r, "PUT " + key);
    if (!s) return s;
    fire_hooks(req, chunk.key);
    return Status::ok();
  }

  std::string describe() const override { return "presigned PUT via " + provider_->describe(); }

 private:
  Result<std::string> ask_url(const RecordReq& req, const std::string& key) {
    auto slot = std::make_shared<Pending>();
    provider_->request(req, key, [slot](Result<std::string> url) {
      std::lock_guard lock(slot->mu);
      if (slot->done) return;
      slot->url = std::move(url);
      slot->done = true;
      slot->cv.notify_all();
    });
    std::unique_lock lock(slot->mu);
    if (!slot->cv.wait_for(lock, std::chrono::milliseconds(cfg_.url_timeout_ms), [&] { return slot->done; })) {
      slot->done = true;  // a late answer is ignored
      return Status::error(ErrorCode::timeout, "no URL within " + std::to_string(cfg_.url_timeout_ms) + " ms");
    }
    return slot->url;
  }

  s3::HttpClient& http() {
    thread_local std::unique_ptr<s3::HttpClient> client;
    if (!client) {
      s3::HttpOptions o;
      o.connect_timeout_ms = cfg_.connect_timeout_ms;
      o.low_speed_time_s = cfg_.low_speed_time_s;
      o.ca_file = cfg_.ca_file;
      client = std::make_unique<s3::HttpClient>(o);
    }
    return *client;
  }

  void fire_hooks(const RecordReq& req, const ChunkKey& key) {
    if (!cfg_.on_record_event) return;
    std::string prefix = cfg_.path_prefix;
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    std::string room_path = prefix + key.room_path();
    std::string session_path = prefix + key.session_path();
    bool room_first, session_first;
    {
      std::lock_guard lock(mu_);
      room_first = rooms_.insert(room_path).second;
      session_first = sessions_.insert(session_path).second;
    }
    try {
      if (room_first) cfg_.on_record_event(RecordHookKind::started, req, room_path);
      if (session_first) cfg_.on_record_event(RecordHookKind::peer_joined, req, session_path);
    } catch (...) {
    }
  }

  std::shared_ptr<UrlProvider> provider_;
  PresignedSinkConfig cfg_;
  std::mutex mu_;
  std::set<std::string> rooms_, sessions_;
};

}  // namespace

std::shared_ptr<ChunkSink> make_presigned_sink(std::shared_ptr<UrlProvider> provider, PresignedSinkConfig config) {
  return std::make_shared<PresignedSink>(std::move(provider), std::move(config));
}

Result<std::shared_ptr<ChunkSink>> make_sink_for_uri(std::string_view uri, PresignedSinkConfig config) {
  if (util::is_http_uri(uri)) {
    auto parsed = s3::S3Uri::parse(uri);
    if (!parsed) return parsed.status();
    auto presigner = make_local_presigner(uri);
    if (!presigner) return presigner.status();
    if (config.path_prefix.empty()) config.path_prefix = parsed->prefix;
    return make_presigned_sink(std::move(presigner.value()), std::move(config));
  }
  auto local = LocalDirectorySink::from_uri(uri);
  if (!local) return local.status();
  return std::shared_ptr<ChunkSink>(std::move(local.value()));
}

}  // namespace roomrec
