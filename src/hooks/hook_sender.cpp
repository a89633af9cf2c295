#include "hooks/hook_sender.h"

#include "util/backoff.h"
#include "util/thread_name.h"

#include <roomrec/log.h>
#include <roomrec/upload_queue.h>

#include <chrono>

#include "s3/http_client.h"

namespace roomrec::hooks {
namespace {
constexpr const char* kComponent = "hooks";
}

HookSender::HookSender(HookSenderConfig config) : cfg_(std::move(config)) {
  thread_ = std::thread([this] {
    util::set_thread_name("rr-hooks");
    run();
  });
}

HookSender::~HookSender() { stop(); }

bool HookSender::send(const HookEvent& event) { return send_encoded(encode(event, cfg_.body_type)); }

bool HookSender::send_encoded(EncodedHook hook) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= cfg_.queue_capacity) {
    st_.dropped++;
    return false;
  }
  queue_.push_back(std::move(hook));
  st_.queued++;
  cv_.notify_one();
  return true;
}

bool HookSender::flush(uint64_t timeout_ms) {
  std::unique_lock lock(mu_);
  return cv_idle_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return queue_.empty() && !busy_; });
}

void HookSender::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  st_.dropped += queue_.size();
  queue_.clear();
  cv_idle_.notify_all();
}

HookSenderStats HookSender::stats() const {
  std::lock_guard lock(mu_);
  HookSenderStats s = st_;
  s.pending = queue_.size();
  return s;
}

void HookSender::run() {
  s3::HttpOptions opts;
  opts.total_timeout_ms = cfg_.request_timeout_ms;
  opts.connect_timeout_ms = std::min<uint64_t>(cfg_.request_timeout_ms, 5000);
  s3::HttpClient http(opts);
  std::unique_lock lock(mu_);
  uint64_t seq = 0;
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    EncodedHook hook = queue_.front();  // stays queued (and first) until delivered
    busy_ = true;
    lock.unlock();
    uint32_t attempts = 0;
    bool delivered = false, gave_up = false;
    while (true) {
      s3::Headers headers = cfg_.headers;
      headers.emplace_back("Content-Type", hook.content_type);
      auto r = http.request("POST", cfg_.url, headers, hook.body);
      Status s = r ? s3::check_status(*r, "hook POST") : r.status();
      ++attempts;
      if (s) {
        delivered = true;
        break;
      }
      {
        std::lock_guard l(mu_);
        st_.failed_attempts++;
      }
      if (cfg_.max_attempts && attempts >= cfg_.max_attempts) {
        gave_up = true;
        log_message(LogLevel::error, kComponent,
                    "giving up on a hook after " + std::to_string(attempts) + " attempts: " + s.to_string());
        break;
      }
      uint64_t wait = util::backoff_ms(cfg_.retry_initial_ms, cfg_.retry_max_ms, attempts, ++seq);
      if (attempts == 1 || attempts % 10 == 0)
        log_message(LogLevel::warn, kComponent,
                    "hook delivery failed (attempt " + std::to_string(attempts) + "), retrying in " +
                        std::to_string(wait) + " ms: " + s.to_string());
      std::unique_lock l(mu_);
      if (cv_.wait_for(l, std::chrono::milliseconds(wait), [&] { return stopping_; })) break;
    }
    lock.lock();
    if (delivered || gave_up) {
      queue_.pop_front();
      if (delivered) st_.sent++;
      if (gave_up) st_.given_up++;
    }
    busy_ = false;
    if (queue_.empty()) cv_idle_.notify_all();
  }
}

}  // namespace roomrec::hooks
