#include "worker/api.h"

#include <roomrec/log.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <chrono>
#include <sstream>

#include "util/text.h"
#include "util/utf8.h"
#include "worker/locations.h"

namespace roomrec::worker {
namespace {

using nlohmann::json;
constexpr const char* kComponent = "api";

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

void answer(HttpResponse& res, int code, const json& body) {
  res.status = code;
  res.content_type = "application/json";
  res.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void ok(HttpResponse& res, json data) { answer(res, 200, {{"status", true}, {"data", std::move(data)}}); }

void error(HttpResponse& res, int code, const std::string& message) {
  answer(res, code, {{"status", false}, {"error", message}});
}

constexpr std::string_view kJobPath = "/api/convert/job";
constexpr std::string_view kJobPrefix = "/api/convert/job/";

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Prometheus text format helpers.
void metric(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

Api::Api(const WorkerConfig& config, JobQueue& queue, HookDispatch& hooks)
    : cfg_(config), scheduler_(queue), hooks_(hooks) {
  for (const auto& c : cfg_.credentials) token_digests_.push_back(sha256(c.token));
}

const Credential* Api::authenticate(const HttpRequest& req, HttpResponse& res) const {
  auto refuse = [&res](const char* message) -> const Credential* {
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
    error(res, 401, message);
    return nullptr;
  };
  const std::string header = req.header("Authorization");
  constexpr std::string_view scheme = "bearer ";
  if (!util::starts_with_nocase(header, scheme))
    return refuse("missing bearer token: send the header Authorization: Bearer <token>");
  std::string_view token = std::string_view(header).substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  // Fixed-size digests compared with CRYPTO_memcmp against every token, no
  // early exit: the time taken says nothing about how much of a token matched.
  const auto given = sha256(token);
  const Credential* match = nullptr;
  for (size_t i = 0; i < token_digests_.size(); ++i)
    if (CRYPTO_memcmp(given.data(), token_digests_[i].data(), given.size()) == 0) match = &cfg_.credentials[i];
  return match ? match : refuse("invalid bearer token");
}

HttpServerOptions Api::server_options() const {
  HttpServerOptions o;
  o.host = cfg_.http_host;
  o.port = cfg_.http_port;
  o.max_body_bytes = cfg_.max_body_bytes;
  o.request_deadline_seconds = cfg_.http_request_deadline_seconds;
  o.max_connections = cfg_.http_max_connections;
  o.max_connections_per_client = cfg_.http_max_connections_per_client;
  return o;
}

std::unique_ptr<HttpServer> Api::make_server() {
  return std::make_unique<HttpServer>(
      server_options(), [this](const HttpRequest& req, HttpResponse& res) { return gate(req, res); },
      [this](const HttpRequest& req, HttpResponse& res) { handle(req, res); },
      [this](const HttpRequest& req, int status) { observe(req, status); },
      [](HttpResponse& res, const std::string& message) { error(res, res.status, message); });
}

bool Api::gate(const HttpRequest& req, HttpResponse& res) {
  // Before the body is read: a POST without a valid token, or while
  // draining, is answered now and its body never read.
  if (req.method == "POST" && req.path == kJobPath) {
    if (!authenticate(req, res)) return true;
    if (draining_) {
      error(res, 503, "the worker is shutting down");
      return true;
    }
    return false;
  }
  // Other routes take no body: answered from the headers alone.
  handle(req, res);
  return true;
}

void Api::handle(const HttpRequest& req, HttpResponse& res) {
  try {
    route(req, res);
  } catch (const std::exception& e) {
    log_message(LogLevel::error, kComponent, req.method + " " + util::printable_text(req.path, 200) + ": " + e.what());
    error(res, 500, "internal error");
  } catch (...) {
    error(res, 500, "internal error");
  }
}

void Api::route(const HttpRequest& req, HttpResponse& res) {
  const std::string_view path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == kJobPath) {
    if (req.method == "POST") return post_job(req, res);
    return error(res, 405, "use POST");
  }
  if (path.starts_with(kJobPrefix) && path.size() > kJobPrefix.size() &&
      path.find('/', kJobPrefix.size()) == std::string_view::npos) {
    if (get) return get_job(req, res, std::string(path.substr(kJobPrefix.size())));
    return error(res, 405, "use GET");
  }
  if (path == "/healthz" && get) {
    if (draining_) return answer(res, 503, {{"status", false}, {"error", "the worker is shutting down"}});
    json data = {{"state", "ok"}};
    if (std::string queue = scheduler_.health(); !queue.empty()) data["queue"] = queue;
    return ok(res, data);
  }
  if (path == "/metrics" && get) {
    res.status = 200;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = metrics_text();
    return;
  }
  if (path == "/api/spec" && get) {
    res.status = 200;
    res.content_type = "application/json";
    res.body = openapi_document();
    return;
  }
  error(res, 404, "no such endpoint");
}

void Api::observe(const HttpRequest& req, int status) {
  {
    std::lock_guard lock(requests_mu_);
    requests_by_code_[status]++;
  }
  if (log_enabled(LogLevel::debug))
    log_message(LogLevel::debug, kComponent,
                req.method + " " + util::printable_text(req.path, 200) + " " + std::to_string(status));
}

void Api::post_job(const HttpRequest& req, HttpResponse& res) {
  // The server bounded the body (any transfer encoding) and the gate checked the token
  // before reading it; checked again here so this stays right on its own.
  if (req.body.size() > cfg_.max_body_bytes)
    return error(res, 413, "request body too large (over " + std::to_string(cfg_.max_body_bytes) + " bytes)");
  const Credential* who = authenticate(req, res);
  if (!who) return;
  if (draining_) return error(res, 503, "the worker is shutting down");

  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number too large
    // e.what() quotes the bytes read last: printable, never raw (it may be invalid UTF-8).
    return error(res, 400, "invalid JSON: " + util::printable_text(e.what(), 300));
  }
  auto spec = parse_job_spec(body);
  if (!spec) return error(res, 400, spec.status().message());

  Job job;
  job.app = app_of(spec->record_path);
  if (!who->app.empty() && who->app != job.app)
    return error(res, 403, "record_path is outside this token's app '" + who->app + "'");
  job.id = new_job_id();
  job.spec = std::move(*spec);
  job.accepted_ms = now_ms();
  if (auto resolved = resolve_job(job, cfg_.roots()); !resolved)
    return error(res, 400, resolved.status().message());

  const std::string id = job.id;
  if (Status s = scheduler_.submit(std::move(job)); !s) {
    if (s.code() == ErrorCode::unavailable) return error(res, 503, s.message());
    if (s.code() == ErrorCode::resource_exhausted) {
      res.headers.emplace_back("Retry-After", "10");
      return error(res, 429, s.message());
    }
    log_message(LogLevel::error, kComponent, "cannot accept a job: " + s.message());
    return error(res, 500, "cannot save the job");
  }
  ok(res, {{"job_id", id}});
}

void Api::get_job(const HttpRequest& req, HttpResponse& res, const std::string& id) {
  const Credential* who = authenticate(req, res);
  if (!who) return;
  std::optional<Job> job;
  scheduler_.expire();
  if (is_job_id(id)) {
    auto found = scheduler_.lookup(id);
    if (!found) {
      if (found.status().code() == ErrorCode::unavailable) return error(res, 503, found.status().message());
      log_message(LogLevel::error, kComponent, "GET job: " + found.status().message());
      return error(res, 500, "cannot read the job");
    }
    job = std::move(*found);
  }
  // Another app's job is answered like a missing one.
  if (!job || (!who->app.empty() && job->app != who->app)) return error(res, 404, "no such job");
  ok(res, job_to_api_json(*job));
}

std::string Api::metrics_text() const {
  scheduler_.expire();
  const QueueMetrics m = scheduler_.metrics();
  const HookDispatch::Stats h = hooks_.stats();
  std::ostringstream out;
  if (!m.shared) {
    metric(out, "roomrec_worker_jobs", "gauge", "Jobs known to the worker, by state.");
    for (const auto& [state, n] : m.jobs)
      out << "roomrec_worker_jobs{state=\"" << job_state_name(state) << "\"} " << n << '\n';
  } else {
    metric(out, "roomrec_worker_queue_up", "gauge", "1 when the last command reached the shared queue's Redis.");
    out << "roomrec_worker_queue_up " << (m.queue_up ? 1 : 0) << '\n';
    if (m.queue_waiting && m.queue_running) {
      metric(out, "roomrec_worker_queue_jobs", "gauge",
             "Jobs of the shared queue (all workers): waiting to be taken, or taken and not finished.");
      out << "roomrec_worker_queue_jobs{state=\"waiting\"} " << *m.queue_waiting << '\n';
      out << "roomrec_worker_queue_jobs{state=\"running\"} " << *m.queue_running << '\n';
    }
    metric(out, "roomrec_worker_running_jobs", "gauge", "Conversions running on this worker.");
    out << "roomrec_worker_running_jobs " << m.running_here << '\n';
    metric(out, "roomrec_worker_jobs_taken_over_total", "counter",
           "Jobs this worker took over from a worker that stopped renewing its lease.");
    out << "roomrec_worker_jobs_taken_over_total " << m.taken_over << '\n';
    metric(out, "roomrec_worker_jobs_lost_lease_total", "counter",
           "Runs this worker dropped because another worker had taken their job over.");
    out << "roomrec_worker_jobs_lost_lease_total " << m.lost_leases << '\n';
    metric(out, "roomrec_worker_queue_errors_total", "counter", "Redis commands that failed.");
    out << "roomrec_worker_queue_errors_total " << m.queue_errors << '\n';
  }
  metric(out, "roomrec_worker_jobs_accepted_total", "counter", "Jobs accepted by POST /api/convert/job.");
  out << "roomrec_worker_jobs_accepted_total " << m.accepted << '\n';
  metric(out, "roomrec_worker_jobs_finished_total", "counter", "Jobs that ended, by result.");
  out << "roomrec_worker_jobs_finished_total{result=\"completed\"} " << m.completed << '\n';
  out << "roomrec_worker_jobs_finished_total{result=\"failed\"} " << m.failed << '\n';
  metric(out, "roomrec_worker_jobs_resumed_total", "counter",
         "Jobs found running in the state dir at start and run again.");
  out << "roomrec_worker_jobs_resumed_total " << m.resumed << '\n';
  metric(out, "roomrec_worker_jobs_requeued_on_shutdown_total", "counter",
         "Running jobs cancelled at shutdown after the grace period and kept queued.");
  out << "roomrec_worker_jobs_requeued_on_shutdown_total " << m.requeued_on_shutdown << '\n';
  metric(out, "roomrec_worker_running_jobs_peak", "gauge", "Most conversions running at once since start.");
  out << "roomrec_worker_running_jobs_peak " << m.running_peak << '\n';
  metric(out, "roomrec_worker_max_jobs", "gauge", "Conversions allowed at once (--max-jobs).");
  out << "roomrec_worker_max_jobs " << m.max_jobs << '\n';
  metric(out, "roomrec_worker_conversion_seconds_total", "counter", "Wall time spent converting, in seconds.");
  out << "roomrec_worker_conversion_seconds_total " << m.conversion_seconds << '\n';
  metric(out, "roomrec_worker_media_seconds_total", "counter", "Media time converted by completed jobs, in seconds.");
  out << "roomrec_worker_media_seconds_total " << static_cast<double>(m.media_ms) / 1000.0 << '\n';
  metric(out, "roomrec_worker_output_bytes_total", "counter", "Bytes of the files written by completed jobs.");
  out << "roomrec_worker_output_bytes_total " << m.output_bytes << '\n';
  metric(out, "roomrec_worker_state_save_errors_total", "counter", "Job state files that could not be written.");
  out << "roomrec_worker_state_save_errors_total " << m.state_save_errors << '\n';
  metric(out, "roomrec_worker_jobs_expired_total", "counter",
         "Finished jobs forgotten (memory and state dir) after --job-retention-seconds.");
  out << "roomrec_worker_jobs_expired_total " << m.expired << '\n';
  metric(out, "roomrec_worker_hooks_sent_total", "counter", "Hook events delivered.");
  out << "roomrec_worker_hooks_sent_total " << h.senders.sent << '\n';
  metric(out, "roomrec_worker_hook_failed_attempts_total", "counter", "Hook POSTs that failed (each is retried).");
  out << "roomrec_worker_hook_failed_attempts_total " << h.senders.failed_attempts << '\n';
  metric(out, "roomrec_worker_hooks_dropped_total", "counter", "Hook events dropped (queue full or shutdown).");
  out << "roomrec_worker_hooks_dropped_total " << h.senders.dropped + h.senders.given_up << '\n';
  metric(out, "roomrec_worker_hooks_pending", "gauge", "Hook events waiting to be delivered.");
  out << "roomrec_worker_hooks_pending " << h.senders.pending << '\n';
  metric(out, "roomrec_worker_hooks_without_endpoint_total", "counter", "Hook events of apps with no hook URL.");
  out << "roomrec_worker_hooks_without_endpoint_total " << h.without_endpoint << '\n';
  metric(out, "roomrec_worker_http_requests_total", "counter", "HTTP requests answered, by status code.");
  std::lock_guard lock(requests_mu_);
  for (const auto& [code, n] : requests_by_code_)
    out << "roomrec_worker_http_requests_total{code=\"" << code << "\"} " << n << '\n';
  return out.str();
}

}  // namespace roomrec::worker
