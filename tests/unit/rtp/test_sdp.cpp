#include <doctest/doctest.h>

#include <roomrec/srtp.h>

#include <string>
#include <string_view>

#include "rtp/sdp.h"

using namespace roomrec;

namespace {

// Written by ffmpeg 5.1 (Debian bookworm) for
//   ffmpeg -re -i clip.webm -map 0:v -c copy -f rtp -srtp_out_suite AES_CM_128_HMAC_SHA1_80
//          -srtp_out_params KEY srtp://127.0.0.1:40000 -map 0:a -c copy -f rtp ... srtp://127.0.0.1:40002
//          -sdp_file out.sdp
constexpr std::string_view kFfmpegSrtp =
    "v=0\n"
    "o=- 0 0 IN IP4 127.0.0.1\n"
    "s=No Name\n"
    "t=0 0\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\n"
    "m=video 40000 RTP/AVP 96\n"
    "c=IN IP4 127.0.0.1\n"
    "b=AS:300\n"
    "a=rtpmap:96 VP8/90000\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:eP6Dc4zt14pVgXAeMzBF2flpH7d8S+SVUzgehYy9\n"
    "m=audio 40002 RTP/AVP 97\n"
    "c=IN IP4 127.0.0.1\n"
    "b=AS:64\n"
    "a=rtpmap:97 opus/48000/2\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:eP6Dc4zt14pVgXAeMzBF2flpH7d8S+SVUzgehYy9\n";

// ffmpeg 5.1, plain RTP, H264 with its parameter sets, one output per stream.
constexpr std::string_view kFfmpegH264 =
    "v=0\n"
    "o=- 0 0 IN IP4 127.0.0.1\n"
    "s=No Name\n"
    "c=IN IP4 127.0.0.1\n"
    "t=0 0\n"
    "a=tool:libavformat 59.27.100\n"
    "m=video 5004 RTP/AVP 96\n"
    "b=AS:200\n"
    "a=rtpmap:96 H264/90000\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QADKzZQUH7ARAAAAMAEAAAAwPA8UKZYA==,aOvjyyLA; "
    "profile-level-id=64000C\n"
    "m=audio 5006 RTP/AVP 0\n"
    "b=AS:64\n";

// GStreamer (gst_sdp_message_as_text): CRLF line ends, rtcp-mux, ssrc,
// mid, extmap and rtcp-fb lines, a multicast connection with a TTL.
constexpr std::string_view kGstreamer =
    "v=0\r\n"
    "o=- 1188340656180883 1 IN IP4 192.168.1.20\r\n"
    "s=Session streamed with GStreamer\r\n"
    "i=rtsp-server\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=range:npt=now-\r\n"
    "m=video 5000 RTP/SAVP 96 97\r\n"
    "c=IN IP4 239.255.42.42/15\r\n"
    "b=AS:2000\r\n"
    "a=rtpmap:96 VP9/90000\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20\r\n"
    "a=rtcp-mux\r\n"
    "a=ssrc:3735928559 cname:user3735928559@host-1\r\n"
    "a=ssrc:3735928559 msid:stream video\r\n"
    "a=ssrc:12345 cname:user3735928559@host-1\r\n"
    "a=mid:video0\r\n"
    "a=framerate:30\r\n"
    "m=audio 5002 RTP/SAVP 111\r\n"
    "c=IN IP4 239.255.42.42/15\r\n"
    "a=rtpmap:111 OPUS/48000/2\r\n"
    "a=fmtp:111 sprop-maxcapturerate=48000;sprop-stereo=0\r\n"
    "a=rtcp:6000 IN IP4 192.168.1.20\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
    "a=mid:audio1\r\n"
    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "a=sctp-port:5000\r\n";

// The error message of a parse that must fail.
std::string error_of(std::string_view s, const sdp::Limits& l = {}) {
  auto r = sdp::parse(s, l);
  REQUIRE_FALSE(r.is_ok());
  return r.status().message();
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("sdp: ffmpeg's SRTP description") {
  auto r = sdp::parse(kFfmpegSrtp);
  REQUIRE(r.is_ok());
  const sdp::Description& d = *r;
  CHECK(d.session_name == "No Name");
  CHECK(d.origin_address == "127.0.0.1");
  CHECK_FALSE(d.connection);
  REQUIRE(d.media.size() == 2);

  const sdp::Media& v = d.media[0];
  CHECK(v.kind == "video");
  CHECK(v.port == 40000);
  CHECK(v.proto == "RTP/AVP");
  CHECK(v.is_rtp());
  CHECK_FALSE(v.is_secure_profile());  // ffmpeg keeps RTP/AVP and adds a=crypto
  CHECK(v.line == 6);
  CHECK(v.effective_rtcp_port() == 40001);
  REQUIRE(d.connection_of(v) != nullptr);
  CHECK(d.connection_of(v)->address == "127.0.0.1");
  CHECK_FALSE(d.connection_of(v)->ipv6);
  REQUIRE(v.rtp_formats.size() == 1);
  CHECK(v.rtp_formats[0].payload_type == 96);
  CHECK(v.rtp_formats[0].encoding == "VP8");
  CHECK(v.rtp_formats[0].clock_rate == 90000);
  CHECK(v.rtp_formats[0].channels == 0);
  CHECK(v.rtp_formats[0].has_rtpmap);
  REQUIRE(v.crypto.size() == 1);
  CHECK(v.crypto[0].tag == 1);
  CHECK(v.crypto[0].suite == "AES_CM_128_HMAC_SHA1_80");
  CHECK(v.crypto[0].line == 10);

  const sdp::Media& a = d.media[1];
  CHECK(a.kind == "audio");
  CHECK(a.port == 40002);
  REQUIRE(a.format(97) != nullptr);
  CHECK(a.format(97)->encoding == "opus");
  CHECK(a.format(97)->clock_rate == 48000);
  CHECK(a.format(97)->channels == 2);
  CHECK(a.format(96) == nullptr);

  // The crypto attribute is what SrtpKey::from_sdes takes.
  auto key = SrtpKey::from_sdes(a.crypto[0].attribute);
  REQUIRE(key.is_ok());
  CHECK(key->profile == SrtpProfile::aes_cm_128_hmac_sha1_80);
  CHECK(key->to_sdes_inline() == "inline:eP6Dc4zt14pVgXAeMzBF2flpH7d8S+SVUzgehYy9");
}

TEST_CASE("sdp: ffmpeg H264 with a session-level connection and a static payload type") {
  auto r = sdp::parse(kFfmpegH264);
  REQUIRE(r.is_ok());
  REQUIRE(r->connection);
  CHECK(r->connection->address == "127.0.0.1");
  REQUIRE(r->media.size() == 2);
  const sdp::Media& v = r->media[0];
  CHECK_FALSE(v.connection);
  REQUIRE(r->connection_of(v) == &*r->connection);
  CHECK(v.crypto.empty());
  CHECK(v.format(96)->encoding == "H264");
  CHECK(v.format(96)->fmtp ==
        "packetization-mode=1; sprop-parameter-sets=Z2QADKzZQUH7ARAAAAMAEAAAAwPA8UKZYA==,aOvjyyLA; "
        "profile-level-id=64000C");
  const sdp::Media& a = r->media[1];
  REQUIRE(a.rtp_formats.size() == 1);
  CHECK(a.rtp_formats[0].payload_type == 0);
  CHECK(a.rtp_formats[0].encoding == "PCMU");  // RFC 3551 static type, no rtpmap
  CHECK(a.rtp_formats[0].clock_rate == 8000);
  CHECK(a.rtp_formats[0].channels == 1);
  CHECK_FALSE(a.rtp_formats[0].has_rtpmap);
}

TEST_CASE("sdp: GStreamer with CRLF, rtcp-mux, a=rtcp, ssrc, mid and several crypto lines") {
  auto r = sdp::parse(kGstreamer);
  REQUIRE(r.is_ok());
  CHECK(r->session_name == "Session streamed with GStreamer");
  REQUIRE(r->media.size() == 3);

  const sdp::Media& v = r->media[0];
  CHECK(v.is_secure_profile());
  CHECK(v.rtcp_mux);
  CHECK(v.effective_rtcp_port() == 5000);
  REQUIRE(v.connection);
  CHECK(v.connection->address == "239.255.42.42");
  CHECK(v.connection->ttl == 15);
  CHECK(v.connection->count == 1);
  REQUIRE(v.rtp_formats.size() == 2);
  CHECK(v.rtp_formats[0].encoding == "VP9");
  CHECK(v.rtp_formats[1].encoding == "rtx");
  CHECK(v.rtp_formats[1].fmtp == "apt=96");  // fmtp before its rtpmap
  CHECK(v.rtp_formats[0].fmtp.empty());
  CHECK(v.ssrcs == std::vector<uint32_t>{3735928559u, 12345u});
  CHECK(v.mid == "video0");
  REQUIRE(v.crypto.size() == 2);
  CHECK(v.crypto[0].suite == "AES_CM_128_HMAC_SHA1_32");
  CHECK(v.crypto[1].tag == 2);
  // The first offer has an MKI, which SrtpKey refuses; the second is usable.
  CHECK_FALSE(SrtpKey::from_sdes(v.crypto[0].attribute).is_ok());
  CHECK(SrtpKey::from_sdes(v.crypto[1].attribute).is_ok());

  const sdp::Media& a = r->media[1];
  CHECK_FALSE(a.rtcp_mux);
  REQUIRE(a.rtcp_port);
  CHECK(a.effective_rtcp_port() == 6000);
  REQUIRE(a.rtcp_connection);
  CHECK(a.rtcp_connection->address == "192.168.1.20");
  CHECK(a.format(111)->encoding == "OPUS");
  CHECK(a.format(111)->channels == 2);
  CHECK(a.format(111)->fmtp == "sprop-maxcapturerate=48000;sprop-stereo=0");
  CHECK(a.mid == "audio1");

  const sdp::Media& app = r->media[2];
  CHECK(app.kind == "application");
  CHECK(app.port == 0);
  CHECK_FALSE(app.is_rtp());
  CHECK(app.rtp_formats.empty());
  CHECK(app.formats == std::vector<std::string>{"webrtc-datachannel"});
}

TEST_CASE("sdp: tolerated variations") {
  SUBCASE("IPv6, port count, audio rtpmap without channels, blank lines, trailing spaces, BOM") {
    auto r = sdp::parse(
        "\xEF\xBB\xBFv=0\n\n"
        "o=- 1 1 IN IP6 ::1\n"
        "s=-\n"
        "c=IN IP6 ff15::101/3\n"
        "m=audio 6000/2 RTP/AVPF 8 101   \n"
        "a=rtpmap:101 telephone-event/8000\n"
        "a=fmtp:101 0-15\n"
        "a=sendonly\n"
        "k=clear:not-used\n"
        "x=an unknown line type\n");
    REQUIRE(r.is_ok());
    REQUIRE(r->connection);
    CHECK(r->connection->ipv6);
    CHECK(r->connection->address == "ff15::101");
    CHECK(r->connection->count == 3);
    const sdp::Media& a = r->media[0];
    CHECK(a.port == 6000);
    CHECK(a.port_count == 2);
    CHECK(a.is_rtp());
    CHECK(a.format(8)->encoding == "PCMA");
    CHECK(a.format(101)->channels == 1);
    CHECK(a.format(101)->fmtp == "0-15");
  }
  SUBCASE("a dynamic type without rtpmap is kept with no encoding") {
    auto r = sdp::parse("v=0\nm=video 5000 RTP/AVP 96\n");
    REQUIRE(r.is_ok());
    CHECK(r->media[0].format(96)->encoding.empty());
    CHECK(r->media[0].format(96)->clock_rate == 0);
    CHECK(r->connection_of(r->media[0]) == nullptr);
  }
  SUBCASE("an rtpmap for a type not on the m= line is ignored") {
    auto r = sdp::parse("v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\na=rtpmap:100 H264/90000\n");
    REQUIRE(r.is_ok());
    CHECK(r->media[0].rtp_formats.size() == 1);
  }
  SUBCASE("a session-level crypto line applies to sections without their own") {
    auto r = sdp::parse(
        "v=0\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n"
        "m=video 5000 RTP/SAVP 96\na=rtpmap:96 VP8/90000\n"
        "m=audio 5002 RTP/SAVP 111\na=rtpmap:111 opus/48000/2\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n");
    REQUIRE(r.is_ok());
    REQUIRE(r->media[0].crypto.size() == 1);
    CHECK(r->media[0].crypto[0].tag == 7);
    REQUIRE(r->media[1].crypto.size() == 1);
    CHECK(r->media[1].crypto[0].suite == "AES_CM_128_HMAC_SHA1_32");
  }
  SUBCASE("a host name as connection address") {
    auto r = sdp::parse("v=0\nc=IN IP4 media-host.example\nm=audio 5000 RTP/AVP 0\n");
    REQUIRE(r.is_ok());
    CHECK(r->connection->address == "media-host.example");
  }
  SUBCASE("no media at all") {
    auto r = sdp::parse("v=0\no=- 0 0 IN IP4 10.0.0.1\ns=x\nt=0 0\n");
    REQUIRE(r.is_ok());
    CHECK(r->media.empty());
  }
}

TEST_CASE("sdp: malformed descriptions name the line and the reason") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "empty description"},
      {"\n\r\n  \n", "empty description"},
      {"o=- 0 0 IN IP4 1.2.3.4\n", "sdp line 1: a description starts with 'v=0'"},
      {"v=1\n", "sdp line 1: a description starts with 'v=0'"},
      {"v=0\nv=0\n", "sdp line 2: second v= line"},
      {"v=0\nthis is not sdp\n", "sdp line 2: expected '<letter>=<value>'"},
      {"v=0\nM=video 1 RTP/AVP 96\n", "sdp line 2: expected '<letter>=<value>'"},
      {"v=0\ns=a\x01z\n", "sdp line 2: contains a control character"},
      {"v=0\nm=video 5000 RTP/AVP\n", "sdp line 2: m= must be '<media> <port> <proto> <fmt>...'"},
      {"v=0\nm=video 70000 RTP/AVP 96\n", "sdp line 2: m= port must be 0..65535"},
      {"v=0\nm=video -1 RTP/AVP 96\n", "sdp line 2: m= port must be 0..65535"},
      {"v=0\nm=video 5000/0 RTP/AVP 96\n", "sdp line 2: m= bad port count"},
      {"v=0\nm=video 5000 RTP/AVP 128\n", "sdp line 2: m= RTP payload type must be 0..127"},
      {"v=0\nm=video 5000 RTP/AVP 96 vp8\n", "sdp line 2: m= RTP payload type must be 0..127"},
      {"v=0\nm=video 5000 RTP/AVP 96 96\n", "sdp line 2: m= lists payload type 96 twice"},
      {"v=0\nc=IN IP4 300.1.1.1\n", "sdp line 2: c= has an invalid IPv4 address"},
      {"v=0\nc=IN IP6 not::an::address\n", "sdp line 2: c= has an invalid IPv6 address"},
      {"v=0\nc=IN IP4\n", "sdp line 2: c= must be '<nettype> <addrtype> <address>'"},
      {"v=0\nc=ATM NSAP 47.0005\n", "sdp line 2: c= network type must be IN"},
      {"v=0\nc=IN IP5 1.2.3.4\n", "sdp line 2: c= address type must be IP4 or IP6"},
      {"v=0\nc=IN IP4 224.1.1.1/300\n", "sdp line 2: c= TTL must be 0..255"},
      {"v=0\nc=IN IP4 224.1.1.1/\n", "sdp line 2: c= address ends with '/'"},
      {"v=0\nc=IN IP4 1.2.3.4\nc=IN IP4 1.2.3.5\n", "sdp line 3: second session-level c= line"},
      {"v=0\nm=audio 5000 RTP/AVP 0\nc=IN IP4 1.2.3.4\nc=IN IP4 1.2.3.5\n",
       "sdp line 4: second c= line in this media section"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8\n", "sdp line 3: a=rtpmap:96 has no clock rate"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 /90000\n", "sdp line 3: a=rtpmap:96 has no encoding name"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/0\n", "sdp line 3: a=rtpmap:96 clock rate must be"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/9x000\n", "sdp line 3: a=rtpmap:96 clock rate must be"},
      {"v=0\nm=audio 5000 RTP/AVP 96\na=rtpmap:96 opus/48000/\n", "sdp line 3: a=rtpmap:96 channels must be 1..255"},
      {"v=0\nm=audio 5000 RTP/AVP 96\na=rtpmap:96 opus/48000/0\n", "sdp line 3: a=rtpmap:96 channels must be 1..255"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:x VP8/90000\n", "sdp line 3: a=rtpmap payload type must be 0..127"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96\n", "sdp line 3: a=rtpmap must be"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\na=rtpmap:96 VP9/90000\n",
       "sdp line 4: second a=rtpmap for payload type 96 (first on line 3)"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=fmtp:96 a=1\na=fmtp:96 b=2\n", "sdp line 4: second a=fmtp for payload type 96"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=fmtp:abc x=1\n", "sdp line 3: a=fmtp payload type must be 0..127"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=crypto:1 AES_CM_128_HMAC_SHA1_80\n", "sdp line 3: a=crypto must be 'tag suite"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=crypto:one AES_CM_128_HMAC_SHA1_80 inline:x\n", "sdp line 3: a=crypto tag"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=crypto:1 A inline:x\na=crypto:1 B inline:y\n",
       "sdp line 4: a=crypto tag 1 appears twice"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtcp:0\n", "sdp line 3: a=rtcp port must be 1..65535"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtcp:5001 IN IP4\n", "sdp line 3: a=rtcp must be"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtcp:5001 IN IP4 1.2.3\n", "sdp line 3: a=rtcp has an invalid IPv4 address"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=rtcp:5001\na=rtcp:5003\n", "sdp line 4: second a=rtcp line"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=ssrc:4294967296 cname:x\n", "sdp line 3: a=ssrc id must be a 32-bit number"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=mid:\n", "sdp line 3: a=mid needs an identifier"},
      {"v=0\nm=video 5000 RTP/AVP 96\na=mid:a\na=mid:b\n", "sdp line 4: second a=mid line"},
      {"v=0\nm=video 5000 RTP/AVP 96\no=- 0 0 IN IP4 1.2.3.4\n", "sdp line 3: o= inside a media section"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = sdp::parse(c.text);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
    CHECK(contains(r.status().message(), c.message));
  }
}

TEST_CASE("sdp: limits") {
  sdp::Limits small;
  small.max_bytes = 100;
  small.max_line = 40;
  small.max_lines = 6;
  small.max_media = 2;
  small.max_attributes = 3;
  auto code_of = [&](std::string_view s) {
    auto r = sdp::parse(s, small);
    REQUIRE_FALSE(r.is_ok());
    return r.status().code();
  };
  CHECK(code_of(std::string(101, '\n')) == ErrorCode::resource_exhausted);
  CHECK(contains(error_of("v=0\ns=" + std::string(50, 'x') + "\n", small), "sdp line 2: longer than 40 bytes"));
  CHECK(contains(error_of("v=0\n\n\n\n\n\n\n", small), "more than 6 lines"));
  CHECK(contains(error_of("v=0\nm=audio 1 RTP/AVP 0\nm=audio 2 RTP/AVP 0\nm=audio 3 RTP/AVP 0\n", small),
                 "sdp line 4: more than 2 m= sections"));
  CHECK(contains(error_of("v=0\nm=audio 1 RTP/AVP 0\na=x\na=y\na=z\na=w\n", small),
                 "sdp line 6: more than 3 attributes in one section"));
  // Exactly at the limits is fine.
  CHECK(sdp::parse("v=0\nm=audio 1 RTP/AVP 0\na=x\na=y\na=z\n", small).is_ok());

  // The default limits take a large but sane description and refuse a huge one.
  std::string big = "v=0\n";
  for (int i = 0; i < 64; ++i) big += "m=audio " + std::to_string(5000 + 2 * i) + " RTP/AVP 0\n";
  CHECK(sdp::parse(big).is_ok());
  big += "m=audio 7000 RTP/AVP 0\n";
  CHECK(sdp::parse(big).status().code() == ErrorCode::resource_exhausted);
  CHECK(sdp::parse(std::string(300 * 1024, 'a')).status().code() == ErrorCode::resource_exhausted);
}

TEST_CASE("sdp: error messages quote at most a short printable excerpt") {
  std::string line = "v=0\nm=video " + std::string(200, '7') + " RTP/AVP 96\n";
  std::string msg = error_of(line);
  CHECK(contains(msg, "m= port must be 0..65535"));
  CHECK(msg.size() < 120);
  msg = error_of(std::string("v=0\nc=IN IP4 \xff\xfe.1.2\n"));
  CHECK(contains(msg, "'??.1.2'"));
}

TEST_CASE("sdp: static payload type table") {
  std::string_view enc;
  uint32_t clock = 0, ch = 0;
  CHECK(sdp::static_payload_type(9, enc, clock, ch));
  CHECK(enc == "G722");
  CHECK(clock == 8000);  // RFC 3551's famous exception
  CHECK(sdp::static_payload_type(34, enc, clock, ch));
  CHECK(enc == "H263");
  CHECK(ch == 0);
  CHECK_FALSE(sdp::static_payload_type(2, enc, clock, ch));
  CHECK_FALSE(sdp::static_payload_type(96, enc, clock, ch));
}

TEST_CASE("sdp: write is parse's inverse for what parse reads") {
  const std::string text =
      "v=0\r\n"
      "o=- 1731132577000 1 IN IP4 10.0.0.5\r\n"
      "s=roomrec replay alice/7\r\n"
      "c=IN IP4 239.1.2.3/16/2\r\n"
      "t=0 0\r\n"
      "m=audio 5004 RTP/SAVP 111 0\r\n"
      "a=rtpmap:111 opus/48000/2\r\n"
      "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
      "a=rtcp:5005 IN IP6 ::1\r\n"
      "a=ssrc:77 cname:alice@host\r\n"
      "a=ssrc:78 cname:alice@host\r\n"
      "a=mid:a0\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
      "m=video 5006/2 RTP/AVP 96\r\n"
      "c=IN IP6 ff15::101/3\r\n"
      "a=rtpmap:96 VP8/90000\r\n"
      "a=rtcp-mux\r\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
  auto d = sdp::parse(text);
  REQUIRE(d.is_ok());
  CHECK(d->origin_session_id == "1731132577000");
  CHECK(d->media[0].cname == "alice@host");
  auto w = sdp::write(*d);
  REQUIRE_MESSAGE(w.is_ok(), w.status().to_string());
  CHECK(*w == text);  // this text is already in the writer's form: byte for byte
  // The static type 0 has no rtpmap and gets none; parse fills it from RFC 3551 again.
  CHECK(d->media[0].rtp_formats[1].encoding == "PCMU");
}

TEST_CASE("sdp: write refuses what parse would refuse or read back differently") {
  sdp::Description d;
  d.origin_address = "127.0.0.1";
  sdp::Media m;
  m.kind = "audio";
  m.port = 5004;
  m.proto = "RTP/AVP";
  sdp::Format f;
  f.payload_type = 111;
  f.encoding = "opus";
  f.clock_rate = 48000;
  f.channels = 2;
  f.has_rtpmap = true;
  m.rtp_formats = {f};
  d.media = {m};
  REQUIRE(sdp::write(d).is_ok());
  auto refused = [](sdp::Description x, const char* what) {
    auto w = sdp::write(x);
    CHECK_MESSAGE(w.status().code() == ErrorCode::invalid_argument, what);
    return w.is_ok() ? std::string() : w.status().message();
  };
  auto x = d;
  x.media[0].rtp_formats[0].fmtp = "a=1\r\na=crypto:evil";
  CHECK(contains(refused(x, "line break in fmtp"), "media 0 fmtp has a control character"));
  x = d;
  x.origin_address = "10.0.0.1/8";
  CHECK(contains(refused(x, "address with a suffix"), "origin_address"));
  x = d;
  x.origin_address = "not an address";
  refused(x, "spaces in an address");
  x = d;
  x.media[0].rtp_formats.push_back(f);
  CHECK(contains(refused(x, "payload type twice"), "repeated"));
  x = d;
  x.media[0].kind = "Audio";
  refused(x, "upper case kind (parse lowers it)");
  x = d;
  x.media[0].rtp_formats[0].channels = 0;
  refused(x, "audio without channels (parse reads 1)");
  x = d;
  x.media[0].cname = "alice";
  CHECK(contains(refused(x, "cname without ssrc"), "needs an ssrc"));
  x = d;
  x.session_name = " padded";
  refused(x, "session name with a space at an end (parse trims it)");
  x = d;
  x.origin_address.clear();
  refused(x, "no origin");
  CHECK(sdp::one_line("a\r\nb\tc ") == "a  b c");
}
