// Fuzz target: the RTCP writer round-trips through the parsers. Arbitrary
// bytes choose a sender report (SSRC, NTP time, RTP time, counts) and a CNAME;
// write_sr_sdes() must produce a compound that validate_rtcp_compound()
// accepts, from which parse_sender_reports() gives back the same SSRC, time
// and RTP time and find_sdes_cname() the same CNAME. Then the input itself is
// parsed as RTCP (the parsers must not crash on it).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "rtp/rtcp_writer.h"
#include "rtp/rtp_packet.h"

using namespace roomrec::rtp;

namespace {
uint64_t take(const uint8_t*& p, size_t& n, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) {
    v = (v << 8) | (n ? *p : 0);
    if (n) {
      ++p;
      --n;
    }
  }
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* p = data;
  size_t n = size;
  SenderInfo sr;
  sr.ssrc = static_cast<uint32_t>(take(p, n, 4));
  // NTP seconds are 32 bits from 1900: unix times up to 2106 fit.
  sr.ntp_unix_ms = take(p, n, 6) % (2'085'978'495ULL * 1000);
  sr.rtp_ts = static_cast<uint32_t>(take(p, n, 4));
  sr.packets = static_cast<uint32_t>(take(p, n, 4));
  sr.octets = static_cast<uint32_t>(take(p, n, 4));
  std::string_view cname(reinterpret_cast<const char*>(p), n);

  uint8_t out[28 + 4 + 4 + 2 + 256 + 4];
  const size_t want = sr_sdes_size(cname.size());
  const size_t got = write_sr_sdes(sr, cname, out, sizeof out);
  if (cname.size() > 255) {
    if (want != 0 || got != 0) std::abort();
  } else {
    if (got == 0 || got != want || got % 4 != 0) std::abort();
    if (write_sr_sdes(sr, cname, out, got - 1) != 0) std::abort();  // too small: refused
    if (!validate_rtcp_compound(out, got)) std::abort();
    SenderReport back[2];
    if (parse_sender_reports(out, got, back, 2) != 1) std::abort();
    if (back[0].ssrc != sr.ssrc || back[0].ntp_unix_ms != sr.ntp_unix_ms || back[0].rtp_ts != sr.rtp_ts) std::abort();
    std::string_view c;
    if (!find_sdes_cname(out, got, sr.ssrc, &c) || c != cname) std::abort();
    if (find_sdes_cname(out, got, sr.ssrc + 1, &c)) std::abort();
  }
  std::string_view any;
  (void)find_sdes_cname(data, size, 0, &any);
  return 0;
}
