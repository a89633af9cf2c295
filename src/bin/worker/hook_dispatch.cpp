#include "worker/hook_dispatch.h"

#include <algorithm>
#include <chrono>

namespace roomrec::worker {

HookDispatch::HookDispatch(hooks::BodyType body_type, unsigned workers_per_endpoint,
                           std::function<std::string(const std::string&)> endpoint_of)
    : body_type_(body_type), workers_(std::max(1u, workers_per_endpoint)), endpoint_of_(std::move(endpoint_of)) {}

hooks::HookSender& HookDispatch::sender_for(const std::string& url, const std::string& job_id) {
  auto& pool = pools_[url];
  if (pool.empty()) {
    for (unsigned i = 0; i < workers_; ++i) {
      hooks::HookSenderConfig cfg;
      cfg.url = url;
      cfg.body_type = body_type_;
      pool.push_back(std::make_unique<hooks::HookSender>(cfg));
    }
  }
  return *pool[std::hash<std::string>{}(job_id) % pool.size()];
}

void HookDispatch::send(const std::string& app, const std::string& job_id, const hooks::HookEvent& event) {
  const std::string url = endpoint_of_(app);
  std::lock_guard lock(mu_);
  if (url.empty()) {
    ++without_endpoint_;
    return;
  }
  sender_for(url, job_id).send(event);
}

bool HookDispatch::flush(uint64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<hooks::HookSender*> senders;  // senders live until destruction: wait without the lock
  {
    std::lock_guard lock(mu_);
    for (auto& [url, pool] : pools_)
      for (auto& sender : pool) senders.push_back(sender.get());
  }
  bool all = true;
  for (auto* sender : senders) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    all = sender->flush(static_cast<uint64_t>(std::max<int64_t>(0, left.count()))) && all;
  }
  return all;
}

void HookDispatch::stop() {
  std::lock_guard lock(mu_);
  for (auto& [url, pool] : pools_)
    for (auto& sender : pool) sender->stop();
}

HookDispatch::Stats HookDispatch::stats() const {
  std::lock_guard lock(mu_);
  Stats s;
  s.without_endpoint = without_endpoint_;
  for (const auto& [url, pool] : pools_)
    for (const auto& sender : pool) {
      auto st = sender->stats();
      s.senders.queued += st.queued;
      s.senders.sent += st.sent;
      s.senders.failed_attempts += st.failed_attempts;
      s.senders.dropped += st.dropped;
      s.senders.given_up += st.given_up;
      s.senders.pending += st.pending;
    }
  return s;
}

}  // namespace roomrec::worker
