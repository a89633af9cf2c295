#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "rtp/rtp_packet.h"

using namespace roomrec::rtp;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

struct Shape {
  uint8_t pt = 96;
  bool marker = false;
  uint16_t seq = 4660;
  uint32_t ts = 0x01020304;
  uint32_t ssrc = 0xDEADBEEF;
  std::vector<uint32_t> csrcs;
  bool ext = false;
  uint16_t ext_profile = 0xBEDE;
  Bytes ext_data;  // multiple of 4
  size_t payload = 20;
  uint8_t padding = 0;  // 0: P bit clear
};

Bytes build(const Shape& s) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x80 | (s.padding ? 0x20 : 0) | (s.ext ? 0x10 : 0) | s.csrcs.size()));
  b.push_back(static_cast<uint8_t>((s.marker ? 0x80 : 0) | s.pt));
  put16(b, s.seq);
  put32(b, s.ts);
  put32(b, s.ssrc);
  for (uint32_t c : s.csrcs) put32(b, c);
  if (s.ext) {
    put16(b, s.ext_profile);
    put16(b, static_cast<uint16_t>(s.ext_data.size() / 4));
    b.insert(b.end(), s.ext_data.begin(), s.ext_data.end());
  }
  for (size_t i = 0; i < s.payload; ++i) b.push_back(static_cast<uint8_t>(0xA0 + i));
  if (s.padding) {
    for (size_t i = 1; i < s.padding; ++i) b.push_back(0);
    b.push_back(s.padding);
  }
  return b;
}

RtpError error_of(const Bytes& b, size_t n) {
  RtpHeader h;
  RtpError why = RtpError::none;
  CHECK_FALSE(parse_rtp(b.data(), n, h, &why));
  return why;
}

}  // namespace

TEST_CASE("a plain RTP packet parses with every field") {
  Shape s;
  s.marker = true;
  s.pt = 111;
  Bytes b = build(s);
  RtpHeader h;
  RtpError why = RtpError::too_short;
  REQUIRE(parse_rtp(b.data(), b.size(), h, &why));
  CHECK(why == RtpError::none);
  CHECK(h.payload_type == 111);
  CHECK(h.marker);
  CHECK(h.seq == 4660);
  CHECK(h.timestamp == 0x01020304u);
  CHECK(h.ssrc == 0xDEADBEEFu);
  CHECK(h.csrc_count == 0);
  CHECK_FALSE(h.has_extension);
  CHECK(h.extension_size == 0);
  CHECK(h.header_size == 12);
  CHECK(h.payload_offset == 12);
  CHECK(h.payload_size == 20);
  CHECK(h.padding_size == 0);
  CHECK(b[h.payload_offset] == 0xA0);

  // The why pointer is optional; a header-only packet has an empty payload.
  s.payload = 0;
  b = build(s);
  REQUIRE(parse_rtp(b.data(), b.size(), h));
  CHECK(h.payload_size == 0);
}

TEST_CASE("RTP packets of every shape parse") {
  SUBCASE("CSRCs") {
    Shape s;
    s.csrcs = {1, 2, 3};
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.csrc_count == 3);
    CHECK(h.header_size == 24);
    CHECK(h.payload_offset == 24);
    CHECK(h.payload_size == 20);
  }
  SUBCASE("fifteen CSRCs") {
    Shape s;
    for (uint32_t i = 0; i < 15; ++i) s.csrcs.push_back(i);
    s.payload = 0;
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.csrc_count == 15);
    CHECK(h.header_size == 72);
    CHECK(h.payload_size == 0);
  }
  SUBCASE("one-byte header extension") {
    Shape s;
    s.ext = true;
    s.ext_profile = 0xBEDE;
    s.ext_data = {0x10, 0xAB, 0x22, 0x01, 0x02, 0x03, 0x00, 0x00};  // id 1 len 1, id 2 len 3, padding
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.has_extension);
    CHECK(h.extension_profile == 0xBEDE);
    CHECK(is_one_byte_extension(h.extension_profile));
    CHECK_FALSE(is_two_byte_extension(h.extension_profile));
    CHECK(h.extension_offset == 16);
    CHECK(h.extension_size == 8);
    CHECK(b[h.extension_offset] == 0x10);
    CHECK(h.header_size == 24);
    CHECK(h.payload_size == 20);
  }
  SUBCASE("two-byte header extension after CSRCs") {
    Shape s;
    s.csrcs = {7};
    s.ext = true;
    s.ext_profile = 0x1000;
    s.ext_data = {0x05, 0x02, 0xAA, 0xBB};
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.extension_profile == 0x1000);
    CHECK(is_two_byte_extension(h.extension_profile));
    CHECK(h.extension_offset == 20);
    CHECK(h.extension_size == 4);
    CHECK(h.header_size == 24);
    CHECK(h.payload_size == 20);
  }
  SUBCASE("empty extension") {
    Shape s;
    s.ext = true;
    s.payload = 0;
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.extension_size == 0);
    CHECK(h.header_size == 16);
    CHECK(h.payload_size == 0);
  }
  SUBCASE("padding") {
    Shape s;
    s.padding = 4;
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.padding_size == 4);
    CHECK(h.payload_size == 20);
    CHECK(h.header_size + h.payload_size + h.padding_size == b.size());
  }
  SUBCASE("padding only, no payload (a padding probe)") {
    Shape s;
    s.payload = 0;
    s.padding = 255;
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.padding_size == 255);
    CHECK(h.payload_size == 0);
  }
  SUBCASE("everything at once") {
    Shape s;
    s.csrcs = {1, 2};
    s.ext = true;
    s.ext_data.assign(12, 0);
    s.padding = 3;
    s.payload = 100;
    Bytes b = build(s);
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.header_size == 12 + 8 + 4 + 12);
    CHECK(h.extension_offset == 24);
    CHECK(h.payload_size == 100);
    CHECK(h.padding_size == 3);
    CHECK(b[h.payload_offset] == 0xA0);
  }
}

TEST_CASE("truncated RTP packets are rejected at every length below the header") {
  Shape s;
  s.csrcs = {1, 2};
  s.ext = true;
  s.ext_data.assign(8, 0x11);
  s.payload = 0;
  Bytes b = build(s);
  const size_t header = 12 + 8 + 4 + 8;
  REQUIRE(b.size() == header);
  RtpHeader h;
  REQUIRE(parse_rtp(b.data(), b.size(), h));
  for (size_t n = 0; n < header; ++n) {
    CAPTURE(n);
    RtpError e = error_of(b, n);
    if (n < 12)
      CHECK(e == RtpError::too_short);
    else if (n < 20)
      CHECK(e == RtpError::csrc_overflow);
    else
      CHECK(e == RtpError::extension_overflow);
  }
  // A null pointer is just too short.
  RtpError why = RtpError::none;
  CHECK_FALSE(parse_rtp(nullptr, 0, h, &why));
  CHECK(why == RtpError::too_short);
}

TEST_CASE("malformed RTP packets are rejected with the right reason") {
  SUBCASE("version 0, 1, 3") {
    for (int v : {0, 1, 3}) {
      Bytes b = build(Shape{});
      b[0] = static_cast<uint8_t>((b[0] & 0x3F) | (v << 6));
      CHECK(error_of(b, b.size()) == RtpError::bad_version);
    }
  }
  SUBCASE("CSRC count beyond the length") {
    Shape s;
    s.payload = 8;
    Bytes b = build(s);
    b[0] = static_cast<uint8_t>(0x80 | 3);  // needs 12 bytes of CSRCs, has 8
    CHECK(error_of(b, b.size()) == RtpError::csrc_overflow);
    b[0] = static_cast<uint8_t>(0x80 | 2);  // exactly fits
    RtpHeader h;
    CHECK(parse_rtp(b.data(), b.size(), h));
  }
  SUBCASE("extension length beyond the packet") {
    Shape s;
    s.ext = true;
    s.ext_data.assign(8, 0);
    s.payload = 4;
    Bytes b = build(s);
    b[15] = 4;  // claims 16 bytes of extension data, 12 remain
    CHECK(error_of(b, b.size()) == RtpError::extension_overflow);
    b[14] = 0xFF;  // 0xFF04 words: far beyond
    CHECK(error_of(b, b.size()) == RtpError::extension_overflow);
    b[14] = 0;
    b[15] = 3;  // 12 bytes: exactly fits, no payload
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.payload_size == 0);
  }
  SUBCASE("extension bit set but no room for the extension header") {
    Shape s;
    s.payload = 3;
    Bytes b = build(s);
    b[0] |= 0x10;
    CHECK(error_of(b, b.size()) == RtpError::extension_overflow);
  }
  SUBCASE("padding count 0") {
    Shape s;
    s.padding = 4;
    Bytes b = build(s);
    b.back() = 0;
    CHECK(error_of(b, b.size()) == RtpError::bad_padding);
  }
  SUBCASE("padding larger than the payload area") {
    Shape s;
    s.padding = 4;
    s.payload = 2;
    Bytes b = build(s);  // payload area = 6 bytes
    b.back() = 7;
    CHECK(error_of(b, b.size()) == RtpError::bad_padding);
    b.back() = 6;  // exactly the payload area: allowed
    RtpHeader h;
    REQUIRE(parse_rtp(b.data(), b.size(), h));
    CHECK(h.payload_size == 0);
    CHECK(h.padding_size == 6);
  }
  SUBCASE("padding bit on a header-only packet") {
    Shape s;
    s.payload = 0;
    Bytes b = build(s);
    b[0] |= 0x20;
    CHECK(error_of(b, b.size()) == RtpError::bad_padding);  // the count byte would be inside the header
  }
  SUBCASE("padding may not reach into the extension") {
    Shape s;
    s.ext = true;
    s.ext_data.assign(4, 9);
    s.payload = 0;
    s.padding = 1;
    Bytes b = build(s);
    b.back() = 2;
    CHECK(error_of(b, b.size()) == RtpError::bad_padding);
  }
}

TEST_CASE("error names") {
  CHECK(std::string(rtp_error_name(RtpError::none)) == "none");
  CHECK(std::string(rtp_error_name(RtpError::too_short)) == "too_short");
  CHECK(std::string(rtp_error_name(RtpError::bad_version)) == "bad_version");
  CHECK(std::string(rtp_error_name(RtpError::csrc_overflow)) == "csrc_overflow");
  CHECK(std::string(rtp_error_name(RtpError::extension_overflow)) == "extension_overflow");
  CHECK(std::string(rtp_error_name(RtpError::bad_padding)) == "bad_padding");
  CHECK(std::string(rtp_error_name(RtpError::not_rtcp)) == "not_rtcp");
}

TEST_CASE("random bytes never crash and accepted packets are self-consistent") {
  std::mt19937 rng(12345);
  Bytes buf(2048);
  size_t accepted = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    size_t n = rng() % 300;
    // Exact-size heap copy so a read past the end would hit the allocation edge (ASan).
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (n > 0 && (iter & 1)) b[0] = static_cast<uint8_t>(0x80 | (b[0] & 0x3F));  // version 2 half the time
    RtpHeader h;
    RtpError why = RtpError::none;
    if (parse_rtp(b.data(), n, h, &why)) {
      ++accepted;
      REQUIRE(why == RtpError::none);
      REQUIRE(h.header_size >= 12);
      REQUIRE(h.header_size + h.payload_size + h.padding_size == n);
      REQUIRE(h.extension_offset + h.extension_size <= h.header_size);
    } else {
      REQUIRE(why != RtpError::none);
    }
    (void)validate_rtcp_compound(b.data(), n, &why);
    (void)looks_like_rtcp(b.data(), n);
  }
  CHECK(accepted > 1000);
}

TEST_CASE("sequence number helpers wrap around 65535 -> 0") {
  CHECK(seq_diff(0, 65535) == 1);
  CHECK(seq_diff(5, 65530) == 11);
  CHECK(seq_diff(65530, 5) == 65525);
  CHECK(seq_diff(7, 7) == 0);

  CHECK(seq_delta(65535, 0) == 1);
  CHECK(seq_delta(0, 65535) == -1);
  CHECK(seq_delta(65530, 5) == 11);
  CHECK(seq_delta(5, 65530) == -11);
  CHECK(seq_delta(100, 100) == 0);
  CHECK(seq_delta(0, 32767) == 32767);
  CHECK(seq_delta(0, 32768) == -32768);
  CHECK(seq_delta(1, 32768) == 32767);
  CHECK(seq_delta(65535, 32766) == 32767);

  CHECK(seq_newer(0, 65535));
  CHECK_FALSE(seq_newer(65535, 0));
  CHECK(seq_newer(10, 65000));
  CHECK_FALSE(seq_newer(65000, 10));
  CHECK(seq_newer(2, 1));
  CHECK_FALSE(seq_newer(1, 2));
  CHECK_FALSE(seq_newer(9, 9));
  // Exactly half way apart: neither is newer (never both).
  CHECK_FALSE(seq_newer(32768, 0));
  CHECK_FALSE(seq_newer(0, 32768));

  // Walk across the wrap: every step is +1 and newer.
  uint16_t s = 65530;
  for (int i = 0; i < 11; ++i) {
    uint16_t next = static_cast<uint16_t>(s + 1);
    CHECK(seq_delta(s, next) == 1);
    CHECK(seq_newer(next, s));
    s = next;
  }
  CHECK(s == 5);

  static_assert(seq_delta(65535, 0) == 1);
  static_assert(seq_newer(0, 65535));
}

// ---- RTCP -----------------------------------------------------------------

namespace {

Bytes rtcp_sr(uint8_t rc = 0, bool padding = false) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x80 | (padding ? 0x20 : 0) | rc));
  b.push_back(200);
  put16(b, static_cast<uint16_t>(6 + 6 * rc));
  put32(b, 0x11223344);  // SSRC
  put32(b, 0xE0000000);  // NTP msw
  put32(b, 0);           // NTP lsw
  put32(b, 90000);       // RTP ts
  put32(b, 10);          // packets
  put32(b, 1000);        // octets
  for (int i = 0; i < rc * 6; ++i) put32(b, static_cast<uint32_t>(i));
  return b;
}

Bytes rtcp_sdes(bool padding = false) {
  // One chunk: SSRC, CNAME "abcdef", END + pad to a word.
  Bytes b = {static_cast<uint8_t>(0x81 | (padding ? 0x20 : 0)), 202, 0, 0};
  put32(b, 0x11223344);
  b.push_back(1);  // CNAME
  b.push_back(6);
  for (char c : std::string("abcdef")) b.push_back(static_cast<uint8_t>(c));
  b.push_back(0);  // END
  while (b.size() % 4) b.push_back(0);
  if (padding) {
    b.push_back(0);
    b.push_back(0);
    b.push_back(0);
    b.push_back(4);
  }
  b[3] = static_cast<uint8_t>(b.size() / 4 - 1);
  return b;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

RtpError rtcp_error(const Bytes& b) {
  RtpError why = RtpError::none;
  CHECK_FALSE(validate_rtcp_compound(b.data(), b.size(), &why));
  return why;
}

}  // namespace

TEST_CASE("RTCP demultiplexing by the second byte (RFC 5761)") {
  for (int pt = 0; pt < 256; ++pt) {
    uint8_t b[2] = {0x80, static_cast<uint8_t>(pt)};
    CHECK(looks_like_rtcp(b, 2) == (pt >= 192 && pt <= 223));
  }
  uint8_t one[1] = {0x80};
  CHECK_FALSE(looks_like_rtcp(one, 1));
  CHECK_FALSE(looks_like_rtcp(nullptr, 0));
  Bytes sr = rtcp_sr();
  CHECK(looks_like_rtcp(sr.data(), sr.size()));
  Bytes rtp = build(Shape{});
  CHECK_FALSE(looks_like_rtcp(rtp.data(), rtp.size()));
}

TEST_CASE("good RTCP compounds validate") {
  RtpError why = RtpError::too_short;
  Bytes c = concat(rtcp_sr(1), rtcp_sdes());
  CHECK(validate_rtcp_compound(c.data(), c.size(), &why));
  CHECK(why == RtpError::none);

  Bytes rr = {0x80, 201, 0, 1, 0, 0, 0, 1};  // RR with no report blocks
  CHECK(validate_rtcp_compound(rr.data(), rr.size()));
  Bytes c2 = concat(concat(rr, rtcp_sdes()), Bytes{0x80, 203, 0, 1, 0, 0, 0, 9});  // + BYE
  CHECK(validate_rtcp_compound(c2.data(), c2.size()));

  // Reduced-size RTCP (RFC 5506): a lone PLI (PSFB 206, FMT 1).
  Bytes pli = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
  CHECK(validate_rtcp_compound(pli.data(), pli.size()));

  // Padding on the last packet.
  Bytes padded = concat(rtcp_sr(), rtcp_sdes(true));
  CHECK(validate_rtcp_compound(padded.data(), padded.size()));
}

TEST_CASE("bad RTCP compounds are rejected") {
  const Bytes good = concat(rtcp_sr(1), rtcp_sdes());
  SUBCASE("bad length: too long") {
    Bytes b = good;
    b[3] = static_cast<uint8_t>(b[3] + 1);  // the next "header" is the SDES SSRC
    RtpError e = rtcp_error(b);
    CHECK((e == RtpError::bad_version || e == RtpError::too_short));
    b[2] = 0x10;  // far past the end
    CHECK(rtcp_error(b) == RtpError::too_short);
  }
  SUBCASE("bad length: too short leaves garbage that is not a packet") {
    Bytes b = good;
    b[3] = static_cast<uint8_t>(b[3] - 1);  // the next "header" is the SR's last report word
    RtpError e = rtcp_error(b);
    CHECK((e == RtpError::bad_version || e == RtpError::too_short));
  }
  SUBCASE("bad length on the last packet") {
    Bytes b = good;
    size_t sdes_at = rtcp_sr(1).size();
    b[sdes_at + 3] = static_cast<uint8_t>(b[sdes_at + 3] + 5);
    CHECK(rtcp_error(b) == RtpError::too_short);
  }
  SUBCASE("wrong version in the first or a later packet") {
    Bytes b = good;
    b[0] = static_cast<uint8_t>(b[0] & 0x3F);
    CHECK(rtcp_error(b) == RtpError::bad_version);
    b = good;
    b[rtcp_sr(1).size()] = static_cast<uint8_t>(0x40 | (b[rtcp_sr(1).size()] & 0x3F));
    CHECK(rtcp_error(b) == RtpError::bad_version);
  }
  SUBCASE("truncated at every length") {
    for (size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      RtpError why = RtpError::none;
      bool ok = validate_rtcp_compound(good.data(), n, &why);
      // Cutting exactly after the SR leaves a valid compound of one packet.
      if (n == rtcp_sr(1).size()) {
        CHECK(ok);
      } else {
        CHECK_FALSE(ok);
        CHECK(why == RtpError::too_short);
      }
    }
  }
  SUBCASE("trailing bytes after the last packet") {
    Bytes b = concat(good, Bytes{0x80, 0});
    CHECK(rtcp_error(b) == RtpError::too_short);
  }
  SUBCASE("first packet not an RTCP type") {
    Bytes b = good;
    b[1] = 96;
    CHECK(rtcp_error(b) == RtpError::not_rtcp);
  }
  SUBCASE("padding on a packet that is not the last") {
    Bytes b = concat(rtcp_sr(0, true), rtcp_sdes());
    CHECK(rtcp_error(b) == RtpError::bad_padding);
  }
  SUBCASE("padding count 0 or beyond the packet") {
    Bytes b = concat(rtcp_sr(), rtcp_sdes(true));
    b.back() = 0;
    CHECK(rtcp_error(b) == RtpError::bad_padding);
    b.back() = static_cast<uint8_t>(rtcp_sdes(true).size() - 3);  // would eat the SDES header
    CHECK(rtcp_error(b) == RtpError::bad_padding);
  }
}
