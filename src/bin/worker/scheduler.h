// The worker's jobs: a table of every job (for GET), a FIFO of queued ones and
// `max_jobs` threads converting. Every state change is saved to the JobStore
// before it is reported, and a Compose hook is sent for Started (on submit),
// Completed and Failed.
//
// Restart: the jobs of the state dir come back through restore(). Queued jobs
// wait again. A job found "running" was cut short by a crash or a kill; it is
// run again from the start, which is safe because a job's outputs have fixed
// keys (dated by its acceptance time), so the new run overwrites what the cut
// run left. A job found running for the kMaxCrashes-th time is failed instead
// (with a Failed hook): it may be what brings the worker down.
//
// Shutdown: no new job starts; running jobs get `grace` to finish, then are
// cancelled and go back to "queued" (no hook) for the next start. Without a
// state dir nothing survives the exit, so queued jobs are failed (with a hook).
//
// Retention: a finished job (completed or failed) is forgotten, from memory and
// from the state dir, `retention` after it finished; GET then answers 404. It
// is checked at restore(), on every submit() and by expire() (the API calls it
// on each request), so the table stays bounded by the submissions made within
// one retention period. Zero keeps every job forever.
#pragma once

#include <roomrec/status.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "worker/hook_dispatch.h"
#include "worker/job.h"
#include "worker/job_queue.h"
#include "worker/job_store.h"

namespace roomrec::worker {

constexpr uint32_t kMaxCrashes = 3;

class Scheduler : public JobQueue {
 public:
  struct Options {
    unsigned max_jobs = 1;
    uint32_t node_id = 0;
    Roots roots;
    std::chrono::milliseconds retention{0};  // 0: keep finished jobs forever
    std::chrono::milliseconds job_timeout{0};  // a conversion running longer is cancelled and failed; 0: none
    // After the grace period, how long shutdown waits for cancelled conversions to return.
    std::chrono::milliseconds cancel_wait{10'000};
    size_t max_queued = 1000;        // queued (not running) jobs, all apps; 0: no bound
    size_t max_queued_per_app = 100;  // queued jobs of one app; 0: no bound
  };
  Scheduler(Options options, JobStore& store, HookDispatch& hooks);
  ~Scheduler() override;  // shutdown(0) if still running
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Before start(): the jobs read from the state dir.
  void restore(std::vector<Job> jobs);
  void start() override;

  // A new job: saved as queued, Started hook, queued. Fails with `unavailable`
  // when shutting down, `resource_exhausted` when the queue (all apps, or the
  // job's app) is at its bound, `io` when it cannot be saved.
  Status submit(Job job) override;

  std::optional<Job> find(const std::string& id) const;
  Result<std::optional<Job>> lookup(const std::string& id) override { return find(id); }

  // Forgets the finished jobs older than the retention (see the header comment).
  // Cheap when nothing is due. Returns how many were forgotten.
  size_t expire() override;

  // See the header comment. Returns true when no conversion thread is left;
  // false when cancelled conversions still ran after cancel_wait (their
  // threads are detached: the caller should end the process).
  bool shutdown(std::chrono::milliseconds grace) override;

  using Metrics = QueueMetrics;
  Metrics metrics() const override;

 private:
  void worker_loop();
  void run(const std::string& id);
  // A job whose run() threw: failed, saved and reported; never throws.
  void fail_after_exception(const std::string& id, std::exception_ptr ep) noexcept;
  void save(const Job& snapshot);
  void send_failed_hook(const Job& job);
  Status queue_room(const std::string& app) const;  // under mu_
  size_t expire(uint64_t now);

  const Options opt_;
  JobStore& store_;
  HookDispatch& hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_work_;  // a job queued, or stopping
  std::condition_variable cv_idle_;  // a conversion ended
  std::map<std::string, Job> jobs_;
  std::deque<std::string> queue_;
  // Finished jobs by finish time (oldest first), for expiry.
  std::multimap<uint64_t, std::string> finished_;
  unsigned running_ = 0;
  bool draining_ = false;   // no new job starts
  bool stopping_ = false;   // threads exit
  std::atomic<bool> cancel_{false};  // shutdown cancelled the running jobs
  // Each running job's cancel flag and deadline (watched by watchdog_).
  struct Running {
    std::atomic<bool>* cancel = nullptr;
    std::chrono::steady_clock::time_point deadline;
    bool timed_out = false;
  };
  std::map<std::string, Running> running_jobs_;
  std::condition_variable cv_watchdog_;
  std::thread watchdog_;
  void watch();
  Metrics m_;
  std::vector<std::thread> threads_;
};

}  // namespace roomrec::worker
