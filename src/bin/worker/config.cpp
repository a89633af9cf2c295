#include "worker/config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "s3/s3_uri.h"
#include "util/text.h"
#include "util/utf8.h"
#include "worker/locations.h"

namespace roomrec::worker {
namespace {

Status bad(std::string message) { return Status::error(ErrorCode::invalid_argument, std::move(message)); }

// One option: its flag, its environment variable, whether it takes a value.
struct Option {
  const char* flag;
  const char* env;  // nullptr: no variable
  bool takes_value;
};

constexpr Option kOptions[] = {
    {"--http-addr", "HTTP_ADDR", true},
    {"--input-s3-uri", "INPUT_S3_URI", true},
    {"--transmux-s3-uri", "TRANSMUX_S3_URI", true},
    {"--compose-s3-uri", "COMPOSE_S3_URI", true},
    {"--hook-uri", "HOOK_URI", true},
    {"--hook-workers", "HOOK_WORKERS", true},
    {"--hook-body-type", "HOOK_BODY_TYPE", true},
    {"--secret", "SECRET", true},
    {"--generate-secret", nullptr, false},
    {"--apps-file", "APPS_FILE", true},
    {"--max-jobs", "MAX_JOBS", true},
    {"--state-dir", "STATE_DIR", true},
    {"--grace-seconds", "GRACE_SECONDS", true},
    {"--job-retention-seconds", "JOB_RETENTION_SECONDS", true},
    {"--node-id", "NODE_ID", true},
    {"--log-level", "LOG_LEVEL", true},
    {"--http-request-deadline-seconds", "HTTP_REQUEST_DEADLINE_SECONDS", true},
    {"--http-max-connections", "HTTP_MAX_CONNECTIONS", true},
    {"--http-max-connections-per-client", "HTTP_MAX_CONNECTIONS_PER_CLIENT", true},
    {"--custom-s3-allow", "CUSTOM_S3_ALLOW", true},
    {"--custom-s3-request-timeout-seconds", "CUSTOM_S3_REQUEST_TIMEOUT_SECONDS", true},
    {"--job-timeout-seconds", "JOB_TIMEOUT_SECONDS", true},
    {"--max-queued-jobs", "MAX_QUEUED_JOBS", true},
    {"--max-queued-jobs-per-app", "MAX_QUEUED_JOBS_PER_APP", true},
    {"--queue", "QUEUE", true},
    {"--queue-lease-seconds", "QUEUE_LEASE_SECONDS", true},
};

const Option* find_option(std::string_view flag) {
  for (const auto& o : kOptions)
    if (flag == o.flag) return &o;
  return nullptr;
}

Result<uint64_t> parse_number(std::string_view name, const std::string& text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    return bad(std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
               std::to_string(max) + ", not '" + text + "'");
  return v;
}

Status parse_http_addr(const std::string& text, WorkerConfig& cfg) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {  // [v6]:port
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("--http-addr must be HOST:PORT or [IPV6]:PORT, not '" + text + "'");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return bad("--http-addr must be HOST:PORT or [IPV6]:PORT, not '" + text + "'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto p = parse_number("the --http-addr port", port, 0, 65535);
  if (!p) return p.status();
  cfg.http_host = host;
  cfg.http_port = static_cast<uint16_t>(*p);
  return Status::ok();
}

// A storage root: an S3 URI (not presigned) or a local folder.
Status check_root(std::string_view flag, const std::string& root, bool must_exist) {
  if (is_remote(root)) {
    auto uri = s3::S3Uri::parse(root);
    if (!uri) return bad(std::string(flag) + ": " + uri.status().message());
    if (uri->presigned) return bad(std::string(flag) + ": a presigned URL cannot be a root; give an S3 URI");
    return Status::ok();
  }
  std::string path = local_path_of(root);
  if (path.empty()) return bad(std::string(flag) + ": empty path");
  std::error_code ec;
  if (must_exist && !std::filesystem::is_directory(path, ec))
    return bad(std::string(flag) + ": " + path + " is not a folder");
  return Status::ok();
}

std::optional<LogLevel> log_level_from_name(std::string_view name) {
  for (int l = 0; l <= static_cast<int>(LogLevel::off); ++l) {
    auto level = static_cast<LogLevel>(l);
    if (util::iequals(name, log_level_name(level))) return level;  // "debug" as the help writes it
  }
  return std::nullopt;
}

std::string random_secret() {
  std::random_device rd;  // /dev/urandom
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k) s += hex[(v >> (4 * k)) & 15];
  }
  return s;
}

}  // namespace

std::string WorkerConfig::hook_uri_for(const std::string& app) const {
  for (const auto& c : credentials)
    if (c.app == app && !c.hook_uri.empty()) return c.hook_uri;
  return hook_uri;
}

std::string usage_text() {
  return R"(Record converter worker: a REST API that queues conversion jobs (transmux a
room's recording into per-track files, compose it into one WebM) and reports
them by hooks.

Usage: convert_record_worker [OPTIONS] --input-s3-uri <INPUT_S3_URI> (--secret <SECRET> | --apps-file <FILE> | --generate-secret)

Options:
      --http-addr <HTTP_ADDR>              Listen address [env: HTTP_ADDR=] [default: 0.0.0.0:3200]
      --input-s3-uri <INPUT_S3_URI>        Where recordings are: S3 URI or local folder; a job's
                                           record_path is relative to it [env: INPUT_S3_URI=]
      --transmux-s3-uri <TRANSMUX_S3_URI>  Default transmux output root (S3 URI or folder) [env: TRANSMUX_S3_URI=]
      --compose-s3-uri <COMPOSE_S3_URI>    Default compose output root (S3 URI or folder) [env: COMPOSE_S3_URI=]
      --hook-uri <HOOK_URI>                Hook endpoint (HTTP POST) [env: HOOK_URI=]
      --hook-workers <HOOK_WORKERS>        Hook sender threads per endpoint [env: HOOK_WORKERS=] [default: 4]
      --hook-body-type <HOOK_BODY_TYPE>    protobuf-json | protobuf-binary [env: HOOK_BODY_TYPE=] [default: protobuf-json]
      --secret <SECRET>                    Bearer token accepted for every app, at least 16 characters [env: SECRET=]
      --generate-secret                    Make a random secret and print it on stdout
      --apps-file <APPS_FILE>              JSON {"<token>": {"app": "<app>", "hook_uri": "<url>"}}: per-app
                                           tokens and hook endpoints [env: APPS_FILE=]
      --max-jobs <MAX_JOBS>                Conversions at once [env: MAX_JOBS=] [default: 1 per 2 cores]
      --state-dir <STATE_DIR>              Folder keeping every job, so a restart resumes them [env: STATE_DIR=]
      --grace-seconds <GRACE_SECONDS>      On SIGTERM, how long running jobs may finish [env: GRACE_SECONDS=] [default: 30]
      --job-retention-seconds <SECONDS>    Forget a finished job (GET, state dir) this long after it ended; 0 keeps
                                           every job [env: JOB_RETENTION_SECONDS=] [default: 604800 (7 days)]
      --node-id <NODE_ID>                  HookEvent.node [env: NODE_ID=] [default: 0]
      --log-level <LOG_LEVEL>              trace | debug | info | warn | error [env: LOG_LEVEL=] [default: info]
      --http-request-deadline-seconds <S>  A request's line, headers and body must all arrive within this
                                           time from the connection's accept [env: HTTP_REQUEST_DEADLINE_SECONDS=]
                                           [default: 10]
      --http-max-connections <N>           Open connections at once, all clients [env: HTTP_MAX_CONNECTIONS=]
                                           [default: 512]
      --http-max-connections-per-client <N>  Open connections at once from one address
                                           [env: HTTP_MAX_CONNECTIONS_PER_CLIENT=] [default: 64]
      --custom-s3-allow <LIST>             Where a job's custom_s3 may point besides public addresses: comma-separated
                                           host names, addresses and CIDRs (10.0.0.0/8, ::1) [env: CUSTOM_S3_ALLOW=]
                                           [default: none: loopback, private and link-local ranges are refused]
      --custom-s3-request-timeout-seconds <S>  Total deadline of each request to a custom_s3 output
                                           [env: CUSTOM_S3_REQUEST_TIMEOUT_SECONDS=] [default: 600]
      --job-timeout-seconds <S>            A conversion still running after this fails (0: no limit)
                                           [env: JOB_TIMEOUT_SECONDS=] [default: 0]
      --max-queued-jobs <N>                Jobs waiting to run, all apps; more are answered 429 (0: no bound)
                                           [env: MAX_QUEUED_JOBS=] [default: 1000]
      --max-queued-jobs-per-app <N>        Jobs of one app waiting to run; more are answered 429 (0: no bound)
                                           [env: MAX_QUEUED_JOBS_PER_APP=] [default: 100]
      --queue <redis://[user:password@]host:port/db>  One job queue shared by every worker given the same
                                           Redis (Redis Streams): any worker accepts a job and answers its GET, a
                                           job whose worker died is taken over; replaces --state-dir [env: QUEUE=]
                                           [default: none: this worker's own queue]
      --queue-lease-seconds <S>            With --queue: a job whose worker stops renewing its lease this long is
                                           taken over by another worker [env: QUEUE_LEASE_SECONDS=] [default: 30]
  -h, --help                               Print help
  -V, --version                            Print version

Prefer the SECRET environment variable to --secret: a command line is visible to every local user.
)";
}

Result<std::vector<Credential>> parse_apps_file(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad("the apps file must be a JSON object {\"<token>\": {\"app\": \"<app>\", \"hook_uri\": \"<url>\"}}");
  std::vector<Credential> out;
  size_t n = 0;
  for (const auto& [token, entry] : j.items()) {
    ++n;
    const std::string where = "apps file entry " + std::to_string(n);
    if (token.size() < kMinTokenLength)
      return bad(where + ": token shorter than " + std::to_string(kMinTokenLength) + " characters");
    if (!entry.is_object()) return bad(where + ": must be an object {\"app\": ..., \"hook_uri\": ...}");
    auto app = entry.find("app");
    if (app == entry.end() || !app->is_string() || !is_path_segment(app->get<std::string>()))
      return bad(where + ": \"app\" must be a name of letters, digits and ._~=@,:-");
    Credential c{token, app->get<std::string>(), {}};
    if (auto hook = entry.find("hook_uri"); hook != entry.end() && !hook->is_null()) {
      if (!hook->is_string() || !is_remote(hook->get<std::string>()))
        return bad(where + ": \"hook_uri\" must be an http:// or https:// URL");
      c.hook_uri = hook->get<std::string>();
    }
    for (const auto& [key, value] : entry.items())
      if (key != "app" && key != "hook_uri") return bad(where + ": unknown field \"" + key + "\"");
    out.push_back(std::move(c));
  }
  if (out.empty()) return bad("the apps file has no token");
  return out;
}

Result<ParsedArgs> parse_args(int argc, char** argv) {
  ParsedArgs parsed;
  WorkerConfig& cfg = parsed.config;
  std::map<std::string, std::string> values;  // flag -> value given on the command line
  bool generate_secret = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      parsed.action = ParsedArgs::Action::help;
      return parsed;
    }
    if (arg == "-V" || arg == "--version") {
      parsed.action = ParsedArgs::Action::version;
      return parsed;
    }
    std::string flag = arg, value;
    bool inline_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Option* opt = find_option(flag);
    // The name only: a mistyped flag's value ("--secrett=...") may be a secret (issue 21 item 9).
    if (!opt) return bad("unknown argument '" + util::printable_text(flag, 64) + "'" + (inline_value ? " (value not shown)" : "") + " (see --help)");
    if (!opt->takes_value) {
      if (inline_value) return bad(flag + " takes no value");
      generate_secret = true;
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) return bad(flag + " needs a value");
      value = argv[++i];
    }
    values[flag] = value;
  }
  // A flag wins over its environment variable; an empty variable counts as unset.
  auto get = [&](const char* flag) -> std::optional<std::string> {
    if (auto it = values.find(flag); it != values.end()) return it->second;
    const Option* opt = find_option(flag);
    if (const char* env = opt && opt->env ? std::getenv(opt->env) : nullptr; env && *env) return std::string(env);
    return std::nullopt;
  };

  if (auto v = get("--log-level")) {
    auto level = log_level_from_name(*v);
    if (!level) return bad("--log-level must be trace, debug, info, warn or error, not '" + *v + "'");
    cfg.log_level = *level;
  }
  if (Status s = parse_http_addr(get("--http-addr").value_or("0.0.0.0:3200"), cfg); !s) return s;

  auto input = get("--input-s3-uri");
  if (!input) return bad("no --input-s3-uri (INPUT_S3_URI): where are the recordings?");
  if (Status s = check_root("--input-s3-uri", *input, true); !s) return s;
  cfg.input_root = *input;
  if (auto v = get("--transmux-s3-uri")) {
    if (Status s = check_root("--transmux-s3-uri", *v, false); !s) return s;
    cfg.transmux_root = *v;
  }
  if (auto v = get("--compose-s3-uri")) {
    if (Status s = check_root("--compose-s3-uri", *v, false); !s) return s;
    cfg.compose_root = *v;
  }
  if (auto v = get("--hook-uri")) {
    if (!is_remote(*v)) return bad("--hook-uri must be an http:// or https:// URL");
    cfg.hook_uri = *v;
  }
  if (auto v = get("--hook-workers")) {
    auto n = parse_number("--hook-workers", *v, 1, 64);
    if (!n) return n.status();
    cfg.hook_workers = static_cast<unsigned>(*n);
  }
  if (auto v = get("--hook-body-type")) {
    auto t = hooks::body_type_from_name(*v);
    if (!t) return bad("--hook-body-type must be protobuf-json or protobuf-binary, not '" + *v + "'");
    cfg.hook_body_type = *t;
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  cfg.max_jobs = std::max(1u, cores / 2);
  if (auto v = get("--max-jobs")) {
    auto n = parse_number("--max-jobs", *v, 1, 256);
    if (!n) return n.status();
    cfg.max_jobs = static_cast<unsigned>(*n);
  }
  if (auto v = get("--state-dir")) cfg.state_dir = *v;
  if (auto v = get("--grace-seconds")) {
    auto n = parse_number("--grace-seconds", *v, 0, 86400);
    if (!n) return n.status();
    cfg.grace_seconds = static_cast<unsigned>(*n);
  }
  if (auto v = get("--job-retention-seconds")) {
    auto n = parse_number("--job-retention-seconds", *v, 0, 10ull * 366 * 24 * 3600);
    if (!n) return n.status();
    cfg.job_retention_seconds = *n;
  }
  if (auto v = get("--http-request-deadline-seconds")) {
    auto n = parse_number("--http-request-deadline-seconds", *v, 1, 3600);
    if (!n) return n.status();
    cfg.http_request_deadline_seconds = static_cast<unsigned>(*n);
  }
  if (auto v = get("--http-max-connections")) {
    auto n = parse_number("--http-max-connections", *v, 4, 100'000);
    if (!n) return n.status();
    cfg.http_max_connections = static_cast<unsigned>(*n);
  }
  if (auto v = get("--http-max-connections-per-client")) {
    auto n = parse_number("--http-max-connections-per-client", *v, 1, 100'000);
    if (!n) return n.status();
    cfg.http_max_connections_per_client = static_cast<unsigned>(*n);
  }
  if (auto v = get("--custom-s3-allow")) {
    auto p = s3::AddressPolicy::parse(*v);
    if (!p) return bad("--custom-s3-allow: " + p.status().message());
    cfg.custom_s3_allow = std::move(*p);
  }
  if (auto v = get("--custom-s3-request-timeout-seconds")) {
    auto n = parse_number("--custom-s3-request-timeout-seconds", *v, 1, 86400);
    if (!n) return n.status();
    cfg.custom_s3_request_timeout_seconds = *n;
  }
  if (auto v = get("--job-timeout-seconds")) {
    auto n = parse_number("--job-timeout-seconds", *v, 0, 30ull * 86400);
    if (!n) return n.status();
    cfg.job_timeout_seconds = *n;
  }
  if (auto v = get("--max-queued-jobs")) {
    auto n = parse_number("--max-queued-jobs", *v, 0, 1'000'000);
    if (!n) return n.status();
    cfg.max_queued_jobs = *n;
  }
  if (auto v = get("--max-queued-jobs-per-app")) {
    auto n = parse_number("--max-queued-jobs-per-app", *v, 0, 1'000'000);
    if (!n) return n.status();
    cfg.max_queued_jobs_per_app = *n;
  }
  if (auto v = get("--queue")) {
    auto url = RedisUrl::parse(*v);  // its message never quotes the URL (a password)
    if (!url) return url.status();
    cfg.queue = std::move(*url);
    if (!cfg.state_dir.empty())
      return bad("give --queue or --state-dir, not both: with --queue the jobs are kept in Redis");
  }
  if (auto v = get("--queue-lease-seconds")) {
    auto n = parse_number("--queue-lease-seconds", *v, 1, 3600);
    if (!n) return n.status();
    cfg.queue_lease_seconds = *n;
  }
  if (auto v = get("--node-id")) {
    auto n = parse_number("--node-id", *v, 0, UINT32_MAX);
    if (!n) return n.status();
    cfg.node_id = static_cast<uint32_t>(*n);
  }

  // Credentials: --secret (any app), apps-file tokens (one app each), or a generated secret.
  if (auto path = get("--apps-file")) {
    std::ifstream in(*path);
    if (!in) return bad("cannot read the apps file " + *path);
    std::stringstream text;
    text << in.rdbuf();
    auto creds = parse_apps_file(text.str());
    if (!creds) return creds.status().with_context(*path);
    cfg.credentials = std::move(*creds);
  }
  auto secret = get("--secret");
  if (secret && generate_secret) return bad("give --secret or --generate-secret, not both");
  if (generate_secret) {
    cfg.generated_secret = random_secret();
    secret = cfg.generated_secret;
  }
  if (secret) {
    if (secret->size() < kMinTokenLength)
      return bad("the secret is shorter than " + std::to_string(kMinTokenLength) +
                 " characters; use a longer one or --generate-secret");
    cfg.credentials.push_back(Credential{*secret, "", ""});
  }
  if (cfg.credentials.empty())
    return bad("no secret: refusing to serve an open API; give --secret (SECRET), --apps-file (APPS_FILE) "
               "or --generate-secret");
  for (size_t i = 0; i < cfg.credentials.size(); ++i)
    for (size_t k = i + 1; k < cfg.credentials.size(); ++k)
      if (cfg.credentials[i].token == cfg.credentials[k].token)
        return bad("the same token is given twice (secret and apps file, or twice in the apps file)");
  return parsed;
}

}  // namespace roomrec::worker
