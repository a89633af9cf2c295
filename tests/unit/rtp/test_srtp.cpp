#include <doctest/doctest.h>

#include <roomrec/srtp.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "util/base64.h"

using namespace roomrec;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr SrtpProfile kAllProfiles[] = {SrtpProfile::aes_cm_128_hmac_sha1_80, SrtpProfile::aes_cm_128_hmac_sha1_32,
                                        SrtpProfile::aead_aes_128_gcm, SrtpProfile::aead_aes_256_gcm};

SrtpKey random_key(SrtpProfile profile, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes k(srtp_key_salt_length(profile));
  for (auto& b : k) b = static_cast<uint8_t>(rng());
  auto r = SrtpKey::from_bytes(profile, k.data(), k.size());
  REQUIRE(r.is_ok());
  return *r;
}

std::unique_ptr<SrtpSession> session(const SrtpKey& key, SrtpSession::Direction dir, size_t window = 1024) {
  auto r = SrtpSession::create(key, dir, window);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return std::move(r).value();
}

Bytes rtp_packet(uint16_t seq, uint32_t ssrc, size_t payload, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes p = {0x80, 96, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq),
             0, 0, 0x30, 0x39,
             static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16), static_cast<uint8_t>(ssrc >> 8),
             static_cast<uint8_t>(ssrc)};
  for (size_t i = 0; i < payload; ++i) p.push_back(static_cast<uint8_t>(rng()));
  return p;
}

Bytes rtcp_sr_sdes(uint32_t ssrc) {
  Bytes b = {0x80, 200, 0, 6};
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(ssrc >> s));
  for (int i = 0; i < 20; ++i) b.push_back(static_cast<uint8_t>(i));
  Bytes sdes = {0x81, 202, 0, 3};
  for (int s = 24; s >= 0; s -= 8) sdes.push_back(static_cast<uint8_t>(ssrc >> s));
  for (uint8_t c : std::initializer_list<uint8_t>{1, 4, 'r', 'o', 'o', 'm', 0, 0}) sdes.push_back(c);
  b.insert(b.end(), sdes.begin(), sdes.end());
  return b;
}

// A packet in a buffer with exactly `spare` writable bytes after it, followed
// by a canary that protect must never touch.
struct Framed {
  static constexpr size_t kCanary = 32;
  Bytes buf;
  size_t n;
  size_t capacity;
  Framed(const Bytes& p, size_t spare) : buf(p.size() + spare + kCanary, 0xEE), n(p.size()), capacity(p.size() + spare) {
    std::memcpy(buf.data(), p.data(), p.size());
  }
  bool canary_intact() const {
    for (size_t i = capacity; i < buf.size(); ++i)
      if (buf[i] != 0xEE) return false;
    return true;
  }
  Bytes bytes() const { return Bytes(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n)); }
};

Bytes protect_rtp(SrtpSession& s, const Bytes& p) {
  Framed f(p, s.rtp_overhead());
  Status st = s.protect_rtp(f.buf.data(), f.n, f.capacity);
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  CHECK(f.n == p.size() + s.rtp_overhead());
  CHECK(f.canary_intact());
  return f.bytes();
}

Bytes protect_rtcp(SrtpSession& s, const Bytes& p) {
  Framed f(p, s.rtcp_overhead());
  Status st = s.protect_rtcp(f.buf.data(), f.n, f.capacity);
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  CHECK(f.n == p.size() + s.rtcp_overhead());
  CHECK(f.canary_intact());
  return f.bytes();
}

Status unprotect_rtp(SrtpSession& s, Bytes& p) {
  size_t n = p.size();
  Status st = s.unprotect_rtp(p.data(), n);
  if (st) p.resize(n);
  return st;
}

Status unprotect_rtcp(SrtpSession& s, Bytes& p) {
  size_t n = p.size();
  Status st = s.unprotect_rtcp(p.data(), n);
  if (st) p.resize(n);
  return st;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Bytes hex(std::string_view h) {
  Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

using Dir = SrtpSession::Direction;

}  // namespace

TEST_CASE("profile names, lengths and overheads") {
  CHECK(std::string(srtp_profile_name(SrtpProfile::aes_cm_128_hmac_sha1_80)) == "AES_CM_128_HMAC_SHA1_80");
  CHECK(std::string(srtp_profile_name(SrtpProfile::aes_cm_128_hmac_sha1_32)) == "AES_CM_128_HMAC_SHA1_32");
  CHECK(std::string(srtp_profile_name(SrtpProfile::aead_aes_128_gcm)) == "AEAD_AES_128_GCM");
  CHECK(std::string(srtp_profile_name(SrtpProfile::aead_aes_256_gcm)) == "AEAD_AES_256_GCM");
  for (SrtpProfile p : kAllProfiles) CHECK(srtp_profile_from_name(srtp_profile_name(p)) == p);
  CHECK(srtp_profile_from_name("SRTP_AES128_CM_SHA1_80") == SrtpProfile::aes_cm_128_hmac_sha1_80);
  CHECK(srtp_profile_from_name("SRTP_AES128_CM_SHA1_32") == SrtpProfile::aes_cm_128_hmac_sha1_32);
  CHECK(srtp_profile_from_name("SRTP_AEAD_AES_128_GCM") == SrtpProfile::aead_aes_128_gcm);
  CHECK(srtp_profile_from_name("SRTP_AEAD_AES_256_GCM") == SrtpProfile::aead_aes_256_gcm);
  CHECK_FALSE(srtp_profile_from_name("F8_128_HMAC_SHA1_80").has_value());
  CHECK_FALSE(srtp_profile_from_name("").has_value());
  CHECK_FALSE(srtp_profile_from_name("aes_cm_128_hmac_sha1_80").has_value());

  CHECK(srtp_key_salt_length(SrtpProfile::aes_cm_128_hmac_sha1_80) == 30);
  CHECK(srtp_key_salt_length(SrtpProfile::aes_cm_128_hmac_sha1_32) == 30);
  CHECK(srtp_key_salt_length(SrtpProfile::aead_aes_128_gcm) == 28);
  CHECK(srtp_key_salt_length(SrtpProfile::aead_aes_256_gcm) == 44);
  CHECK(srtp_rtp_overhead(SrtpProfile::aes_cm_128_hmac_sha1_80) == 10);
  CHECK(srtp_rtp_overhead(SrtpProfile::aes_cm_128_hmac_sha1_32) == 4);
  CHECK(srtp_rtp_overhead(SrtpProfile::aead_aes_128_gcm) == 16);
  CHECK(srtp_rtp_overhead(SrtpProfile::aead_aes_256_gcm) == 16);
  CHECK(srtp_rtcp_overhead(SrtpProfile::aes_cm_128_hmac_sha1_80) == 14);
  CHECK(srtp_rtcp_overhead(SrtpProfile::aes_cm_128_hmac_sha1_32) == 14);
  CHECK(srtp_rtcp_overhead(SrtpProfile::aead_aes_128_gcm) == 20);
  CHECK(srtp_rtcp_overhead(SrtpProfile::aead_aes_256_gcm) == 20);
}

TEST_CASE("every profile: RTP and RTCP round trip byte-exact") {
  for (SrtpProfile profile : kAllProfiles) {
    CAPTURE(srtp_profile_name(profile));
    SrtpKey key = random_key(profile, 7);
    auto tx = session(key, Dir::protect);
    auto rx = session(key, Dir::unprotect);
    uint64_t sent = 0;
    // Two SSRCs, sequence numbers running across the 65535 -> 0 wrap (ROC).
    for (uint32_t ssrc : {0x11111111u, 0x22222222u}) {
      for (int i = 0; i < 40; ++i) {
        uint16_t seq = static_cast<uint16_t>(65515 + i);
        Bytes plain = rtp_packet(seq, ssrc, static_cast<size_t>(i * 37 % 1200), static_cast<uint32_t>(i));
        Bytes wire = protect_rtp(*tx, plain);
        CHECK(wire != plain);
        CHECK(std::equal(plain.begin(), plain.begin() + 12, wire.begin()));  // header in the clear
        Status st = unprotect_rtp(*rx, wire);
        REQUIRE_MESSAGE(st.is_ok(), st.to_string());
        CHECK(wire == plain);
        ++sent;
      }
      Bytes rtcp = rtcp_sr_sdes(ssrc);
      for (int i = 0; i < 3; ++i) {
        Bytes wire = protect_rtcp(*tx, rtcp);
        Status st = unprotect_rtcp(*rx, wire);
        REQUIRE_MESSAGE(st.is_ok(), st.to_string());
        CHECK(wire == rtcp);
        ++sent;
      }
    }
    CHECK(tx->stats().ok == sent);
    CHECK(rx->stats().ok == sent);
    CHECK(rx->stats().auth_fail == 0);
    CHECK(rx->stats().replay_fail == 0);
    CHECK(rx->stats().other_fail == 0);
    CHECK(rx->profile() == profile);
    CHECK(rx->direction() == Dir::unprotect);
  }
}

TEST_CASE("every profile: a tampered byte is an auth failure, counted, and does not poison the stream") {
  for (SrtpProfile profile : kAllProfiles) {
    CAPTURE(srtp_profile_name(profile));
    SrtpKey key = random_key(profile, 8);
    auto tx = session(key, Dir::protect);
    auto rx = session(key, Dir::unprotect);
    Bytes plain = rtp_packet(1000, 0xABCDEF01, 160, 1);
    Bytes wire = protect_rtp(*tx, plain);
    uint64_t fails = 0;
    // Flip one bit in the header, the encrypted payload and the tag.
    for (size_t at : {size_t{1}, size_t{8}, size_t{12}, size_t{100}, wire.size() - 1}) {
      CAPTURE(at);
      Bytes bad = wire;
      bad[at] ^= 0x04;
      Status st = unprotect_rtp(*rx, bad);
      CHECK(st.code() == ErrorCode::permission_denied);
      CHECK(st.message() == "srtp auth fail");
      CHECK(rx->stats().auth_fail == ++fails);
    }
    // The genuine packet is still accepted afterwards.
    Bytes good = wire;
    REQUIRE(unprotect_rtp(*rx, good).is_ok());
    CHECK(good == plain);

    // RTCP too.
    Bytes rtcp = rtcp_sr_sdes(0xABCDEF01);
    Bytes swire = protect_rtcp(*tx, rtcp);
    Bytes sbad = swire;
    sbad[10] ^= 0x80;
    Status st = unprotect_rtcp(*rx, sbad);
    CHECK(st.code() == ErrorCode::permission_denied);
    CHECK(st.message() == "srtp auth fail");
    CHECK(rx->stats().auth_fail == ++fails);
    REQUIRE(unprotect_rtcp(*rx, swire).is_ok());
    CHECK(swire == rtcp);

    // A session with another key cannot read anything.
    auto other = session(random_key(profile, 9), Dir::unprotect);
    Bytes again = protect_rtp(*tx, rtp_packet(1001, 0xABCDEF01, 50, 2));
    CHECK(unprotect_rtp(*other, again).code() == ErrorCode::permission_denied);
    CHECK(other->stats().auth_fail == 1);
    CHECK(other->stats().ok == 0);
  }
}

TEST_CASE("every profile: a replayed packet is rejected as replay and counted") {
  for (SrtpProfile profile : kAllProfiles) {
    CAPTURE(srtp_profile_name(profile));
    SrtpKey key = random_key(profile, 10);
    auto tx = session(key, Dir::protect);
    auto rx = session(key, Dir::unprotect, 64);
    Bytes wire = protect_rtp(*tx, rtp_packet(500, 0x5, 100, 3));
    Bytes first = wire;
    REQUIRE(unprotect_rtp(*rx, first).is_ok());
    Bytes second = wire;
    Status st = unprotect_rtp(*rx, second);
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(contains(st.message(), "replay"));
    CHECK(rx->stats().replay_fail == 1);

    // Reordering inside the window is fine; far behind it is "too old".
    std::vector<Bytes> later;
    for (uint16_t s = 501; s < 700; ++s) later.push_back(protect_rtp(*tx, rtp_packet(s, 0x5, 20, s)));
    for (size_t i = 1; i < later.size(); ++i) REQUIRE(unprotect_rtp(*rx, later[i]).is_ok());
    Bytes reordered = later[0];  // seq 501, now 198 behind with a 64-packet window
    st = unprotect_rtp(*rx, reordered);
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(contains(st.message(), "replay"));
    CHECK(rx->stats().replay_fail == 2);

    // SRTCP replay.
    Bytes swire = protect_rtcp(*tx, rtcp_sr_sdes(0x5));
    Bytes s1 = swire, s2 = swire;
    REQUIRE(unprotect_rtcp(*rx, s1).is_ok());
    st = unprotect_rtcp(*rx, s2);
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(contains(st.message(), "replay"));
    CHECK(rx->stats().replay_fail == 3);
    CHECK(rx->stats().auth_fail == 0);

    // The sender refuses to protect one sequence number twice (keystream reuse).
    Framed f(rtp_packet(600, 0x5, 20, 1), tx->rtp_overhead());
    st = tx->protect_rtp(f.buf.data(), f.n, f.capacity);
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(contains(st.message(), "replay"));
    CHECK(tx->stats().replay_fail == 1);
  }
}

TEST_CASE("misuse and garbage give clear errors, never crashes") {
  SrtpKey key = random_key(SrtpProfile::aes_cm_128_hmac_sha1_80, 11);
  auto tx = session(key, Dir::protect);
  auto rx = session(key, Dir::unprotect);

  SUBCASE("protect with too little room") {
    Bytes plain = rtp_packet(1, 1, 40, 1);
    Framed f(plain, tx->rtp_overhead() - 1);
    Status st = tx->protect_rtp(f.buf.data(), f.n, f.capacity);
    CHECK(st.code() == ErrorCode::resource_exhausted);
    CHECK(f.n == plain.size());
    CHECK(f.canary_intact());
    CHECK(f.bytes() == plain);  // untouched
    Framed g(rtcp_sr_sdes(1), tx->rtcp_overhead() - 1);
    CHECK(tx->protect_rtcp(g.buf.data(), g.n, g.capacity).code() == ErrorCode::resource_exhausted);
    size_t n = plain.size();
    CHECK(tx->protect_rtp(f.buf.data(), n, 3).code() == ErrorCode::resource_exhausted);  // capacity < n
    CHECK(tx->stats().other_fail == 3);
  }
  SUBCASE("wrong direction") {
    Bytes p = rtp_packet(1, 1, 40, 1);
    size_t n = p.size();
    CHECK(rx->protect_rtp(p.data(), n, n + 100).code() == ErrorCode::unsupported);
    CHECK(rx->protect_rtcp(p.data(), n, n + 100).code() == ErrorCode::unsupported);
    CHECK(tx->unprotect_rtp(p.data(), n).code() == ErrorCode::unsupported);
    CHECK(tx->unprotect_rtcp(p.data(), n).code() == ErrorCode::unsupported);
    CHECK(rx->stats().other_fail == 2);
    CHECK(tx->stats().other_fail == 2);
  }
  SUBCASE("short or not RTP") {
    for (size_t n = 0; n < 12; ++n) {
      Bytes p = rtp_packet(1, 1, 0, 1);
      size_t len = n;
      CHECK(rx->unprotect_rtp(p.data(), len).code() == ErrorCode::corrupt);
    }
    size_t zero = 0;
    CHECK(rx->unprotect_rtp(nullptr, zero).code() == ErrorCode::corrupt);
    Bytes p = rtp_packet(1, 1, 30, 1);
    p[0] = 0x40;  // version 1
    size_t n = p.size();
    CHECK(rx->unprotect_rtp(p.data(), n).code() == ErrorCode::corrupt);
    // Header valid but too short for a tag.
    Bytes q = rtp_packet(1, 1, 4, 1);
    n = q.size();
    Status st = rx->unprotect_rtp(q.data(), n);
    CHECK_FALSE(st.is_ok());
    CHECK(st.code() != ErrorCode::ok);
  }
  SUBCASE("random bytes") {
    std::mt19937 rng(99);
    for (int i = 0; i < 3000; ++i) {
      Bytes p(rng() % 200);
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      if (!p.empty() && (i & 1)) p[0] = static_cast<uint8_t>(0x80 | (p[0] & 0x3F));
      size_t n = p.size();
      if (i % 3 == 0)
        CHECK_FALSE(rx->unprotect_rtcp(p.data(), n).is_ok());
      else
        CHECK_FALSE(rx->unprotect_rtp(p.data(), n).is_ok());
    }
    SrtpStats s = rx->stats();
    CHECK(s.ok == 0);
    CHECK(s.auth_fail + s.replay_fail + s.other_fail == 3000);
  }
}

TEST_CASE("create refuses bad keys and windows") {
  SrtpKey key = random_key(SrtpProfile::aes_cm_128_hmac_sha1_80, 12);
  key.key_salt.pop_back();
  auto r = SrtpSession::create(key, Dir::unprotect);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(contains(r.status().message(), "30 bytes"));

  key = random_key(SrtpProfile::aead_aes_256_gcm, 12);
  CHECK(SrtpSession::create(key, Dir::unprotect, 63).status().code() == ErrorCode::invalid_argument);
  CHECK(SrtpSession::create(key, Dir::unprotect, 32768).status().code() == ErrorCode::invalid_argument);
  CHECK(SrtpSession::create(key, Dir::unprotect, 64).is_ok());
  CHECK(SrtpSession::create(key, Dir::unprotect, 32767).is_ok());

  CHECK(SrtpKey::from_bytes(SrtpProfile::aead_aes_128_gcm, key.key_salt.data(), 44).status().code() ==
        ErrorCode::invalid_argument);
}

// ---- known answers (libsrtp's own srtp_validate vectors) ---------------------

TEST_CASE("AES_CM_128_HMAC_SHA1_80 known answer, key given as SDES") {
  const Bytes key_bytes = hex("e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6");
  const std::string attr = "1 AES_CM_128_HMAC_SHA1_80 inline:" + util::base64_encode(key_bytes.data(), key_bytes.size());
  auto key = SrtpKey::from_sdes(attr);
  REQUIRE_MESSAGE(key.is_ok(), key.status().to_string());
  CHECK(key->key_salt == key_bytes);
  CHECK(key->to_sdes() == attr);

  const Bytes rtp_plain = hex("800f1234decafbadcafebabeabababababababababababababababab");
  const Bytes srtp_ref = hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
  const Bytes rtcp_plain = hex("81c8000bcafebabeabababababababababababababababab");
  const Bytes srtcp_ref = hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798");

  auto tx = session(*key, Dir::protect);
  CHECK(protect_rtp(*tx, rtp_plain) == srtp_ref);
  CHECK(protect_rtcp(*tx, rtcp_plain) == srtcp_ref);

  auto rx = session(*key, Dir::unprotect);
  Bytes p = srtp_ref;
  REQUIRE(unprotect_rtp(*rx, p).is_ok());
  CHECK(p == rtp_plain);
  Bytes q = srtcp_ref;
  REQUIRE(unprotect_rtcp(*rx, q).is_ok());
  CHECK(q == rtcp_plain);
}

TEST_CASE("AEAD_AES_128_GCM known answer") {
  const Bytes key_bytes = hex("000102030405060708090a0b0c0d0e0fa0a1a2a3a4a5a6a7a8a9aaab");
  auto key = SrtpKey::from_sdes_inline(SrtpProfile::aead_aes_128_gcm,
                                       "inline:" + util::base64_encode(key_bytes.data(), key_bytes.size()));
  REQUIRE_MESSAGE(key.is_ok(), key.status().to_string());
  const Bytes rtp_plain = hex("800f1234decafbadcafebabeabababababababababababababababab");
  const Bytes srtp_ref =
      hex("800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392");
  const Bytes rtcp_plain = hex("81c8000bcafebabeabababababababababababababababab");
  const Bytes srtcp_ref =
      hex("81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001");

  auto tx = session(*key, Dir::protect);
  CHECK(protect_rtp(*tx, rtp_plain) == srtp_ref);
  CHECK(protect_rtcp(*tx, rtcp_plain) == srtcp_ref);
  auto rx = session(*key, Dir::unprotect);
  Bytes p = srtp_ref;
  REQUIRE(unprotect_rtp(*rx, p).is_ok());
  CHECK(p == rtp_plain);
  Bytes q = srtcp_ref;
  REQUIRE(unprotect_rtcp(*rx, q).is_ok());
  CHECK(q == rtcp_plain);
}

// ---- SDES -----------------------------------------------------------------------

TEST_CASE("SDES: a valid inline key of the right length works for each suite") {
  for (SrtpProfile profile : kAllProfiles) {
    CAPTURE(srtp_profile_name(profile));
    SrtpKey k = random_key(profile, 13);
    const std::string inl = k.to_sdes_inline();
    CHECK(inl.rfind("inline:", 0) == 0);

    auto a = SrtpKey::from_sdes_inline(profile, inl);
    REQUIRE_MESSAGE(a.is_ok(), a.status().to_string());
    CHECK(a->profile == profile);
    CHECK(a->key_salt == k.key_salt);
    // The prefix is optional for the separate-profile form; lifetimes are accepted.
    CHECK(SrtpKey::from_sdes_inline(profile, inl.substr(7)).is_ok());
    CHECK(SrtpKey::from_sdes_inline(profile, inl + "|2^31").is_ok());
    CHECK(SrtpKey::from_sdes_inline(profile, inl + "|1048576").is_ok());

    auto b = SrtpKey::from_sdes(k.to_sdes(3));
    REQUIRE_MESSAGE(b.is_ok(), b.status().to_string());
    CHECK(b->profile == profile);
    CHECK(b->key_salt == k.key_salt);
    CHECK(SrtpKey::from_sdes(std::string("a=crypto:2 ") + srtp_profile_name(profile) + " " + inl + "\r\n").is_ok());

    // The parsed key actually works.
    auto tx = session(*b, Dir::protect);
    auto rx = session(k, Dir::unprotect);
    Bytes plain = rtp_packet(9, 9, 99, 9);
    Bytes wire = protect_rtp(*tx, plain);
    REQUIRE(unprotect_rtp(*rx, wire).is_ok());
    CHECK(wire == plain);
  }
}

TEST_CASE("SDES: the RFC 4568 example key") {
  // RFC 4568 section 4 example: with an MKI, which we do not support.
  auto with_mki = SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32");
  REQUIRE_FALSE(with_mki.is_ok());
  CHECK(with_mki.status().code() == ErrorCode::unsupported);
  CHECK(contains(with_mki.status().message(), "MKI"));
  CHECK_FALSE(contains(with_mki.status().message(), "PS1uQCVe"));  // never echo key material

  auto inl = SrtpKey::from_sdes_inline(SrtpProfile::aes_cm_128_hmac_sha1_80,
                                       "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32");
  CHECK(inl.status().code() == ErrorCode::unsupported);
  CHECK(contains(inl.status().message(), "MKI"));

  // The same without the MKI is fine, and round trips.
  auto ok = SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20");
  REQUIRE_MESSAGE(ok.is_ok(), ok.status().to_string());
  CHECK(ok->profile == SrtpProfile::aes_cm_128_hmac_sha1_80);
  CHECK(ok->key_salt.size() == 30);
  CHECK(ok->to_sdes_inline() == "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
  CHECK(ok->to_sdes(1) == "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
  auto again = SrtpKey::from_sdes(ok->to_sdes(1));
  REQUIRE(again.is_ok());
  CHECK(again->key_salt == ok->key_salt);
  // The same key under the 32-bit-tag suite is valid too (same length).
  CHECK(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR").is_ok());
  // And is the wrong length for the GCM suites.
  auto gcm = SrtpKey::from_sdes("1 AEAD_AES_128_GCM inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
  CHECK(gcm.status().code() == ErrorCode::invalid_argument);
  CHECK(contains(gcm.status().message(), "28 bytes"));
}

TEST_CASE("SDES: clear errors") {
  const std::string good = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
  auto err = [](const Result<SrtpKey>& r) {
    REQUIRE_FALSE(r.is_ok());
    return r.status();
  };

  SUBCASE("wrong length") {
    Status st = err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:" + good.substr(0, 36)));
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(contains(st.message(), "30 bytes"));
    CHECK(contains(st.message(), "got 27"));
    st = err(SrtpKey::from_sdes_inline(SrtpProfile::aead_aes_256_gcm, "inline:" + good));
    CHECK(contains(st.message(), "44 bytes"));
    CHECK(contains(st.message(), "got 30"));
    st = err(SrtpKey::from_sdes_inline(SrtpProfile::aes_cm_128_hmac_sha1_80, "inline:"));
    CHECK(contains(st.message(), "got 0"));
  }
  SUBCASE("bad base64") {
    for (std::string bad : {good.substr(0, 39) + "!", good.substr(0, 20) + " " + good.substr(20), good + "=",
                            std::string("A")}) {
      CAPTURE(bad);
      Status st = err(SrtpKey::from_sdes_inline(SrtpProfile::aes_cm_128_hmac_sha1_80, "inline:" + bad));
      CHECK(st.code() == ErrorCode::invalid_argument);
    }
    Status st = err(SrtpKey::from_sdes_inline(SrtpProfile::aes_cm_128_hmac_sha1_80, "inline:" + good.substr(0, 39) + "!"));
    CHECK(contains(st.message(), "base64"));
  }
  SUBCASE("unknown suite") {
    Status st = err(SrtpKey::from_sdes("1 F8_128_HMAC_SHA1_80 inline:" + good));
    CHECK(st.code() == ErrorCode::unsupported);
    CHECK(contains(st.message(), "unknown SDES crypto suite"));
    CHECK(contains(st.message(), "F8_128_HMAC_SHA1_80"));
  }
  SUBCASE("MKI in any position, several keys") {
    Status st = err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:" + good + "|1:4"));
    CHECK(st.code() == ErrorCode::unsupported);
    CHECK(contains(st.message(), "MKI"));
    st = err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:" + good + "|2^20|1:4;inline:" + good + "|2^20|2:4"));
    CHECK(st.code() == ErrorCode::unsupported);
  }
  SUBCASE("structure") {
    CHECK(err(SrtpKey::from_sdes("")).code() == ErrorCode::invalid_argument);
    Status st = err(SrtpKey::from_sdes("inline:" + good));
    CHECK(contains(st.message(), "from_sdes_inline"));
    CHECK(err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80")).code() == ErrorCode::invalid_argument);
    CHECK(contains(err(SrtpKey::from_sdes("x AES_CM_128_HMAC_SHA1_80 inline:" + good)).message(), "tag"));
    CHECK(err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 uri:" + good)).code() == ErrorCode::unsupported);
    CHECK(contains(err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:" + good + "|2^x")).message(),
                   "lifetime"));
    CHECK(err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:" + good + "|2^49")).code() ==
          ErrorCode::invalid_argument);
    CHECK(err(SrtpKey::from_sdes("1 AES_CM_128_HMAC_SHA1_80 inline:" + good + "|2^20|2^20")).code() ==
          ErrorCode::invalid_argument);
  }
  SUBCASE("session parameters") {
    const std::string base = "1 AES_CM_128_HMAC_SHA1_80 inline:" + good;
    CHECK(SrtpKey::from_sdes(base + " KDR=0").is_ok());
    CHECK(SrtpKey::from_sdes(base + " WSH=128").is_ok());
    CHECK(SrtpKey::from_sdes(base + " FEC_ORDER=FEC_SRTP").is_ok());
    CHECK(SrtpKey::from_sdes(base + " -EXPERIMENTAL=1").is_ok());
    CHECK(err(SrtpKey::from_sdes(base + " KDR=24")).code() == ErrorCode::unsupported);
    CHECK(err(SrtpKey::from_sdes(base + " UNENCRYPTED_SRTP")).code() == ErrorCode::unsupported);
    CHECK(err(SrtpKey::from_sdes(base + " UNAUTHENTICATED_SRTP")).code() == ErrorCode::unsupported);
    CHECK(contains(err(SrtpKey::from_sdes(base + " NONSENSE=1")).message(), "NONSENSE"));
  }
}
