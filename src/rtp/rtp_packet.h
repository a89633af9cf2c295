// RTP header parsing and RTCP compound validation (RFC 3550, RFC 5761), plus
// wraparound-aware sequence number arithmetic.
//
// Everything here is a view over caller-owned bytes: O(1) for RTP (O(packets)
// for an RTCP compound), allocation-free, noexcept, never throws or aborts on
// bad input. Safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace roomrec::rtp {

// What parse_rtp() found. Offsets are from the first byte of the packet.
struct RtpHeader {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;        // CSRCs start at offset 12, 4 bytes each
  bool has_extension = false;
  uint16_t extension_profile = 0;  // 0xBEDE one-byte, 0x100x two-byte (RFC 8285)
  size_t extension_offset = 0;     // first byte of extension data (after its 4-byte header)
  size_t extension_size = 0;       // bytes of extension data after its 4-byte header
  size_t header_size = 0;          // fixed header + CSRCs + extension (header and data)
  size_t payload_offset = 0;       // == header_size
  size_t payload_size = 0;         // excludes padding
  uint8_t padding_size = 0;        // 0 when the P bit is clear
};

enum class RtpError {
  none,
  too_short,           // shorter than a fixed header (RTCP: than a packet header, or a length runs past the end)
  bad_version,         // version field is not 2
  csrc_overflow,       // CSRC list runs past the end
  extension_overflow,  // extension header or data runs past the end
  bad_padding,         // padding count 0, or larger than the room for it
  not_rtcp,            // RTCP: first packet type is not 192..223
};

const char* rtp_error_name(RtpError e) noexcept;

// One-byte (RFC 8285 section 4.2) and two-byte (section 4.3) extension profiles.
constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;
constexpr bool is_one_byte_extension(uint16_t profile) noexcept { return profile == kOneByteExtensionProfile; }
constexpr bool is_two_byte_extension(uint16_t profile) noexcept { return (profile & 0xFFF0) == 0x1000; }

// Validates an RTP packet (RFC 3550 5.1, A.1) and fills `out`. On failure
// returns false, sets *why (if given) and leaves `out` unspecified.
bool parse_rtp(const uint8_t* p, size_t n, RtpHeader& out, RtpError* why = nullptr) noexcept;

// RFC 5761 section 4 demultiplexing: second byte in 192..223 means RTCP.
inline bool looks_like_rtcp(const uint8_t* p, size_t n) noexcept { return n >= 2 && p[1] >= 192 && p[1] <= 223; }

// Validates a (decrypted) RTCP compound packet (RFC 3550 A.2, RFC 5506):
// every packet has version 2, the length fields walk exactly to n, the first
// packet's type is 192..223 (SR/RR for a full compound; any RTCP type is
// accepted so reduced-size RTCP passes), and only the last packet may carry
// padding, whose count must be 1..(that packet's size - 4).
bool validate_rtcp_compound(const uint8_t* p, size_t n, RtpError* why = nullptr) noexcept;

// A sender report's clock pair: RTP time `rtp_ts` of stream `ssrc` was the
// sender's wall-clock time `ntp_unix_ms` (NTP converted to unix ms).
struct SenderReport {
  uint32_t ssrc = 0;
  uint64_t ntp_unix_ms = 0;
  uint32_t rtp_ts = 0;
};
// The sender reports of a valid compound RTCP packet, at most `max` of them;
// returns how many were written (0 for anything invalid).
size_t parse_sender_reports(const uint8_t* p, size_t n, SenderReport* out, size_t max) noexcept;

// ---- sequence numbers (16-bit, wrapping) ----------------------------------

// Forward distance from b to a, modulo 2^16.
constexpr uint16_t seq_diff(uint16_t a, uint16_t b) noexcept { return static_cast<uint16_t>(a - b); }
// Signed distance from `from` to `to`, in [-32768, 32767]: seq_delta(65535, 0) == 1.
constexpr int32_t seq_delta(uint16_t from, uint16_t to) noexcept {
  return static_cast<int16_t>(static_cast<uint16_t>(to - from));
}
// True when a comes after b (by less than half the sequence space). Exactly
// half-way apart counts as neither newer nor older.
constexpr bool seq_newer(uint16_t a, uint16_t b) noexcept { return seq_delta(b, a) > 0; }

// The value of header extension element `id` (RFC 8285, one- or two-byte
// form) in a parsed packet; false when absent. No allocation.
bool find_extension(const uint8_t* packet, const RtpHeader& h, uint8_t id, const uint8_t** value, size_t* size) noexcept;

// Rotation in degrees (0, 90, 180, 270) from a video-orientation (CVO) byte.
constexpr int cvo_rotation(uint8_t cvo) noexcept { return (cvo & 3) * 90; }

}  // namespace roomrec::rtp
