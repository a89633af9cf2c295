#include "worker/redis_scheduler.h"

#include <roomrec/log.h>

#include <unistd.h>

#include <algorithm>
#include <random>

#include "hooks/hook_event.h"
#include "util/utf8.h"

namespace roomrec::worker {
namespace {

constexpr const char* kComponent = "queue";
constexpr const char* kPrefix = "{roomrec-worker}";
constexpr const char* kGroup = "workers";
constexpr size_t kMaxErrorBytes = 2000;
constexpr uint32_t kMaxCrashes = 3;

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string describe_exception(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return util::printable_text(e.what(), 300);
  } catch (...) {
  }
  return "unknown exception";
}

std::string stream_key() { return std::string(kPrefix) + ":queue"; }
std::string per_app_key() { return std::string(kPrefix) + ":queued-per-app"; }

// KEYS: stream, job hash, per-app counts. ARGV: job_id, app, state JSON, max queued, max per app, group.
// Answers {"ok", 0}, {"queue", n} or {"app", n}.
constexpr const char* kAcceptScript = R"(
local maxq = tonumber(ARGV[4])
local maxapp = tonumber(ARGV[5])
if maxq > 0 then
  local waiting = redis.call('XLEN', KEYS[1]) - redis.call('XPENDING', KEYS[1], ARGV[6])[1]
  if waiting >= maxq then return {'queue', waiting} end
end
if maxapp > 0 then
  local n = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
  if n >= maxapp then return {'app', n} end
end
redis.call('HSET', KEYS[2], 'job', ARGV[3])
redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'app', ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return {'ok', 0}
)";

// KEYS: stream, per-app counts. ARGV: group, consumer. Answers nil or {entry id, job_id}.
constexpr const char* kTakeScript = R"(
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if not r then return false end
local e = r[1][2][1]
local job, app = '', nil
for i = 1, #e[2], 2 do
  if e[2][i] == 'job' then job = e[2][i + 1] elseif e[2][i] == 'app' then app = e[2][i + 1] end
end
if app then
  if redis.call('HINCRBY', KEYS[2], app, -1) <= 0 then redis.call('HDEL', KEYS[2], app) end
end
return {e[1], job}
)";

// KEYS: stream, job hash, per-app counts. ARGV: group, consumer, entry, state JSON ('' keeps it), mode,
// expiry ms, job_id, app. Acts only while the entry is pending to this consumer (its lease); answers 1, else 0.
//   renew:   saves the JSON, idle time back to 0
//   finish:  saves the JSON, acknowledges and deletes the entry, sets the hash's expiry
//   requeue: saves the JSON, replaces the entry by a new one at the end of the queue
// finish and requeue also mark the hash with the entry and the consumer that ended it: when Redis ran one
// but its answer was lost (the connection cut, or Redis stopped before sending it), the worker's retry finds
// the entry gone yet the mark its own, and answers 1 again instead of taking the end for someone else's.
constexpr const char* kGuardedScript = R"(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then
  if ARGV[5] ~= 'renew' then
    local mark = redis.call('HMGET', KEYS[2], 'ended_entry', 'ended_by', 'ended_as')
    if mark[1] == ARGV[3] and mark[2] == ARGV[2] and mark[3] == ARGV[5] then return 1 end
  end
  return 0
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'job', ARGV[4]) end
if ARGV[5] == 'renew' then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
else
  redis.call('HSET', KEYS[2], 'ended_entry', ARGV[3], 'ended_by', ARGV[2], 'ended_as', ARGV[5])
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
  if ARGV[5] == 'finish' then
    local ms = tonumber(ARGV[6])
    if ms > 0 then redis.call('PEXPIRE', KEYS[2], ms) end
  else
    redis.call('XADD', KEYS[1], '*', 'job', ARGV[7], 'app', ARGV[8])
    redis.call('HINCRBY', KEYS[3], ARGV[8], 1)
  end
end
return 1
)";

std::string make_consumer() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  std::string name = util::printable_text(host, 64);
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string suffix;
  uint32_t v = rd();
  for (int i = 0; i < 6; ++i) suffix += hex[(v >> (4 * i)) & 15];
  return (name.empty() ? "worker" : name) + "-" + std::to_string(getpid()) + "-" + suffix;
}

const RedisValue* element(const RedisValue& v, size_t i) {
  return v.type == RedisValue::Type::array && i < v.elements.size() ? &v.elements[i] : nullptr;
}

}  // namespace

RedisScheduler::RedisScheduler(Options options, RedisClient& redis, HookDispatch& hooks)
    : opt_(std::move(options)), redis_(redis), hooks_(hooks) {
  if (opt_.consumer.empty()) opt_.consumer = make_consumer();
  m_.max_jobs = opt_.max_jobs;
  m_.shared = true;
}

RedisScheduler::~RedisScheduler() { shutdown(std::chrono::milliseconds(0)); }

std::string RedisScheduler::job_key(const std::string& id) const { return std::string(kPrefix) + ":job:" + id; }

Status RedisScheduler::unreachable(const Status& s) const {
  if (s.code() == ErrorCode::unavailable)
    return Status::error(ErrorCode::unavailable, "the job queue (" + redis_.url().redacted() +
                                                     ") is unreachable: try again later (" + s.message() + ")");
  return Status::error(ErrorCode::internal, "job queue error: " + s.message());
}

void RedisScheduler::ensure_group() {
  if (group_ok_) return;
  auto r = redis_.command({"XGROUP", "CREATE", stream_key(), kGroup, "0", "MKSTREAM"});
  if (r || r.status().message().starts_with("BUSYGROUP")) {
    group_ok_ = true;
    return;
  }
  if (r.status().code() != ErrorCode::unavailable)
    log_message(LogLevel::error, kComponent, "cannot create the consumer group: " + r.status().message());
}

Result<RedisValue> RedisScheduler::call(const std::vector<std::string>& args) {
  ensure_group();
  auto r = redis_.command(args);
  if (!r && r.status().message().find("NOGROUP") != std::string::npos) {
    // Redis lost the group (restarted without its data, or flushed): make it again, once.
    log_message(LogLevel::warn, kComponent, "the consumer group is gone: creating it again");
    group_ok_ = false;
    ensure_group();
    r = redis_.command(args);
  }
  return r;
}

void RedisScheduler::forget_gone_consumers() {
  // Each worker process is a consumer of its own; those of stopped workers
  // stay listed. Best effort: drop the ones holding nothing, idle over a day.
  auto r = call({"XINFO", "CONSUMERS", stream_key(), kGroup});
  if (!r) return;
  size_t dropped = 0;
  for (const auto& c : r->elements) {
    std::string name;
    long long pending = -1, idle = 0;
    for (size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      const std::string& key = c.elements[i].str;
      if (key == "name") name = c.elements[i + 1].str;
      if (key == "pending") pending = c.elements[i + 1].integer;
      if (key == "idle") idle = c.elements[i + 1].integer;
    }
    if (name.empty() || name == opt_.consumer || pending != 0 || idle < 24LL * 3600 * 1000) continue;
    if (call({"XGROUP", "DELCONSUMER", stream_key(), kGroup, name})) dropped++;
  }
  if (dropped > 0)
    log_message(LogLevel::info, kComponent, "forgot " + std::to_string(dropped) + " consumers idle for over a day");
}

void RedisScheduler::start() {
  ensure_group();
  forget_gone_consumers();
  log_message(LogLevel::info, kComponent,
              "shared job queue " + redis_.url().redacted() + " as " + opt_.consumer + ", lease " +
                  std::to_string(opt_.lease.count()) + " ms");
  for (unsigned i = 0; i < opt_.max_jobs; ++i) threads_.emplace_back([this] { slot_loop(); });
  watchdog_ = std::thread([this] { watch(); });
}

Status RedisScheduler::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (draining_) return Status::error(ErrorCode::unavailable, "the worker is shutting down");
  }
  job.state = JobState::queued;
  const std::string json = job_to_state_json(job).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto r = call({"EVAL", kAcceptScript, "3", stream_key(), job_key(job.id), per_app_key(), job.id, job.app, json,
                 std::to_string(opt_.max_queued), std::to_string(opt_.max_queued_per_app), kGroup});
  if (!r) {
    Status s = unreachable(r.status());
    log_message(LogLevel::warn, kComponent, "job refused: " + s.message());
    return s;
  }
  const RedisValue* what = element(*r, 0);
  const RedisValue* n = element(*r, 1);
  if (!what || !n) return Status::error(ErrorCode::internal, "job queue error: unexpected reply");
  if (what->str == "queue")
    return Status::error(ErrorCode::resource_exhausted,
                         "too many queued jobs (" + std::to_string(n->integer) + "): try again later");
  if (what->str == "app")
    return Status::error(ErrorCode::resource_exhausted, "too many queued jobs for app '" + job.app + "' (" +
                                                            std::to_string(n->integer) + "): try again later");
  hooks_.send(job.app, job.id, hooks::compose_started(opt_.node_id, now_ms(), job.app, job.id));
  log_message(LogLevel::info, kComponent, "job " + job.id + " accepted for app " + job.app + ": " + job.spec.record_path);
  {
    std::lock_guard lock(mu_);
    m_.accepted++;
  }
  cv_work_.notify_one();
  return Status::ok();
}

Result<std::optional<Job>> RedisScheduler::lookup(const std::string& id) {
  auto r = call({"HGET", job_key(id), "job"});
  if (!r) return unreachable(r.status());
  if (r->is_nil()) return std::optional<Job>();
  auto j = nlohmann::json::parse(r->str, nullptr, false);
  auto job = job_from_state_json(j);
  if (!job) return Status::error(ErrorCode::internal, "job " + id + " in Redis is unreadable: " + job.status().message());
  return std::optional<Job>(std::move(*job));
}

std::optional<RedisScheduler::Taken> RedisScheduler::take() {
  // A job whose worker stopped renewing its lease first; but not within a lease
  // of (re)connecting: after an outage every entry looks idle, and the workers
  // running them need that long to reconnect and renew.
  if (std::chrono::steady_clock::now() - redis_.connected_at() >= opt_.lease) {
    if (auto t = claim()) return t;
  }
  auto r = call({"EVAL", kTakeScript, "2", stream_key(), per_app_key(), kGroup, opt_.consumer});
  if (!r || r->is_nil()) return std::nullopt;
  const RedisValue* id = element(*r, 0);
  const RedisValue* job = element(*r, 1);
  if (!id || !job) return std::nullopt;
  return Taken{id->str, job->str, false};
}

std::optional<RedisScheduler::Taken> RedisScheduler::claim() {
  std::string cursor;
  {
    std::lock_guard lock(mu_);
    cursor = claim_cursor_;
  }
  auto claimed = call({"XAUTOCLAIM", stream_key(), kGroup, opt_.consumer, std::to_string(opt_.lease.count()),
                       cursor, "COUNT", "1"});
  if (!claimed) return std::nullopt;
  if (const RedisValue* next = element(*claimed, 0); next && next->type == RedisValue::Type::string) {
    std::lock_guard lock(mu_);
    claim_cursor_ = next->str;
  }
  if (const RedisValue* entries = element(*claimed, 1)) {
    for (const auto& e : entries->elements) {
      const RedisValue* id = element(e, 0);
      const RedisValue* fields = element(e, 1);
      if (!id || !fields) continue;  // deleted meanwhile (Redis 6.2 lists it as nil)
      Taken t{id->str, "", true};
      for (size_t i = 0; i + 1 < fields->elements.size(); i += 2)
        if (fields->elements[i].str == "job") t.job_id = fields->elements[i + 1].str;
      return t;
    }
  }
  return std::nullopt;
}

void RedisScheduler::slot_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (draining_) {
      cv_work_.wait(lock, [&] { return stopping_; });
      break;
    }
    running_++;  // counted before taking, so shutdown() waits for a job being taken
    lock.unlock();
    std::optional<Taken> taken = take();
    if (taken) {
      try {
        run(*taken);
      } catch (...) {
        log_message(LogLevel::error, kComponent,
                    "job " + taken->job_id + ": internal error: " + describe_exception(std::current_exception()));
        std::lock_guard l(mu_);
        running_jobs_.erase(taken->job_id);
      }
    }
    lock.lock();
    running_--;
    cv_idle_.notify_all();
    if (!taken && !stopping_ && !draining_) cv_work_.wait_for(lock, opt_.poll);
  }
}

RedisScheduler::Guard RedisScheduler::guarded(const std::string& entry, const Job* job, const char* mode,
                                              const std::string& job_id, const std::string& app) {
  const std::string id = job ? job->id : job_id;
  std::string json;
  if (job) json = job_to_state_json(*job).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto r = call({"EVAL", kGuardedScript, "3", stream_key(), job_key(id), per_app_key(), kGroup, opt_.consumer, entry,
                 json, mode, std::to_string(opt_.retention.count()), id, job ? job->app : app});
  if (!r) {
    if (r.status().code() != ErrorCode::unavailable)
      log_message(LogLevel::error, kComponent, "job " + id + ": " + std::string(mode) + ": " + r.status().message());
    return Guard::unreachable;
  }
  return r->integer == 1 ? Guard::ok : Guard::lost;
}

RedisScheduler::Guard RedisScheduler::guarded_until_done(const std::string& entry, const Job& job, const char* mode) {
  auto wait = std::chrono::milliseconds(100);
  bool logged = false;
  while (true) {
    Guard g = guarded(entry, &job, mode);
    if (g != Guard::unreachable || abandon_) return g;
    if (!logged) {
      log_message(LogLevel::warn, kComponent,
                  "job " + job.id + ": ended (" + job_state_name(job.state) + ") but Redis is unreachable: retrying");
      logged = true;
    }
    std::unique_lock lock(mu_);
    cv_watchdog_.wait_for(lock, wait, [&] { return abandon_.load(); });
    wait = std::min(wait * 2, std::chrono::milliseconds(2000));
  }
}

void RedisScheduler::run(const Taken& taken) {
  std::atomic<bool> job_cancel{cancel_.load()};
  {
    std::lock_guard lock(mu_);
    Running r;
    r.entry = taken.entry;
    r.cancel = &job_cancel;
    r.deadline = std::chrono::steady_clock::now() + opt_.job_timeout;
    running_jobs_[taken.job_id] = std::move(r);
    m_.running_here++;
    m_.running_peak = std::max(m_.running_peak, m_.running_here);
  }
  struct Unregister {
    RedisScheduler* self;
    const std::string& id;
    bool done = false;
    Running state;
    void now() {
      if (done) return;
      done = true;
      std::lock_guard lock(self->mu_);
      auto it = self->running_jobs_.find(id);
      if (it != self->running_jobs_.end()) {
        state.timed_out = it->second.timed_out;
        state.lost = it->second.lost;
        self->running_jobs_.erase(it);
      }
      self->m_.running_here--;
    }
    ~Unregister() { now(); }
  } unregister{this, taken.job_id, false, {}};

  // The job as accepted (retried while Redis is unreachable: the entry is renewed meanwhile).
  std::optional<Job> loaded;
  for (auto wait = std::chrono::milliseconds(100);; wait = std::min(wait * 2, std::chrono::milliseconds(2000))) {
    auto r = lookup(taken.job_id);
    if (r) {
      loaded = std::move(*r);
      break;
    }
    if (abandon_ || r.status().code() != ErrorCode::unavailable) {
      log_message(LogLevel::error, kComponent, "job " + taken.job_id + ": " + r.status().message());
      return;  // taken over after the lease
    }
    std::unique_lock lock(mu_);
    cv_watchdog_.wait_for(lock, wait, [&] { return abandon_.load(); });
  }
  if (!loaded || loaded->state == JobState::completed || loaded->state == JobState::failed) {
    // Nothing to run (its hash expired or was removed, or it ended): drop the entry.
    log_message(LogLevel::warn, kComponent, "job " + taken.job_id + " in the queue has nothing to run: dropped");
    guarded(taken.entry, nullptr, "finish", taken.job_id, "");
    return;
  }
  Job snapshot = std::move(*loaded);
  if (taken.takeover) {
    {
      std::lock_guard lock(mu_);
      m_.taken_over++;
    }
    snapshot.crashes++;
    snapshot.progress = 0;
    if (snapshot.crashes >= kMaxCrashes) {
      snapshot.state = JobState::failed;
      snapshot.finished_ms = now_ms();
      snapshot.error = "the worker converting this job stopped " + std::to_string(snapshot.crashes) +
                       " times; not trying again";
      if (guarded_until_done(taken.entry, snapshot, "finish") == Guard::ok) {
        log_message(LogLevel::error, kComponent, "job " + snapshot.id + " failed: " + snapshot.error);
        {
          std::lock_guard lock(mu_);
          m_.failed++;
        }
        hooks_.send(snapshot.app, snapshot.id,
                    hooks::compose_failed(opt_.node_id, now_ms(), snapshot.app, snapshot.id, snapshot.error));
      }
      return;
    }
    log_message(LogLevel::warn, kComponent,
                "job " + snapshot.id + ": its worker stopped renewing its lease; running it again here");
  }

  snapshot.state = JobState::running;
  snapshot.attempts++;
  snapshot.started_ms = now_ms();
  snapshot.finished_ms = 0;
  snapshot.progress = 0;
  snapshot.error.clear();
  snapshot.result = nullptr;
  if (guarded(taken.entry, &snapshot, "renew") == Guard::lost) {
    log_message(LogLevel::warn, kComponent, "job " + snapshot.id + ": taken over by another worker before it started");
    return;
  }
  {
    std::lock_guard lock(mu_);
    running_jobs_[snapshot.id].snapshot = snapshot;
  }
  log_message(LogLevel::info, kComponent, "job " + snapshot.id + ": converting " + snapshot.spec.record_path);

  const auto t0 = std::chrono::steady_clock::now();
  Result<ConvertResult> result = Status::error(ErrorCode::internal, "not run");
  auto cj = resolve_job(snapshot, opt_.roots);
  if (!cj) {
    result = cj.status();
  } else {
    cj->cancel = &job_cancel;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (cj->transmux) cj->transmux->threads = std::max(1u, cores / opt_.max_jobs);
    const std::string id = snapshot.id;
    cj->progress = [this, id](const ConvertProgress& p) {
      std::lock_guard lock(mu_);
      if (auto it = running_jobs_.find(id); it != running_jobs_.end()) it->second.progress = p.fraction;
    };
    try {
      result = convert(*cj);
    } catch (...) {
      result = Status::error(ErrorCode::internal, "internal error: " + describe_exception(std::current_exception()));
    }
  }
  unregister.now();  // the watchdog no longer renews: what it decided is final
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard lock(mu_);
    m_.conversion_seconds += seconds;
  }
  if (unregister.state.lost) {
    log_message(LogLevel::warn, kComponent,
                "job " + snapshot.id + ": another worker took it over (this worker's lease lapsed); result dropped");
    std::lock_guard lock(mu_);
    m_.lost_leases++;
    return;
  }

  enum class Outcome { completed, failed, requeued } outcome;
  uint64_t media_ms = 0, output_bytes = 0;
  if (result) {
    outcome = Outcome::completed;
    snapshot.state = JobState::completed;
    snapshot.progress = 1;
    snapshot.finished_ms = now_ms();
    snapshot.result = nlohmann::json::parse(result->to_json(0), nullptr, false);
    if (snapshot.result.is_discarded()) snapshot.result = nullptr;
    if (result->transmux) media_ms = std::max(media_ms, result->transmux->duration_ms);
    if (result->compose) media_ms = std::max(media_ms, result->compose->duration_ms);
    output_bytes = result->output_bytes();
  } else if (unregister.state.timed_out) {
    outcome = Outcome::failed;
    snapshot.state = JobState::failed;
    snapshot.finished_ms = now_ms();
    snapshot.error = "timeout: the conversion ran longer than the worker's job timeout (" +
                     std::to_string(opt_.job_timeout.count() / 1000) + " s) and was stopped";
  } else if (result.status().code() == ErrorCode::cancelled && cancel_.load()) {
    outcome = Outcome::requeued;
    snapshot.state = JobState::queued;
    snapshot.progress = 0;
    snapshot.started_ms = 0;
  } else {
    outcome = Outcome::failed;
    snapshot.state = JobState::failed;
    snapshot.finished_ms = now_ms();
    snapshot.error = util::printable_text(result.status().to_string(), kMaxErrorBytes);
  }

  const Guard g = guarded_until_done(taken.entry, snapshot, outcome == Outcome::requeued ? "requeue" : "finish");
  if (g == Guard::lost) {
    log_message(LogLevel::warn, kComponent,
                "job " + snapshot.id + ": its lease is gone (another worker took it over, or Redis lost its data); "
                "this run's end is dropped");
    std::lock_guard lock(mu_);
    m_.lost_leases++;
    return;
  }
  if (g == Guard::unreachable) {
    log_message(LogLevel::error, kComponent,
                "job " + snapshot.id + ": its end could not be written before exit; another worker will run it again");
    return;
  }
  {
    std::lock_guard lock(mu_);
    m_.media_ms += media_ms;
    m_.output_bytes += output_bytes;
    if (outcome == Outcome::completed) m_.completed++;
    if (outcome == Outcome::failed) m_.failed++;
    if (outcome == Outcome::requeued) m_.requeued_on_shutdown++;
  }
  switch (outcome) {
    case Outcome::completed: {
      log_message(LogLevel::info, kComponent, "job " + snapshot.id + ": completed in " + std::to_string(seconds) + " s");
      hooks_.send(snapshot.app, snapshot.id, completed_event(opt_.node_id, now_ms(), snapshot.app, snapshot.id, *result));
      break;
    }
    case Outcome::failed:
      log_message(LogLevel::warn, kComponent, "job " + snapshot.id + ": failed: " + snapshot.error);
      hooks_.send(snapshot.app, snapshot.id,
                  hooks::compose_failed(opt_.node_id, now_ms(), snapshot.app, snapshot.id, snapshot.error));
      break;
    case Outcome::requeued:
      log_message(LogLevel::info, kComponent, "job " + snapshot.id + ": cancelled by shutdown, back in the queue");
      break;
  }
}

void RedisScheduler::watch() {
  const auto renew_every = std::max(std::chrono::milliseconds(100), opt_.lease / 3);
  auto next_renew = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_watchdog_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, r] : running_jobs_) {
      if (cancel_.load()) r.cancel->store(true);
      if (opt_.job_timeout.count() > 0 && !r.timed_out && now >= r.deadline) {
        r.timed_out = true;
        r.cancel->store(true);
      }
    }
    if (now < next_renew) continue;
    next_renew = now + renew_every;
    // Renewals outside the lock (each is a round trip to Redis).
    std::vector<std::pair<std::string, std::pair<std::string, std::optional<Job>>>> due;
    for (auto& [id, r] : running_jobs_) {
      std::optional<Job> job = r.snapshot;
      if (job) job->progress = r.progress;
      due.push_back({id, {r.entry, std::move(job)}});
    }
    lock.unlock();
    for (auto& [id, what] : due) {
      const Guard g = guarded(what.first, what.second ? &*what.second : nullptr, "renew", id, "");
      if (g != Guard::lost) continue;
      std::lock_guard l(mu_);
      auto it = running_jobs_.find(id);
      if (it != running_jobs_.end() && it->second.entry == what.first && !it->second.lost) {
        it->second.lost = true;
        it->second.cancel->store(true);
        log_message(LogLevel::warn, kComponent, "job " + id + ": lease lost to another worker: stopping this run");
      }
    }
    lock.lock();
  }
}

bool RedisScheduler::shutdown(std::chrono::milliseconds grace) {
  std::unique_lock lock(mu_);
  if (stopping_) return true;
  draining_ = true;
  cv_work_.notify_all();
  if (!cv_idle_.wait_for(lock, grace, [&] { return running_ == 0; })) {
    log_message(LogLevel::warn, kComponent,
                std::to_string(running_jobs_.size()) + " jobs still running after the grace period: cancelling them");
    cancel_ = true;
    for (auto& [id, r] : running_jobs_) r.cancel->store(true);
    if (!cv_idle_.wait_for(lock, opt_.cancel_wait, [&] { return running_ == 0; })) {
      abandon_ = true;
      cv_watchdog_.notify_all();
      if (!cv_idle_.wait_for(lock, std::chrono::milliseconds(1000), [&] { return running_ == 0; })) {
        log_message(LogLevel::error, kComponent,
                    "cancelled jobs still running: leaving them (other workers take them over after the lease)");
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
  }
  stopping_ = true;
  abandon_ = true;
  lock.unlock();
  cv_work_.notify_all();
  cv_watchdog_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (watchdog_.joinable()) watchdog_.join();
  return true;
}

QueueMetrics RedisScheduler::metrics() const {
  QueueMetrics m;
  {
    std::lock_guard lock(mu_);
    m = m_;
  }
  auto& self = const_cast<RedisScheduler&>(*this);
  auto len = self.call({"XLEN", stream_key()});
  auto pending = self.call({"XPENDING", stream_key(), kGroup});
  if (len && pending && len->type == RedisValue::Type::integer) {
    const RedisValue* n = element(*pending, 0);
    const uint64_t running = n && n->type == RedisValue::Type::integer ? static_cast<uint64_t>(n->integer) : 0;
    m.queue_running = running;
    m.queue_waiting = static_cast<uint64_t>(len->integer) > running ? static_cast<uint64_t>(len->integer) - running : 0;
  }
  m.queue_up = redis_.up();
  m.queue_errors = redis_.errors();
  return m;
}

std::string RedisScheduler::health() const { return redis_.up() ? "redis: up" : "redis: unreachable"; }

}  // namespace roomrec::worker
