// Builds valid RTP packets for tests.
#pragma once

#include <cstdint>
#include <vector>

namespace roomrec::testing {

inline std::vector<uint8_t> make_rtp(uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload, uint8_t pt = 96,
                                     bool marker = false) {
  std::vector<uint8_t> p(12 + payload);
  p[0] = 0x80;
  p[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | pt);
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  p[4] = static_cast<uint8_t>(ts >> 24);
  p[5] = static_cast<uint8_t>(ts >> 16);
  p[6] = static_cast<uint8_t>(ts >> 8);
  p[7] = static_cast<uint8_t>(ts);
  p[8] = static_cast<uint8_t>(ssrc >> 24);
  p[9] = static_cast<uint8_t>(ssrc >> 16);
  p[10] = static_cast<uint8_t>(ssrc >> 8);
  p[11] = static_cast<uint8_t>(ssrc);
  for (size_t i = 0; i < payload; ++i) p[12 + i] = static_cast<uint8_t>(seq + i);
  return p;
}

// A minimal valid RTCP receiver report (no report blocks).
inline std::vector<uint8_t> make_rtcp_rr(uint32_t ssrc) {
  return {0x80, 201, 0, 1, static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
}

}  // namespace roomrec::testing
