// A small SDP parser (RFC 8866) for the session descriptions that
// `ffmpeg -sdp_file`, GStreamer and similar RTP senders write: the session
// and media connection lines, `m=audio|video PORT RTP/AVP|RTP/SAVP|... PT...`,
// `a=rtpmap`, `a=fmtp`, `a=crypto` (SDES, RFC 4568), `a=rtcp` (RFC 3605),
// `a=rtcp-mux` (RFC 5761), `a=ssrc` (RFC 5576) and `a=mid` (RFC 5888).
//
// Strict where a mistake would record the wrong thing (bad ports, payload
// types, rtpmaps, crypto lines, connection addresses: an error naming the
// line and the reason), tolerant of everything a recorder does not need
// (unknown line types and attributes are skipped, LF or CRLF, blank lines,
// trailing spaces). Input and its parts are capped (Limits). Never throws on
// bad input (only std::bad_alloc), never reads out of bounds. Not thread-bound:
// a parsed Description is a plain value.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec::sdp {

struct Limits {
  size_t max_bytes = 256 * 1024;  // whole description
  size_t max_line = 8192;         // bytes of one line
  size_t max_lines = 10000;
  size_t max_media = 64;          // m= sections
  size_t max_attributes = 2000;   // a= lines per section
};

// "c=IN IP4 224.2.1.1/127/3": address type, address, multicast TTL and count.
struct Connection {
  bool ipv6 = false;
  std::string address;  // numeric IPv4/IPv6, or a host name as written
  uint32_t ttl = 0;     // 0 when absent
  uint32_t count = 1;   // consecutive multicast addresses (1 when absent)
  size_t line = 0;
};

// One payload type of an RTP m= line: from its a=rtpmap, or from the static
// table of RFC 3551 when a static type has no rtpmap.
struct Format {
  uint8_t payload_type = 0;
  std::string encoding;     // as written ("VP8", "opus"); empty: dynamic type without an rtpmap
  uint32_t clock_rate = 0;  // 0 when unknown
  uint32_t channels = 0;    // audio: 1 when the rtpmap omits it; video: 0
  std::string fmtp;         // the a=fmtp parameters, as written (may be empty)
  bool has_rtpmap = false;  // false: static table or nothing
};

// a=crypto:TAG SUITE KEY-PARAMS [SESSION-PARAMS...] (RFC 4568 section 9.1).
// The key material is not decoded here; SrtpKey::from_sdes(attribute) does that.
struct Crypto {
  uint32_t tag = 0;
  std::string suite;      // "AES_CM_128_HMAC_SHA1_80"
  std::string attribute;  // the whole value after "a=crypto:", for SrtpKey::from_sdes
  size_t line = 0;
};

struct Media {
  std::string kind;         // "audio", "video", "application", ... (lower case)
  uint16_t port = 0;        // 0: the section is disabled
  uint16_t port_count = 1;  // "m=video 5000/2 ..."
  std::string proto;        // "RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", ...
  std::vector<std::string> formats;  // the m= line's fmt list, as written
  std::vector<Format> rtp_formats;   // RTP profiles: one per payload type, in m= order
  std::optional<Connection> connection;  // media-level c= (else the session's)
  std::vector<Crypto> crypto;            // media-level, else the session-level ones
  std::optional<uint16_t> rtcp_port;     // a=rtcp:PORT
  std::optional<Connection> rtcp_connection;  // a=rtcp:PORT IN IP4 ADDR
  bool rtcp_mux = false;
  std::vector<uint32_t> ssrcs;  // distinct a=ssrc ids in order of appearance
  std::string cname;            // the first "a=ssrc:ID cname:NAME" (RFC 5576), empty when none
  std::string mid;
  size_t line = 0;  // line number of the m= line (1-based)

  // RTP/AVP, RTP/SAVP, RTP/AVPF, RTP/SAVPF (not the DTLS "UDP/TLS/RTP/SAVP").
  bool is_rtp() const noexcept;
  // The profile says the media is SRTP-protected (SAVP, SAVPF).
  bool is_secure_profile() const noexcept;
  // The port RTCP arrives on: the RTP port with rtcp-mux, else a=rtcp, else port + 1.
  uint32_t effective_rtcp_port() const noexcept;
  const Format* format(uint8_t payload_type) const noexcept;
};

struct Description {
  std::string origin_session_id;  // from o= (may be empty)
  std::string origin_address;  // from o= (may be empty)
  std::string session_name;    // s=
  std::optional<Connection> connection;  // session-level c=
  std::vector<Media> media;
  size_t lines = 0;

  // The media-level connection, else the session-level one, else nullptr.
  const Connection* connection_of(const Media& m) const noexcept;
};

// Parses a description. Errors are ErrorCode::invalid_argument with
// "sdp line N: reason" (or resource_exhausted when a limit is passed).
Result<Description> parse(std::string_view text, const Limits& limits = {});

// Writes a description: the inverse of parse() for what parse() reads — o=
// (origin_session_id, origin_address), s=, session and media c=, m= lines
// (an RTP section's payload types are its rtp_formats), a=rtpmap for formats
// with has_rtpmap, a=fmtp, a=rtcp (with its connection), a=rtcp-mux, a=ssrc
// (with the cname), a=mid and a=crypto; t=0 0; CRLF line ends. Anything parse()
// would refuse or read back differently is refused (invalid_argument naming
// the field), so parse(write(d)) gives back d (tests/fuzz/fuzz_sdp_writer).
// Text from recordings must be made one line first (one_line()).
Result<std::string> write(const Description& d);

// Outside text as one SDP field: control characters (line breaks, tabs)
// become spaces and the ends are trimmed.
std::string one_line(std::string_view s);

// The RFC 3551 static payload type table (encoding, clock rate, channels);
// false for dynamic and unassigned types.
bool static_payload_type(uint8_t pt, std::string_view& encoding, uint32_t& clock_rate, uint32_t& channels) noexcept;

}  // namespace roomrec::sdp
