// HookSender: POSTs hook events to the configured endpoint from one thread,
// in order (so the order of a room's events is kept), retrying each with
// exponential back-off while the receiver is down. The queue is bounded: an
// event that does not fit is dropped and counted, never blocking the caller.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <roomrec/clock.h>
#include <roomrec/s3_upload.h>

#include "hooks/hook_event.h"

namespace roomrec::hooks {

struct HookSenderConfig {
  std::string url;                                            // http(s):// endpoint
  BodyType body_type = BodyType::protobuf_json;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  size_t queue_capacity = 10'000;
  uint64_t retry_initial_ms = 500;
  uint64_t retry_max_ms = 30'000;
  uint32_t max_attempts = 0;     // 0: retry until delivered or shutdown
  uint64_t request_timeout_ms = 10'000;
};

struct HookSenderStats {
  uint64_t queued = 0, sent = 0, failed_attempts = 0, dropped = 0, given_up = 0;
  size_t pending = 0;
};

class HookSender {
 public:
  explicit HookSender(HookSenderConfig config);
  ~HookSender();  // stops; events still queued are counted as dropped
  HookSender(const HookSender&) = delete;
  HookSender& operator=(const HookSender&) = delete;

  // Queues an event; false (and counted) when the queue is full or stopped.
  bool send(const HookEvent& event);
  bool send_encoded(EncodedHook hook);
  // Waits until the queue is empty (delivered or given up) or timeout.
  bool flush(uint64_t timeout_ms);
  void stop();
  HookSenderStats stats() const;
  const HookSenderConfig& config() const { return cfg_; }

 private:
  void run();

  HookSenderConfig cfg_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable cv_idle_;
  std::deque<EncodedHook> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  HookSenderStats st_;
  std::thread thread_;
};

}  // namespace roomrec::hooks
