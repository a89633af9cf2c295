// ManualClock: a test clock (not part of the installed API).
#pragma once

#include <roomrec/clock.h>

#include <atomic>
#include <cstdint>

namespace roomrec {

// A clock that moves only when told to; both readings move together.
class ManualClock final : public Clock {
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
