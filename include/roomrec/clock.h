// Time: unix milliseconds, from an injectable clock so tests are deterministic.
#pragma once

#include <roomrec/export.h>

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

}  // namespace roomrec
