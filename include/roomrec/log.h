// Logging: one process-wide callback the host sets. Silent by default.
#pragma once

#include <roomrec/export.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace roomrec {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

ROOMREC_API const char* log_level_name(LogLevel level) noexcept;

using LogCallback = std::function<void(LogLevel level, std::string_view component, std::string_view message)>;

// Sets the callback and the lowest level passed to it. An empty callback
// silences the library. The callback may be called from any thread of the
// library, concurrently; it must not call back into set_log_callback.
ROOMREC_API void set_log_callback(LogCallback callback, LogLevel min_level = LogLevel::info);

// A ready callback that prints "LEVEL component: message" to stderr.
ROOMREC_API void log_to_stderr(LogLevel min_level = LogLevel::info);

ROOMREC_API bool log_enabled(LogLevel level) noexcept;
ROOMREC_API void log_message(LogLevel level, std::string_view component, std::string_view message);

// Lets through at most one event per interval; the others are counted and the
// count is reported with the next line let through. Lock-free; safe to share.
class ROOMREC_API LogRateLimiter {
 public:
  explicit LogRateLimiter(uint64_t interval_ms = 1000) : interval_ms_(interval_ms) {}
  // True when a line may be logged at now_ms; *suppressed gets how many
  // events were held back since the last line.
  bool allow(uint64_t now_ms, uint64_t* suppressed) noexcept;

 private:
  uint64_t interval_ms_;
  std::atomic<uint64_t> next_ms_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace roomrec
