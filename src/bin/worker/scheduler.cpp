#include "worker/scheduler.h"

#include <roomrec/log.h>

#include <algorithm>
#include <tuple>

#include "hooks/hook_event.h"
#include "util/utf8.h"

namespace roomrec::worker {
namespace {

constexpr const char* kComponent = "worker";

// Longest error text kept in a job (its state file, GET answer and Failed hook).
constexpr size_t kMaxErrorBytes = 2000;

std::string describe_exception(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return util::printable_text(e.what(), 300);
  } catch (...) {
  }
  return "unknown exception";
}

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Scheduler::Scheduler(Options options, JobStore& store, HookDispatch& hooks)
    : opt_(std::move(options)), store_(store), hooks_(hooks) {
  m_.max_jobs = opt_.max_jobs;
}

Scheduler::~Scheduler() { shutdown(std::chrono::milliseconds(0)); }

void Scheduler::save(const Job& snapshot) {
  Status s = store_.save(snapshot);
  if (s) return;
  log_message(LogLevel::error, kComponent, "job " + snapshot.id + ": state not saved: " + s.message());
  std::lock_guard lock(mu_);
  m_.state_save_errors++;
}

void Scheduler::send_failed_hook(const Job& job) {
  hooks_.send(job.app, job.id, hooks::compose_failed(opt_.node_id, now_ms(), job.app, job.id, job.error));
}

void Scheduler::restore(std::vector<Job> jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return std::tie(a.accepted_ms, a.id) < std::tie(b.accepted_ms, b.id);
  });
  for (Job& job : jobs) {
    bool fail = false, resumed = false;
    if (job.state == JobState::running) {
      job.crashes++;
      job.progress = 0;
      if (job.crashes >= kMaxCrashes) {
        job.state = JobState::failed;
        job.error = "the worker stopped " + std::to_string(job.crashes) +
                    " times while converting this job; not trying again";
        job.finished_ms = now_ms();
        fail = true;
      } else {
        job.state = JobState::queued;
        resumed = true;
      }
      save(job);
    }
    if (fail) {
      log_message(LogLevel::error, kComponent, "job " + job.id + " failed: " + job.error);
      send_failed_hook(job);
    } else if (resumed) {
      log_message(LogLevel::warn, kComponent, "job " + job.id + " was running when the worker stopped; running it again");
    }
    std::lock_guard lock(mu_);
    if (job.state == JobState::queued) queue_.push_back(job.id);
    if (resumed) m_.resumed++;
    if (fail) m_.failed++;
    if (job.state == JobState::completed || job.state == JobState::failed) finished_.emplace(job.finished_ms, job.id);
    jobs_[job.id] = std::move(job);
  }
  const size_t expired = expire(now_ms());
  std::lock_guard lock(mu_);
  if (!jobs_.empty() || expired > 0)
    log_message(LogLevel::info, kComponent,
                "state dir: " + std::to_string(jobs_.size()) + " jobs, " + std::to_string(queue_.size()) + " to run" +
                    (expired > 0 ? ", " + std::to_string(expired) + " finished jobs past the retention removed" : ""));
}

size_t Scheduler::expire() { return expire(now_ms()); }

size_t Scheduler::expire(uint64_t now) {
  if (opt_.retention.count() <= 0) return 0;
  const auto keep = static_cast<uint64_t>(opt_.retention.count());
  std::vector<std::string> due;
  {
    std::lock_guard lock(mu_);
    while (!finished_.empty() && finished_.begin()->first + keep <= now) {
      due.push_back(finished_.begin()->second);
      jobs_.erase(finished_.begin()->second);
      finished_.erase(finished_.begin());
    }
    m_.expired += due.size();
  }
  // The files go after the table: a job GET no longer shows needs no file, and
  // a file left by a failed unlink is expired again at the next start.
  for (const auto& id : due) {
    if (Status s = store_.remove(id); !s)
      log_message(LogLevel::warn, kComponent, "job " + id + ": expired but " + s.message());
    else
      log_message(LogLevel::debug, kComponent, "job " + id + ": expired");
  }
  return due.size();
}

void Scheduler::start() {
  for (unsigned i = 0; i < opt_.max_jobs; ++i) threads_.emplace_back([this] { worker_loop(); });
  watchdog_ = std::thread([this] { watch(); });
}

void Scheduler::watch() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_watchdog_.wait_for(lock, std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, r] : running_jobs_) {
      if (cancel_.load()) r.cancel->store(true);
      if (opt_.job_timeout.count() > 0 && !r.timed_out && now >= r.deadline) {
        r.timed_out = true;
        r.cancel->store(true);
      }
    }
  }
}

Status Scheduler::queue_room(const std::string& app) const {
  if (opt_.max_queued > 0 && queue_.size() >= opt_.max_queued)
    return Status::error(ErrorCode::resource_exhausted, "too many queued jobs (" + std::to_string(queue_.size()) +
                                                            "): try again later");
  if (opt_.max_queued_per_app > 0) {
    size_t n = 0;
    for (const auto& id : queue_) n += jobs_.at(id).app == app;
    if (n >= opt_.max_queued_per_app)
      return Status::error(ErrorCode::resource_exhausted,
                           "too many queued jobs for app '" + app + "' (" + std::to_string(n) + "): try again later");
  }
  return Status::ok();
}

Status Scheduler::submit(Job job) {
  expire(now_ms());
  {
    std::lock_guard lock(mu_);
    if (draining_) return Status::error(ErrorCode::unavailable, "the worker is shutting down");
    if (Status s = queue_room(job.app); !s) return s;
  }
  job.state = JobState::queued;
  if (Status s = store_.save(job); !s) return s;
  {
    std::lock_guard lock(mu_);
    Status refused;
    if (draining_) refused = Status::error(ErrorCode::unavailable, "the worker is shutting down");
    else refused = queue_room(job.app);  // others may have queued meanwhile
    if (!refused) {
      (void)store_.remove(job.id);
      return refused;
    }
    // Started is queued to the hook sender before the job can run, so it always comes first.
    hooks_.send(job.app, job.id, hooks::compose_started(opt_.node_id, now_ms(), job.app, job.id));
    log_message(LogLevel::info, kComponent, "job " + job.id + " accepted for app " + job.app + ": " + job.spec.record_path);
    queue_.push_back(job.id);
    m_.accepted++;
    jobs_[job.id] = std::move(job);
  }
  cv_work_.notify_one();
  return Status::ok();
}

std::optional<Job> Scheduler::find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

void Scheduler::worker_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_work_.wait(lock, [&] { return stopping_ || (!draining_ && !queue_.empty()); });
    if (stopping_) return;
    std::string id = queue_.front();
    queue_.pop_front();
    running_++;  // under the same lock as the pop, so shutdown() never misses a starting job
    m_.running_peak = std::max(m_.running_peak, running_);
    lock.unlock();
    try {
      run(id);
    } catch (...) {
      // run() turns a throwing conversion into a failed job; this is for what
      // throws around it (out of memory while saving, say): the job fails alone,
      // never the process.
      fail_after_exception(id, std::current_exception());
    }
    lock.lock();
    running_--;
    cv_idle_.notify_all();
  }
}

void Scheduler::run(const std::string& id) {
  // Only this thread changes the job while it runs (the progress callback
  // aside), so each change is made on a copy, saved, then published: a state
  // shown by GET is already in the state dir.
  Job snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = jobs_.at(id);
  }
  snapshot.state = JobState::running;
  snapshot.attempts++;
  snapshot.started_ms = now_ms();
  snapshot.finished_ms = 0;
  snapshot.progress = 0;
  snapshot.error.clear();
  save(snapshot);
  {
    std::lock_guard lock(mu_);
    jobs_.at(id) = snapshot;
  }
  log_message(LogLevel::info, kComponent, "job " + id + ": converting " + snapshot.spec.record_path);

  const auto t0 = std::chrono::steady_clock::now();
  // This job's cancel flag: set by shutdown (after the grace period) or by the job timeout; it ends
  // transfers in progress too.
  std::atomic<bool> job_cancel{cancel_.load()};
  {
    std::lock_guard lock(mu_);
    running_jobs_[id] = Running{&job_cancel, t0 + opt_.job_timeout, false};
  }
  bool timed_out = false;
  struct Unregister {
    Scheduler* self;
    const std::string& id;
    bool& timed_out;
    ~Unregister() {
      std::lock_guard lock(self->mu_);
      timed_out = self->running_jobs_[id].timed_out;
      self->running_jobs_.erase(id);
    }
  };
  Result<ConvertResult> result = Status::error(ErrorCode::internal, "not run");
  {
  Unregister unregister{this, id, timed_out};
  auto cj = resolve_job(snapshot, opt_.roots);
  if (!cj) {
    result = cj.status();
  } else {
    cj->cancel = &job_cancel;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (cj->transmux) cj->transmux->threads = std::max(1u, cores / opt_.max_jobs);
    cj->progress = [this, &id](const ConvertProgress& p) {
      std::lock_guard lock(mu_);
      jobs_.at(id).progress = p.fraction;
    };
    try {  // a conversion that throws fails its job alone
      result = convert(*cj);
    } catch (...) {
      result = Status::error(ErrorCode::internal, "internal error: " + describe_exception(std::current_exception()));
    }
  }
  }  // unregistered: timed_out is final
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  enum class Outcome { completed, failed, requeued } outcome;
  uint64_t media_ms = 0, output_bytes = 0;
  if (result) {
    outcome = Outcome::completed;
    snapshot.state = JobState::completed;
    snapshot.progress = 1;
    snapshot.finished_ms = now_ms();
    snapshot.result = nlohmann::json::parse(result->to_json(0), nullptr, false);  // never throws
    if (snapshot.result.is_discarded()) snapshot.result = nullptr;
    if (result->transmux) media_ms = std::max(media_ms, result->transmux->duration_ms);
    if (result->compose) media_ms = std::max(media_ms, result->compose->duration_ms);
    output_bytes = result->output_bytes();
  } else if (timed_out) {
    outcome = Outcome::failed;
    snapshot.state = JobState::failed;
    snapshot.finished_ms = now_ms();
    snapshot.error = "timeout: the conversion ran longer than the worker's job timeout (" +
                     std::to_string(opt_.job_timeout.count() / 1000) + " s) and was stopped";
  } else if (result.status().code() == ErrorCode::cancelled && cancel_.load()) {
    outcome = Outcome::requeued;  // shutdown: kept for the next start
    snapshot.state = JobState::queued;
    snapshot.progress = 0;
    snapshot.started_ms = 0;
  } else {
    outcome = Outcome::failed;
    snapshot.state = JobState::failed;
    snapshot.finished_ms = now_ms();
    snapshot.error = util::printable_text(result.status().to_string(), kMaxErrorBytes);
  }
  save(snapshot);
  {
    std::lock_guard lock(mu_);
    jobs_.at(id) = snapshot;
    m_.conversion_seconds += seconds;
    m_.media_ms += media_ms;
    m_.output_bytes += output_bytes;
    if (outcome == Outcome::completed) m_.completed++;
    if (outcome == Outcome::failed) m_.failed++;
    if (outcome != Outcome::requeued) finished_.emplace(snapshot.finished_ms, id);
    if (outcome == Outcome::requeued) {
      m_.requeued_on_shutdown++;
      queue_.push_front(id);  // draining: no thread takes it; shutdown() sees it with the other queued jobs
    }
  }

  switch (outcome) {
    case Outcome::completed: {
      log_message(LogLevel::info, kComponent, "job " + id + ": completed in " + std::to_string(seconds) + " s");
      hooks_.send(snapshot.app, id, completed_event(opt_.node_id, now_ms(), snapshot.app, id, *result));
      break;
    }
    case Outcome::failed:
      log_message(LogLevel::warn, kComponent, "job " + id + ": failed: " + snapshot.error);
      send_failed_hook(snapshot);
      break;
    case Outcome::requeued:
      log_message(LogLevel::info, kComponent, "job " + id + ": cancelled by shutdown, kept queued for the next start");
      break;
  }
}

void Scheduler::fail_after_exception(const std::string& id, std::exception_ptr ep) noexcept {
  try {
    const std::string what = describe_exception(ep);
    log_message(LogLevel::error, kComponent, "job " + id + ": internal error: " + what);
    Job snapshot;
    {
      std::lock_guard lock(mu_);
      Job& job = jobs_.at(id);
      if (job.state == JobState::completed || job.state == JobState::failed) return;  // already ended
      job.state = JobState::failed;
      job.finished_ms = now_ms();
      job.error = "internal: internal error: " + what;
      m_.failed++;
      finished_.emplace(job.finished_ms, id);
      snapshot = job;
    }
    save(snapshot);
    send_failed_hook(snapshot);
  } catch (...) {
    log_message(LogLevel::error, kComponent, "job " + id + ": internal error while failing it");
  }
}

bool Scheduler::shutdown(std::chrono::milliseconds grace) {
  std::unique_lock lock(mu_);
  if (stopping_) return true;
  draining_ = true;
  if (!cv_idle_.wait_for(lock, grace, [&] { return running_ == 0; })) {
    log_message(LogLevel::warn, kComponent,
                std::to_string(running_) + " jobs still running after the grace period: cancelling them");
    cancel_ = true;
    for (auto& [id, r] : running_jobs_) r.cancel->store(true);  // transfers in progress end too
    if (!cv_idle_.wait_for(lock, opt_.cancel_wait, [&] { return running_ == 0; })) {
      log_message(LogLevel::error, kComponent,
                  std::to_string(running_) + " cancelled jobs still running " +
                      std::to_string(opt_.cancel_wait.count()) + " ms later: leaving them (kept running in the "
                      "state dir, resumed at the next start)");
      stopping_ = true;
      lock.unlock();
      cv_work_.notify_all();
      cv_watchdog_.notify_all();
      for (auto& t : threads_) t.detach();
      threads_.clear();
      if (watchdog_.joinable()) watchdog_.detach();
      return false;
    }
  }
  stopping_ = true;
  std::vector<Job> dropped;
  if (!store_.persistent()) {  // nothing survives the exit: say so to the apps
    for (const auto& id : queue_) {
      Job& job = jobs_.at(id);
      job.state = JobState::failed;
      job.error = "the worker stopped before running this job (it has no --state-dir to keep it)";
      job.finished_ms = now_ms();
      m_.failed++;
      finished_.emplace(job.finished_ms, id);
      dropped.push_back(job);
    }
    queue_.clear();
  } else if (!queue_.empty()) {
    log_message(LogLevel::info, kComponent, std::to_string(queue_.size()) + " queued jobs kept for the next start");
  }
  lock.unlock();
  cv_work_.notify_all();
  cv_watchdog_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (watchdog_.joinable()) watchdog_.join();
  for (const Job& job : dropped) send_failed_hook(job);
  return true;
}

Scheduler::Metrics Scheduler::metrics() const {
  std::lock_guard lock(mu_);
  Metrics m = m_;
  for (JobState s : {JobState::queued, JobState::running, JobState::completed, JobState::failed}) m.jobs[s] = 0;
  for (const auto& [id, job] : jobs_) m.jobs[job.state]++;
  return m;
}

}  // namespace roomrec::worker
