// Sends the worker's Compose hooks: one pool of HookSenders (each with its own
// thread and retries) per endpoint, a job's events always through the same
// sender of the pool, so they arrive in order (Started, then Completed or Failed).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hooks/hook_sender.h"

namespace roomrec::worker {

class HookDispatch {
 public:
  // `endpoint_of(app)` names the URL for an app's events ("" sends nothing).
  HookDispatch(hooks::BodyType body_type, unsigned workers_per_endpoint,
               std::function<std::string(const std::string& app)> endpoint_of);

  // Queues `event` for `app`'s endpoint, ordered with the other events of `job_id`.
  void send(const std::string& app, const std::string& job_id, const hooks::HookEvent& event);

  // Waits until every queued event is delivered (or given up), at most timeout_ms.
  bool flush(uint64_t timeout_ms);
  void stop();

  struct Stats {
    hooks::HookSenderStats senders;  // summed over every sender
    uint64_t without_endpoint = 0;   // events of an app with no hook URL
  };
  Stats stats() const;

 private:
  hooks::HookSender& sender_for(const std::string& url, const std::string& job_id);

  hooks::BodyType body_type_;
  unsigned workers_;
  std::function<std::string(const std::string&)> endpoint_of_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<hooks::HookSender>>> pools_;  // by URL
  uint64_t without_endpoint_ = 0;
};

}  // namespace roomrec::worker
