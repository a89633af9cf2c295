// The worker's REST API on its HttpServer (libmicrohttpd, see http_server.h):
//   POST /api/convert/job        (bearer token) submit a job
//   GET  /api/convert/job/{id}   (bearer token) a job of the token's app
//   GET  /healthz, GET /metrics (Prometheus text), GET /api/spec (OpenAPI 3)
// Every answer is JSON {"status": true, "data": ...} or {"status": false, "error": "..."}
// (except /metrics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>


#include "worker/config.h"
#include "worker/hook_dispatch.h"
#include "worker/http_server.h"
#include "worker/job_queue.h"

namespace roomrec::worker {

class Api {
 public:
  Api(const WorkerConfig& config, JobQueue& queue, HookDispatch& hooks);

  // The HTTP server for this API (limits from the config), not started.
  std::unique_ptr<HttpServer> make_server();
  HttpServerOptions server_options() const;

  // Headers only, before any body byte is read: answers (true) every request
  // but a POST of a job with a valid token while not draining.
  bool gate(const HttpRequest& req, HttpResponse& res);
  // A whole request; every answer JSON (but /metrics), never throws.
  void handle(const HttpRequest& req, HttpResponse& res);

  // From now on POST answers 503 and /healthz reports draining.
  void start_draining() { draining_ = true; }

  std::string metrics_text() const;

 private:
  using Digest = std::array<unsigned char, 32>;

  // The credential whose token the request's bearer token is, compared in
  // constant time against every token; nullptr after answering 401.
  const Credential* authenticate(const HttpRequest& req, HttpResponse& res) const;

  void route(const HttpRequest& req, HttpResponse& res);
  void observe(const HttpRequest& req, int status);
  void post_job(const HttpRequest& req, HttpResponse& res);
  void get_job(const HttpRequest& req, HttpResponse& res, const std::string& id);

  const WorkerConfig& cfg_;
  JobQueue& scheduler_;
  HookDispatch& hooks_;
  std::vector<Digest> token_digests_;  // SHA-256 of cfg_.credentials[i].token
  std::atomic<bool> draining_{false};
  mutable std::mutex requests_mu_;
  std::map<int, uint64_t> requests_by_code_;
};

// The OpenAPI 3 document served at /api/spec.
const std::string& openapi_document();

}  // namespace roomrec::worker
