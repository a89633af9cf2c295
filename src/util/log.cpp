#include <roomrec/log.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "util/utf8.h"

namespace roomrec {
namespace {

struct LogState {
  std::mutex mu;
  std::shared_ptr<const LogCallback> callback;
  std::atomic<int> min_level{static_cast<int>(LogLevel::off)};
};

LogState& state() {
  static LogState* s = new LogState();  // never destroyed: usable during exit
  return *s;
}

}  // namespace

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace: return "TRACE";
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warn: return "WARN";
    case LogLevel::error: return "ERROR";
    case LogLevel::off: return "OFF";
  }
  return "?";
}

void set_log_callback(LogCallback callback, LogLevel min_level) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  if (callback) {
    s.callback = std::make_shared<const LogCallback>(std::move(callback));
    s.min_level.store(static_cast<int>(min_level), std::memory_order_release);
  } else {
    s.callback.reset();
    s.min_level.store(static_cast<int>(LogLevel::off), std::memory_order_release);
  }
}

void log_to_stderr(LogLevel min_level) {
  set_log_callback(
      [](LogLevel level, std::string_view component, std::string_view message) {
        // One event, one line: control characters in a message (a remote
        // error text, a file name) are escaped, so no text can forge a line.
        const std::string text = util::printable_text(message);
        std::fprintf(stderr, "%-5s %.*s: %s\n", log_level_name(level), static_cast<int>(component.size()),
                     component.data(), text.c_str());
      },
      min_level);
}

bool log_enabled(LogLevel level) noexcept {
  return level != LogLevel::off &&
         static_cast<int>(level) >= state().min_level.load(std::memory_order_acquire);
}

void log_message(LogLevel level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  std::shared_ptr<const LogCallback> cb;
  {
    auto& s = state();
    std::lock_guard lock(s.mu);
    cb = s.callback;
  }
  if (!cb) return;
  try {
    (*cb)(level, component, message);
  } catch (...) {
    // A throwing host callback must not unwind through the library.
  }
}

bool LogRateLimiter::allow(uint64_t now_ms, uint64_t* suppressed) noexcept {
  uint64_t next = next_ms_.load(std::memory_order_relaxed);
  if (now_ms >= next &&
      next_ms_.compare_exchange_strong(next, now_ms + interval_ms_, std::memory_order_relaxed)) {
    uint64_t n = suppressed_.exchange(0, std::memory_order_relaxed);
    if (suppressed) *suppressed = n;
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace roomrec
