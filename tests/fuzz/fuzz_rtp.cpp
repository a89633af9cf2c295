// Fuzz target: RTP header parsing, RFC 8285 header extensions and RTCP
// compound validation and sender-report parsing on arbitrary bytes.
//
// It must never crash, and an accepted RTP packet must be self-consistent:
// header + payload + padding == size, the extension lies inside the header,
// every extension value found lies inside the packet.
#include <cstdint>
#include <cstdlib>

#include "rtp/rtp_packet.h"

using namespace roomrec::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RtpHeader h;
  RtpError why = RtpError::none;
  if (parse_rtp(data, size, h, &why)) {
    if (h.payload_offset != h.header_size) std::abort();
    if (h.header_size + h.payload_size + h.padding_size != size) std::abort();
    if (h.header_size < 12 + 4u * h.csrc_count) std::abort();
    if (h.has_extension && h.extension_offset + h.extension_size > h.header_size) std::abort();
    for (uint8_t id = 0; id < 16; ++id) {
      const uint8_t* value = nullptr;
      size_t n = 0;
      if (find_extension(data, h, id, &value, &n)) {
        if (value < data || value + n > data + h.header_size) std::abort();
        if (id == 9 && n >= 1) (void)cvo_rotation(value[0]);
      }
    }
  } else if (why == RtpError::none) {
    std::abort();  // a refusal always says why
  }
  (void)rtp_error_name(why);
  RtpError rtcp_why = RtpError::none;
  if (!validate_rtcp_compound(data, size, &rtcp_why) && rtcp_why == RtpError::none) std::abort();
  (void)looks_like_rtcp(data, size);
  SenderReport srs[4];
  const size_t n = parse_sender_reports(data, size, srs, 4);
  if (n > 4 || (n > 0 && !validate_rtcp_compound(data, size))) std::abort();
  return 0;
}
