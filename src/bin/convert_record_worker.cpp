// convert_record_worker: conversion jobs by REST API (the seed's "Compose by
// API"). Accepts jobs on POST /api/convert/job, runs them on --max-jobs
// threads through roomrec::convert(), keeps each job in --state-dir and
// reports it by Compose hooks. See README "convert_record_worker".
//
// Life: parse flags -> read the state dir -> start hooks, scheduler and HTTP
// server -> wait for SIGTERM/SIGINT -> stop accepting (503), give running
// jobs --grace-seconds, cancel the rest (kept queued), flush hooks, exit 0.
#include <roomrec/log.h>
#include <roomrec/version.h>

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "s3/s3_uri.h"
#include "worker/api.h"
#include "worker/config.h"
#include "worker/hook_dispatch.h"
#include "worker/job_store.h"
#include "worker/locations.h"
#include "worker/redis_client.h"
#include "worker/redis_scheduler.h"
#include "worker/scheduler.h"

using namespace roomrec;
using namespace roomrec::worker;

namespace {

constexpr const char* kComponent = "worker";
constexpr uint64_t kHookFlushMs = 10'000;

void log_info(const std::string& m) { log_message(LogLevel::info, kComponent, m); }

// A storage root for the log: an S3 URI with its secret redacted.
std::string describe_root(const std::string& root) {
  if (root.empty()) return "(none)";
  if (!is_remote(root)) return root;
  auto uri = s3::S3Uri::parse(root);
  return uri ? uri->to_string() : "(invalid)";
}

int run(const WorkerConfig& cfg) {
  // Signals are taken by sigwait() below: blocked here, before any thread
  // starts, so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  HookDispatch hooks(cfg.hook_body_type, cfg.hook_workers, [&cfg](const std::string& app) { return cfg.hook_uri_for(app); });
  JobStore store(cfg.state_dir);
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<JobQueue> queue;
  if (cfg.queue) {
    // The shared queue: jobs live in Redis (see worker/redis_scheduler.h).
    redis = std::make_unique<RedisClient>(*cfg.queue, std::chrono::milliseconds(2000));
    RedisScheduler::Options o;
    o.max_jobs = cfg.max_jobs;
    o.node_id = cfg.node_id;
    o.roots = cfg.roots();
    o.retention = std::chrono::seconds(cfg.job_retention_seconds);
    o.job_timeout = std::chrono::seconds(cfg.job_timeout_seconds);
    o.max_queued = cfg.max_queued_jobs;
    o.max_queued_per_app = cfg.max_queued_jobs_per_app;
    o.lease = std::chrono::seconds(cfg.queue_lease_seconds);
    queue = std::make_unique<RedisScheduler>(std::move(o), *redis, hooks);
  } else {
    std::vector<Job> jobs;
    std::vector<std::string> problems;
    if (Status s = store.open(jobs, problems); !s) {
      std::fprintf(stderr, "convert_record_worker: %s\n", s.message().c_str());
      return 1;
    }
    for (const auto& p : problems) log_message(LogLevel::warn, kComponent, "state dir: " + p);
    if (!store.persistent())
      log_message(LogLevel::warn, kComponent, "no --state-dir: jobs are kept in memory only and lost on exit");
    auto scheduler = std::make_unique<Scheduler>(
        Scheduler::Options{cfg.max_jobs, cfg.node_id, cfg.roots(), std::chrono::seconds(cfg.job_retention_seconds),
                           std::chrono::seconds(cfg.job_timeout_seconds), std::chrono::milliseconds(10'000),
                           cfg.max_queued_jobs, cfg.max_queued_jobs_per_app},
        store, hooks);
    scheduler->restore(std::move(jobs));
    queue = std::move(scheduler);
  }
  JobQueue& scheduler = *queue;

  Api api(cfg, scheduler, hooks);
  std::unique_ptr<HttpServer> server = api.make_server();
  if (Status s = server->start(); !s) {
    std::fprintf(stderr, "convert_record_worker: %s\n", s.message().c_str());
    return 1;
  }
  const int port = server->port();
  scheduler.start();
  log_info("input " + describe_root(cfg.input_root) + ", transmux " + describe_root(cfg.transmux_root) +
           ", compose " + describe_root(cfg.compose_root) + ", " + std::to_string(cfg.max_jobs) + " jobs at once, " +
           std::to_string(cfg.credentials.size()) + " tokens");
  log_info("listening on " + cfg.http_host + ":" + std::to_string(port));

  // Wait for a stop signal (or for the server to die on its own).
  int sig = 0;
  const timespec tick{0, 200'000'000};
  while (sig <= 0) {
    sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig <= 0 && !server->running()) {
      log_message(LogLevel::error, kComponent, "the HTTP server stopped");
      break;
    }
  }
  log_info(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + ": no new jobs; waiting up to " +
           std::to_string(cfg.grace_seconds) + " s for running ones");
  api.start_draining();
  if (!scheduler.shutdown(std::chrono::seconds(cfg.grace_seconds))) {
    // A conversion ignored its cancel flag: exit anyway, within a bound (issue 21 item 4).
    hooks.flush(1000);
    log_message(LogLevel::error, kComponent, "exiting with conversions still running");
    std::fflush(nullptr);
    std::_Exit(1);
  }
  if (!hooks.flush(kHookFlushMs)) log_message(LogLevel::warn, kComponent, "some hooks were not delivered before exit");
  hooks.stop();
  server->stop();
  log_info("stopped");
  return sig > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_args(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "convert_record_worker: %s\n", parsed.status().message().c_str());
    return 2;
  }
  switch (parsed->action) {
    case ParsedArgs::Action::help: std::fputs(usage_text().c_str(), stdout); return 0;
    case ParsedArgs::Action::version: std::printf("convert_record_worker %s\n", ROOMREC_VERSION_STRING); return 0;
    case ParsedArgs::Action::run: break;
  }
  const WorkerConfig& cfg = parsed->config;
  log_to_stderr(cfg.log_level);
  if (!cfg.generated_secret.empty()) {
    // Printed once, on stdout (the logs go to stderr and never show a secret).
    std::printf("generated secret: %s\n", cfg.generated_secret.c_str());
    std::fflush(stdout);
  }
  return run(cfg);
}
