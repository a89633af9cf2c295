#include "rtp/rtp_packet.h"

namespace roomrec::rtp {
namespace {

inline uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline bool fail(RtpError* why, RtpError e) noexcept {
  if (why) *why = e;
  return false;
}

}  // namespace

const char* rtp_error_name(RtpError e) noexcept {
  switch (e) {
    case RtpError::none: return "none";
    case RtpError::too_short: return "too_short";
    case RtpError::bad_version: return "bad_version";
    case RtpError::csrc_overflow: return "csrc_overflow";
    case RtpError::extension_overflow: return "extension_overflow";
    case RtpError::bad_padding: return "bad_padding";
    case RtpError::not_rtcp: return "not_rtcp";
  }
  return "unknown";
}

bool parse_rtp(const uint8_t* p, size_t n, RtpHeader& out, RtpError* why) noexcept {
  if (n < 12 || p == nullptr) return fail(why, RtpError::too_short);
  const uint8_t b0 = p[0];
  if ((b0 >> 6) != 2) return fail(why, RtpError::bad_version);
  const bool padding = (b0 & 0x20) != 0;
  const bool extension = (b0 & 0x10) != 0;
  const uint8_t cc = b0 & 0x0F;

  size_t h = 12 + size_t{cc} * 4;
  if (h > n) return fail(why, RtpError::csrc_overflow);

  out.has_extension = extension;
  out.extension_profile = 0;
  out.extension_offset = 0;
  out.extension_size = 0;
  if (extension) {
    if (n - h < 4) return fail(why, RtpError::extension_overflow);
    const size_t ext_bytes = size_t{be16(p + h + 2)} * 4;
    if (n - h - 4 < ext_bytes) return fail(why, RtpError::extension_overflow);
    out.extension_profile = be16(p + h);
    out.extension_offset = h + 4;
    out.extension_size = ext_bytes;
    h += 4 + ext_bytes;
  }

  uint8_t pad = 0;
  if (padding) {
    // The count is the last byte and counts itself; it must fit after the header.
    if (n == h) return fail(why, RtpError::bad_padding);
    pad = p[n - 1];
    if (pad == 0 || pad > n - h) return fail(why, RtpError::bad_padding);
  }

  out.payload_type = p[1] & 0x7F;
  out.marker = (p[1] & 0x80) != 0;
  out.seq = be16(p + 2);
  out.timestamp = be32(p + 4);
  out.ssrc = be32(p + 8);
  out.csrc_count = cc;
  out.header_size = h;
  out.payload_offset = h;
  out.payload_size = n - h - pad;
  out.padding_size = pad;
  if (why) *why = RtpError::none;
  return true;
}

bool validate_rtcp_compound(const uint8_t* p, size_t n, RtpError* why) noexcept {
  if (n < 4 || p == nullptr) return fail(why, RtpError::too_short);
  size_t off = 0;
  bool first = true;
  while (off < n) {
    if (n - off < 4) return fail(why, RtpError::too_short);
    const uint8_t* q = p + off;
    if ((q[0] >> 6) != 2) return fail(why, RtpError::bad_version);
    if (first && (q[1] < 192 || q[1] > 223)) return fail(why, RtpError::not_rtcp);
    const size_t len = (size_t{be16(q + 2)} + 1) * 4;
    if (len > n - off) return fail(why, RtpError::too_short);
    if (q[0] & 0x20) {
      if (off + len != n) return fail(why, RtpError::bad_padding);  // only the last packet may pad
      const uint8_t pad = q[len - 1];
      if (pad == 0 || pad > len - 4) return fail(why, RtpError::bad_padding);
    }
    off += len;
    first = false;
  }
  if (why) *why = RtpError::none;
  return true;
}

size_t parse_sender_reports(const uint8_t* p, size_t n, SenderReport* out, size_t max) noexcept {
  if (!validate_rtcp_compound(p, n)) return 0;
  constexpr uint64_t kNtpToUnix = 2'208'988'800ULL;  // seconds from 1900 to 1970
  size_t found = 0;
  for (size_t off = 0; off < n && found < max;) {
    const uint8_t* q = p + off;
    const size_t len = (size_t{be16(q + 2)} + 1) * 4;
    if (q[1] == 200 && len >= 28) {
      const uint64_t secs = (uint64_t{be16(q + 8)} << 16) | be16(q + 10);
      const uint64_t frac = (uint64_t{be16(q + 12)} << 16) | be16(q + 14);
      if (secs >= kNtpToUnix) {
        SenderReport& sr = out[found++];
        sr.ssrc = (uint32_t{be16(q + 4)} << 16) | be16(q + 6);
        sr.ntp_unix_ms = (secs - kNtpToUnix) * 1000 + ((frac * 1000) >> 32);
        sr.rtp_ts = (uint32_t{be16(q + 16)} << 16) | be16(q + 18);
      }
    }
    off += len;
  }
  return found;
}

bool find_extension(const uint8_t* packet, const RtpHeader& h, uint8_t id, const uint8_t** value,
                    size_t* size) noexcept {
  if (!h.has_extension || id == 0) return false;
  const uint8_t* p = packet + h.extension_offset;
  const uint8_t* end = p + h.extension_size;
  const bool one = is_one_byte_extension(h.extension_profile);
  if (!one && !is_two_byte_extension(h.extension_profile)) return false;
  while (p < end) {
    if (*p == 0) {  // padding
      ++p;
      continue;
    }
    uint8_t eid;
    size_t len;
    if (one) {
      eid = *p >> 4;
      len = (*p & 0x0F) + 1u;
      if (eid == 15) return false;  // reserved: stop
      ++p;
    } else {
      if (end - p < 2) return false;
      eid = p[0];
      len = p[1];
      p += 2;
    }
    if (len > static_cast<size_t>(end - p)) return false;
    if (eid == id) {
      *value = p;
      *size = len;
      return true;
    }
    p += len;
  }
  return false;
}

}  // namespace roomrec::rtp
