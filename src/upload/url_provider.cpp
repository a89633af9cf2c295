#include <nlohmann/json.hpp>
#include <roomrec/s3_upload.h>

#include "s3/http_client.h"
#include "s3/s3_uri.h"
#include "s3/sigv4.h"

namespace roomrec {
namespace {

class LocalPresigner final : public UrlProvider {
 public:
  LocalPresigner(s3::S3Uri uri, uint32_t expires_s, const Clock* clock)
      : uri_(std::move(uri)), expires_s_(expires_s), clock_(clock ? clock : &SystemClock::instance()) {}
  void request(const RecordReq&, const std::string& key, UrlAnswer answer) override {
    // presign_url puts the URI's prefix in front of the key.
    auto url = s3::presign_url(uri_, "PUT", key, static_cast<int64_t>(clock_->now_ms() / 1000), expires_s_);
    answer(std::move(url));
  }
  std::string describe() const override { return "local presigner for " + uri_.to_string(); }

 private:
  s3::S3Uri uri_;
  uint32_t expires_s_;
  const Clock* clock_;
};

class ConnectorClient final : public UrlProvider {
 public:
  explicit ConnectorClient(ConnectorConfig cfg) : cfg_(std::move(cfg)) {}
  void request(const RecordReq& req, const std::string& key, UrlAnswer answer) override {
    nlohmann::json body = {{"app", req.app},     {"room", req.room},       {"peer", req.peer},
                           {"session", req.session}, {"index", req.index}, {"from_ts", req.from_ts},
                           {"to_ts", req.to_ts}, {"key", key}};
    thread_local std::unique_ptr<s3::HttpClient> http;
    if (!http) {
      s3::HttpOptions o;
      o.total_timeout_ms = cfg_.timeout_ms;
      http = std::make_unique<s3::HttpClient>(o);
    }
    s3::Headers headers = cfg_.headers;
    headers.emplace_back("Content-Type", "application/json");
    auto r = http->request("POST", cfg_.url, headers, body.dump());
    if (!r) return answer(r.status().with_context("connector " + s3::strip_query(cfg_.url)));
    Status s = s3::check_status(*r, "connector " + s3::strip_query(cfg_.url));
    if (!s) return answer(s);
    try {
      auto j = nlohmann::json::parse(r->body);
      const nlohmann::json* o = &j;
      if (j.contains("data") && j["data"].is_object()) o = &j["data"];
      if (o->contains("s3_uri") && (*o)["s3_uri"].is_string() && !(*o)["s3_uri"].get<std::string>().empty())
        return answer((*o)["s3_uri"].get<std::string>());
    } catch (const std::exception&) {
    }
    answer(Status::error(ErrorCode::invalid_argument,
                         "connector " + s3::strip_query(cfg_.url) + " answered without an \"s3_uri\": " +
                             r->body.substr(0, 200)));
  }
  std::string describe() const override { return "connector " + s3::strip_query(cfg_.url); }

 private:
  ConnectorConfig cfg_;
};

class CallbackProvider final : public UrlProvider {
 public:
  explicit CallbackProvider(UrlCallback cb) : cb_(std::move(cb)) {}
  void request(const RecordReq& req, const std::string& key, UrlAnswer answer) override {
    try {
      cb_(req, key, std::move(answer));
    } catch (const std::exception& e) {
      // `answer` was moved into the callback; the sink's timeout covers it.
    } catch (...) {
    }
  }
  std::string describe() const override { return "host URL callback"; }

 private:
  UrlCallback cb_;
};

}  // namespace

Result<std::shared_ptr<UrlProvider>> make_local_presigner(std::string_view s3_uri, uint32_t expires_s,
                                                          const Clock* clock) {
  auto uri = s3::S3Uri::parse(s3_uri);
  if (!uri) return uri.status();
  if (uri->presigned)
    return Status::error(ErrorCode::invalid_argument,
                         "the local presigner needs an S3 URI with credentials, not a presigned URL");
  if (expires_s == 0 || expires_s > 604800)
    return Status::error(ErrorCode::invalid_argument, "presigned URL expiry must be 1..604800 seconds");
  return std::shared_ptr<UrlProvider>(std::make_shared<LocalPresigner>(std::move(uri.value()), expires_s, clock));
}

std::shared_ptr<UrlProvider> make_connector_client(ConnectorConfig config) {
  return std::make_shared<ConnectorClient>(std::move(config));
}

std::shared_ptr<UrlProvider> make_callback_provider(UrlCallback callback) {
  return std::make_shared<CallbackProvider>(std::move(callback));
}

}  // namespace roomrec
