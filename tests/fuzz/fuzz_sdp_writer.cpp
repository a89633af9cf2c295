// Fuzz target: the SDP writer is the parser's inverse. The input is parsed as
// SDP; when it parses, write() either refuses it (invalid_argument, for what it
// cannot write back as read: no origin address, a non-token format...) or gives
// a text that parse() accepts and reads back as the same description, field by
// field (line numbers aside), and writing that again gives the same text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rtp/sdp.h"

using namespace roomrec;
using namespace roomrec::sdp;

namespace {

bool same(const std::optional<Connection>& a, const std::optional<Connection>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->ipv6 == b->ipv6 && a->address == b->address && a->ttl == b->ttl && a->count == b->count;
}

bool same(const Media& a, const Media& b) {
  if (a.kind != b.kind || a.port != b.port || a.port_count != b.port_count || a.proto != b.proto ||
      a.formats != b.formats || !same(a.connection, b.connection) || a.rtcp_port != b.rtcp_port ||
      !same(a.rtcp_connection, b.rtcp_connection) || a.rtcp_mux != b.rtcp_mux || a.ssrcs != b.ssrcs ||
      a.cname != b.cname || a.mid != b.mid || a.rtp_formats.size() != b.rtp_formats.size() ||
      a.crypto.size() != b.crypto.size())
    return false;
  for (size_t i = 0; i < a.rtp_formats.size(); ++i) {
    const Format &x = a.rtp_formats[i], &y = b.rtp_formats[i];
    if (x.payload_type != y.payload_type || x.encoding != y.encoding || x.clock_rate != y.clock_rate ||
        x.channels != y.channels || x.fmtp != y.fmtp || x.has_rtpmap != y.has_rtpmap)
      return false;
  }
  for (size_t i = 0; i < a.crypto.size(); ++i)
    if (a.crypto[i].tag != b.crypto[i].tag || a.crypto[i].suite != b.crypto[i].suite ||
        a.crypto[i].attribute != b.crypto[i].attribute)
      return false;
  return true;
}

bool same(const Description& a, const Description& b) {
  if (a.origin_address != b.origin_address || a.session_name != b.session_name || !same(a.connection, b.connection) ||
      a.media.size() != b.media.size())
    return false;
  // An absent session id is written as "0".
  if (a.origin_session_id != b.origin_session_id && !(a.origin_session_id.empty() && b.origin_session_id == "0"))
    return false;
  for (size_t i = 0; i < a.media.size(); ++i)
    if (!same(a.media[i], b.media[i])) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = parse(text);
  if (!d) return 0;
  auto written = write(*d);
  if (!written) {
    if (written.status().code() != ErrorCode::invalid_argument) std::abort();
    return 0;
  }
  auto back = parse(*written);
  if (!back) std::abort();            // the writer wrote what the parser refuses
  if (!same(*d, *back)) std::abort();  // or what it reads back differently
  auto again = write(*back);
  if (!again || *again != *written) std::abort();
  (void)one_line(text);
  return 0;
}
