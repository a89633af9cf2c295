// The job queue shared by every worker pointed at the same Redis (--queue).
//
// Keys (one hash tag, so a Redis Cluster keeps them in one slot):
//   {roomrec-worker}:queue          stream of accepted jobs (fields job, app), consumer group "workers"
//   {roomrec-worker}:job:{job_id}   hash: "job" = the job's state JSON (as a --state-dir file holds it)
//   {roomrec-worker}:queued-per-app hash: app -> jobs not taken yet (for --max-queued-jobs-per-app)
//
// Accept (any worker): the job hash and its stream entry are written by one
// script (bounds checked in it), then the accepting worker sends Started.
// Take: each of the --max-jobs slots of each worker, when free, first claims
// an entry idle longer than the lease (XAUTOCLAIM: its worker died), else
// reads a new one (XREADGROUP ... >). Lease: the entry stays in the taker's
// pending list while it converts; a watchdog renews it (XCLAIM JUSTID, idle
// time back to 0, saving the progress too) every lease/3, and only if the
// entry is still this worker's. Finish: one script checks the entry is still
// this worker's, writes the final state, XACKs and deletes the entry and sets
// the hash's expiry (--job-retention-seconds); only when it did does this
// worker send Completed or Failed, so each is sent once per job even when a
// stalled worker comes back after its job was taken over (its result is then
// dropped). A job taken over is run again from the start (outputs have fixed
// keys); the third time its worker is found gone it is failed instead.
//
// Redis unreachable: POST and GET answer 503; running conversions go on, and
// their end is written when Redis is back (retried until shutdown gives up,
// then the entry is taken over after the lease); nothing accepted is lost
// when Redis keeps its data (AOF).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "worker/hook_dispatch.h"
#include "worker/job.h"
#include "worker/job_queue.h"
#include "worker/redis_client.h"

namespace roomrec::worker {

class RedisScheduler : public JobQueue {
 public:
  struct Options {
    unsigned max_jobs = 1;
    uint32_t node_id = 0;
    Roots roots;
    std::chrono::milliseconds retention{0};    // finished jobs' hash expiry; 0: never
    std::chrono::milliseconds job_timeout{0};  // 0: none
    std::chrono::milliseconds cancel_wait{10'000};
    size_t max_queued = 1000, max_queued_per_app = 100;  // 0: no bound
    std::chrono::milliseconds lease{30'000};   // a job not renewed this long is taken over
    std::chrono::milliseconds poll{250};       // a free slot looks for work this often
    std::string consumer;                      // this worker in the group; empty: host-pid-random
  };
  RedisScheduler(Options options, RedisClient& redis, HookDispatch& hooks);
  ~RedisScheduler() override;

  void start() override;
  Status submit(Job job) override;
  Result<std::optional<Job>> lookup(const std::string& id) override;
  size_t expire() override { return 0; }  // Redis expires finished jobs itself
  bool shutdown(std::chrono::milliseconds grace) override;
  QueueMetrics metrics() const override;
  std::string health() const override;

  const std::string& consumer() const { return opt_.consumer; }

 private:
  struct Taken {
    std::string entry, job_id;
    bool takeover = false;
  };
  enum class Guard { ok, lost, unreachable };

  void slot_loop();
  std::optional<Taken> take();
  std::optional<Taken> claim();  // XAUTOCLAIM: a job whose lease expired
  void run(const Taken& taken);
  void watch();
  // The lease-checked script: `mode` renew | finish | requeue.
  Guard guarded(const std::string& entry, const Job* job, const char* mode, const std::string& job_id = "",
                const std::string& app = "");
  // Retries while Redis is unreachable, until shutdown gives up.
  Guard guarded_until_done(const std::string& entry, const Job& job, const char* mode);
  Result<RedisValue> call(const std::vector<std::string>& args);
  void ensure_group();
  void forget_gone_consumers();
  std::string job_key(const std::string& id) const;
  Status unreachable(const Status& s) const;

  Options opt_;
  RedisClient& redis_;
  HookDispatch& hooks_;
  std::atomic<bool> group_ok_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_work_, cv_idle_, cv_watchdog_;
  bool draining_ = false, stopping_ = false;
  std::atomic<bool> cancel_{false};   // shutdown cancelled running conversions
  std::atomic<bool> abandon_{false};  // shutdown stopped retrying writes to Redis
  unsigned running_ = 0;
  struct Running {
    std::string entry;
    std::atomic<bool>* cancel = nullptr;
    std::optional<Job> snapshot;  // saved with each renewal once the run started
    double progress = 0;
    std::chrono::steady_clock::time_point deadline;
    bool timed_out = false, lost = false;
  };
  std::map<std::string, Running> running_jobs_;
  std::string claim_cursor_ = "0-0";
  QueueMetrics m_;
  std::vector<std::thread> threads_;
  std::thread watchdog_;
};

}  // namespace roomrec::worker
