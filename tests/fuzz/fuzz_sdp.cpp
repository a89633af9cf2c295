// Fuzz target: the SDP parser (src/rtp/sdp.h) on arbitrary text.
//
// The input is parsed twice: with the default limits, and with small limits
// (first byte picks them) so that every cap is reached. It must never crash,
// an error must name "sdp", and an accepted description must be consistent:
// an RTP section has one format per m= payload type (each 0..127, distinct),
// an rtpmap always carries a clock rate, crypto lines have a suite, and the
// RTCP port follows the rules. Crypto attributes are handed to
// SrtpKey::from_sdes as rtp_recorder does.
#include <roomrec/srtp.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rtp/sdp.h"

namespace {

void check(const roomrec::Result<roomrec::sdp::Description>& r, const roomrec::sdp::Limits& limits) {
  using namespace roomrec;
  if (!r.is_ok()) {
    const Status s = r.status();
    if (s.message().rfind("sdp", 0) != 0) std::abort();
    if (s.code() != ErrorCode::invalid_argument && s.code() != ErrorCode::resource_exhausted) std::abort();
    return;
  }
  const sdp::Description& d = r.value();
  if (d.media.size() > limits.max_media || d.lines > limits.max_lines) std::abort();
  for (const sdp::Media& m : d.media) {
    if (m.kind.empty() || m.proto.empty() || m.formats.empty() || m.port_count == 0) std::abort();
    if (m.is_rtp()) {
      if (m.rtp_formats.size() != m.formats.size()) std::abort();
      bool seen[128] = {};
      for (const sdp::Format& f : m.rtp_formats) {
        if (f.payload_type > 127 || seen[f.payload_type]) std::abort();
        seen[f.payload_type] = true;
        if (m.format(f.payload_type) != &f) std::abort();
        if (f.has_rtpmap && (f.clock_rate == 0 || f.encoding.empty())) std::abort();
        if (m.kind == "audio" && !f.encoding.empty() && f.channels == 0) std::abort();
      }
    } else if (!m.rtp_formats.empty()) {
      std::abort();
    }
    const uint32_t rtcp = m.effective_rtcp_port();
    if (m.rtcp_mux ? rtcp != m.port : (m.rtcp_port ? rtcp != *m.rtcp_port : rtcp != m.port + 1u)) std::abort();
    for (const sdp::Crypto& c : m.crypto) {
      if (c.suite.empty() || c.attribute.empty()) std::abort();
      auto key = SrtpKey::from_sdes(c.attribute);
      if (key.is_ok() && key->key_salt.size() != srtp_key_salt_length(key->profile)) std::abort();
    }
    const sdp::Connection* conn = d.connection_of(m);
    if (conn && (conn->address.empty() || conn->count == 0 || conn->ttl > 255)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const roomrec::sdp::Limits defaults;
  check(roomrec::sdp::parse(text, defaults), defaults);

  roomrec::sdp::Limits small;
  const uint8_t pick = size ? data[0] : 0;
  small.max_bytes = 64 + (pick & 0x0F) * 64;
  small.max_line = 16 + (pick >> 4) * 8;
  small.max_lines = 4 + (pick & 7);
  small.max_media = 1 + (pick & 3);
  small.max_attributes = 1 + (pick >> 6);
  check(roomrec::sdp::parse(text, small), small);
  return 0;
}
