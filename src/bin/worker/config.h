// convert_record_worker's configuration: command-line flags, each with an
// environment variable of the same meaning (a flag wins over its variable),
// and the optional apps file.
#pragma once

#include <roomrec/log.h>
#include <roomrec/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hooks/hook_event.h"
#include "s3/address_policy.h"
#include "worker/job.h"
#include "worker/redis_client.h"

namespace roomrec::worker {

// A bearer token and what it may do. The --secret token may act for any app
// (the app is then the first component of record_path); an apps-file token
// only for its own app.
struct Credential {
  std::string token;
  std::string app;        // empty: any app
  std::string hook_uri;   // empty: --hook-uri
};

struct WorkerConfig {
  std::string http_host = "0.0.0.0";
  uint16_t http_port = 3200;        // 0: any free port (the log says which)
  std::string input_root;           // S3 URI or local folder; a job's record_path is relative to it
  std::string transmux_root;        // default transmux output root (S3 URI or local folder), may be empty
  std::string compose_root;         // default compose output root, may be empty
  std::string hook_uri;             // default hook endpoint, may be empty (no hooks)
  unsigned hook_workers = 4;        // hook sender threads per endpoint
  hooks::BodyType hook_body_type = hooks::BodyType::protobuf_json;
  std::vector<Credential> credentials;
  unsigned max_jobs = 1;            // conversions at once
  std::string state_dir;            // empty: jobs live in memory only
  unsigned grace_seconds = 30;      // on SIGTERM, how long running jobs may still run
  uint64_t job_retention_seconds = 7 * 24 * 3600;  // finished jobs are forgotten after this; 0: never
  uint32_t node_id = 0;             // HookEvent.node
  size_t max_body_bytes = 64 * 1024;
  unsigned http_request_deadline_seconds = 10;  // accept -> whole request (line, headers, body)
  unsigned http_max_connections = 512;          // open at once, all clients
  unsigned http_max_connections_per_client = 64;  // open at once from one address
  s3::AddressPolicy custom_s3_allow;            // where custom_s3 may point besides public addresses
  uint64_t custom_s3_request_timeout_seconds = 600;  // total deadline of each request to a custom_s3 output
  uint64_t job_timeout_seconds = 0;             // a conversion running longer fails; 0: no limit
  size_t max_queued_jobs = 1000;                // queued jobs, all apps (429 past it); 0: no bound
  size_t max_queued_jobs_per_app = 100;         // queued jobs of one app (429 past it); 0: no bound
  std::optional<RedisUrl> queue;                // --queue: the shared job queue (Redis); absent: this worker's own
  uint64_t queue_lease_seconds = 30;            // a job whose worker stops renewing this long is taken over
  LogLevel log_level = LogLevel::info;
  std::string generated_secret;     // set when --generate-secret made the secret

  // The hook endpoint for an app's events: the apps file's hook_uri of that
  // app if it has one, else --hook-uri (may be empty: no hook).
  std::string hook_uri_for(const std::string& app) const;
  // Storage roots and custom_s3 rules for resolve_job().
  Roots roots() const {
    return Roots{input_root, transmux_root, compose_root, custom_s3_allow, custom_s3_request_timeout_seconds * 1000};
  }
};

// What the command line asked for.
struct ParsedArgs {
  enum class Action { run, help, version } action = Action::run;
  WorkerConfig config;
};

// Parses argv and the environment; the Status message is the one line to
// print before exiting (it never contains a secret).
Result<ParsedArgs> parse_args(int argc, char** argv);

std::string usage_text();

// Parses an apps file: {"<token>": {"app": "<app>", "hook_uri": "<url>"?}, ...}.
Result<std::vector<Credential>> parse_apps_file(const std::string& text);

// Tokens shorter than this are refused (a guessable secret is no secret).
constexpr size_t kMinTokenLength = 16;

}  // namespace roomrec::worker
