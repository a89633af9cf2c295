#include "rtp/rtcp_writer.h"

#include <cstring>

#include "rtp/rtp_packet.h"

namespace roomrec::rtp {

namespace {

constexpr uint64_t kNtpToUnix = 2'208'988'800ULL;  // seconds from 1900 to 1970

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

size_t sdes_size(size_t cname_size) { return (4 + 4 + 2 + cname_size + 1 + 3) / 4 * 4; }

}  // namespace

size_t sr_sdes_size(size_t cname_size) noexcept { return cname_size > 255 ? 0 : 28 + sdes_size(cname_size); }

size_t write_sr_sdes(const SenderInfo& sr, std::string_view cname, uint8_t* out, size_t cap) noexcept {
  const size_t n = sr_sdes_size(cname.size());
  if (n == 0 || cap < n || !out) return 0;
  std::memset(out, 0, n);
  const uint64_t secs = sr.ntp_unix_ms / 1000 + kNtpToUnix;
  const uint64_t frac = (((sr.ntp_unix_ms % 1000) << 32) + 999) / 1000;  // rounded up: exact round trip
  out[0] = 0x80;
  out[1] = 200;
  put16(out + 2, 6);
  put32(out + 4, sr.ssrc);
  put32(out + 8, static_cast<uint32_t>(secs));
  put32(out + 12, static_cast<uint32_t>(frac));
  put32(out + 16, sr.rtp_ts);
  put32(out + 20, sr.packets);
  put32(out + 24, sr.octets);
  uint8_t* q = out + 28;
  const size_t sdes = sdes_size(cname.size());
  q[0] = 0x81;  // one chunk
  q[1] = 202;
  put16(q + 2, static_cast<uint16_t>(sdes / 4 - 1));
  put32(q + 4, sr.ssrc);
  q[8] = 1;  // CNAME
  q[9] = static_cast<uint8_t>(cname.size());
  if (!cname.empty()) std::memcpy(q + 10, cname.data(), cname.size());
  // then the end item (a zero byte) and zero padding to 32 bits: already zero
  return n;
}

bool find_sdes_cname(const uint8_t* p, size_t n, uint32_t ssrc, std::string_view* cname) noexcept {
  if (!validate_rtcp_compound(p, n)) return false;
  for (size_t off = 0; off < n;) {
    const uint8_t* q = p + off;
    const size_t len = ((size_t{q[2]} << 8 | q[3]) + 1) * 4;
    if (q[1] == 202) {
      const size_t chunks = q[0] & 0x1f;
      size_t c = 4;
      for (size_t i = 0; i < chunks && c + 4 <= len; ++i) {
        const uint32_t chunk_ssrc = get32(q + c);
        c += 4;
        // items until a zero type, then padding to the next 32-bit boundary
        while (c < len && q[c] != 0) {
          if (c + 2 > len) return false;
          const uint8_t type = q[c];
          const size_t ilen = q[c + 1];
          if (c + 2 + ilen > len) return false;
          if (type == 1 && chunk_ssrc == ssrc) {
            if (cname) *cname = std::string_view(reinterpret_cast<const char*>(q + c + 2), ilen);
            return true;
          }
          c += 2 + ilen;
        }
        c = (c + 1 + 3) / 4 * 4;  // the end item and padding
      }
    }
    off += len;
  }
  return false;
}

}  // namespace roomrec::rtp
