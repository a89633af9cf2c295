// What the REST API needs from a job queue, whichever keeps the jobs:
// Scheduler (this worker's own queue, jobs in its --state-dir) or
// RedisScheduler (one queue shared by every worker pointed at the same Redis).
#pragma once

#include <roomrec/status.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "worker/job.h"

namespace roomrec::worker {

struct QueueMetrics {
  std::map<JobState, uint64_t> jobs;  // every state present, 0 included (local queue only)
  uint64_t accepted = 0, completed = 0, failed = 0;
  uint64_t resumed = 0;               // jobs found running at start and queued again
  uint64_t requeued_on_shutdown = 0;  // running jobs cancelled by shutdown, kept queued
  double conversion_seconds = 0;      // wall time of finished conversion runs
  uint64_t media_ms = 0;              // media converted by completed jobs (longest output of each)
  uint64_t output_bytes = 0;          // files written by completed jobs
  unsigned running_peak = 0;
  unsigned max_jobs = 0;
  uint64_t state_save_errors = 0;
  uint64_t expired = 0;               // finished jobs forgotten after the retention

  // A shared queue (Redis) only.
  bool shared = false;
  bool queue_up = false;              // the last command reached Redis
  std::optional<uint64_t> queue_waiting;  // jobs not taken yet, all workers (absent: Redis unreachable)
  std::optional<uint64_t> queue_running;  // jobs taken and not finished, all workers
  unsigned running_here = 0;          // conversions running on this worker
  uint64_t taken_over = 0;            // jobs this worker took over from a worker whose lease expired
  uint64_t lost_leases = 0;           // jobs this worker stopped because another took them over
  uint64_t queue_errors = 0;          // Redis commands that failed (unreachable, error reply)
};

class JobQueue {
 public:
  virtual ~JobQueue() = default;

  virtual void start() = 0;

  // A new job (state queued): kept, Started hook, queued. Fails with
  // `unavailable` (503: shutting down, or the queue's store unreachable),
  // `resource_exhausted` (429: queue bounds) or another code (500).
  virtual Status submit(Job job) = 0;

  // The job as GET shows it; nullopt when there is none; `unavailable` when
  // it cannot be known now.
  virtual Result<std::optional<Job>> lookup(const std::string& id) = 0;

  // Forgets finished jobs past the retention (where the queue does it itself: 0).
  virtual size_t expire() = 0;

  // Stop taking jobs; running ones get `grace`, then are cancelled and kept
  // queued. False when conversions still ran after the cancel (the caller
  // should end the process).
  virtual bool shutdown(std::chrono::milliseconds grace) = 0;

  virtual QueueMetrics metrics() const = 0;

  // A line for /healthz ("" when there is nothing to say).
  virtual std::string health() const { return ""; }
};

}  // namespace roomrec::worker
