// RTCP writing beside its parser (rtp_packet.h): a sender report (RFC 3550
// 6.4.1, no report blocks) followed by an SDES packet with one CNAME chunk
// (6.5), the compound a sender emits. parse_sender_reports() and
// find_sdes_cname() read back exactly what is written (tests/fuzz/fuzz_rtcp_writer.cpp).
// No allocation, noexcept, caller-owned buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace roomrec::rtp {

struct SenderInfo {
  uint32_t ssrc = 0;
  uint64_t ntp_unix_ms = 0;  // the sender's wall clock at rtp_ts, unix ms
  uint32_t rtp_ts = 0;
  uint32_t packets = 0;      // sender's packet count (wraps)
  uint32_t octets = 0;       // sender's payload octet count (wraps)
};

// Bytes write_sr_sdes() needs for a CNAME of this length (0 when over 255).
size_t sr_sdes_size(size_t cname_size) noexcept;

// Writes SR + SDES(CNAME) into out[0..cap); returns the size written, or 0
// when cap is too small or the CNAME is longer than 255 bytes. The NTP
// fraction is rounded up so that parsing gives ntp_unix_ms back exactly.
size_t write_sr_sdes(const SenderInfo& sr, std::string_view cname, uint8_t* out, size_t cap) noexcept;

// The CNAME of `ssrc` in the SDES packets of a valid compound; false when
// there is none (or the compound is invalid). *cname views into p.
bool find_sdes_cname(const uint8_t* p, size_t n, uint32_t ssrc, std::string_view* cname) noexcept;

}  // namespace roomrec::rtp
