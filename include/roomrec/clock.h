// Time: unix milliseconds, from an injectable clock so tests are deterministic.
#pragma once

#include <roomrec/export.h>

#include <atomic>
#include <cstdint>

namespace roomrec {

class ROOMREC_API Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, unix milliseconds.
  virtual uint64_t now_ms() const = 0;
  // Monotonic milliseconds (arbitrary origin), for timeouts and back-off.
  virtual uint64_t steady_ms() const = 0;
};

class ROOMREC_API SystemClock final : public Clock {
 public:
  uint64_t now_ms() const override;
  uint64_t steady_ms() const override;
  static SystemClock& instance();
};

// A clock that moves only when told to; both readings move together.
class ROOMREC_API ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms = 1'700'000'000'000ULL) : now_(start_ms) {}
  uint64_t now_ms() const override { return now_.load(std::memory_order_acquire); }
  uint64_t steady_ms() const override { return now_ms(); }
  void set(uint64_t ms) { now_.store(ms, std::memory_order_release); }
  void advance(uint64_t ms) { now_.fetch_add(ms, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace roomrec
