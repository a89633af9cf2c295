// Retry back-off, the one routine for it (upload queue, hook sender): the
// wait before attempt `attempts` + 1 doubles from initial_ms up to max_ms, with
// ±20% jitter from `jitter_seed` so many senders do not retry in lockstep.
#pragma once

#include <algorithm>
#include <cstdint>

namespace roomrec::util {

inline uint64_t backoff_ms(uint64_t initial_ms, uint64_t max_ms, uint32_t attempts, uint64_t jitter_seed) {
  uint64_t d = initial_ms;
  for (uint32_t i = 1; i < attempts && d < max_ms; ++i) d *= 2;
  d = std::min(d, max_ms);
  uint64_t x = jitter_seed * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  int64_t span = static_cast<int64_t>(d / 5);
  int64_t off = span ? static_cast<int64_t>(x % static_cast<uint64_t>(2 * span + 1)) - span : 0;
  return static_cast<uint64_t>(static_cast<int64_t>(d) + off);
}

}  // namespace roomrec::util
