// SRTP/SRTCP protection and unprotection with libsrtp2, and SDES key parsing
// (RFC 4568). The recorder keeps packets "exactly as received after SRTP
// decryption": a host that hands roomrec encrypted packets decrypts them with
// an unprotect-direction SrtpSession first.
#pragma once

#include <roomrec/export.h>
#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct srtp_ctx_t_;  // libsrtp2's session; kept opaque so this header does not include <srtp2/srtp.h>

namespace roomrec {

enum class SrtpProfile {
  aes_cm_128_hmac_sha1_80,  // SDES AES_CM_128_HMAC_SHA1_80, DTLS SRTP_AES128_CM_SHA1_80
  aes_cm_128_hmac_sha1_32,  // SDES AES_CM_128_HMAC_SHA1_32, DTLS SRTP_AES128_CM_SHA1_32 (SRTCP keeps an 80-bit tag)
  aead_aes_128_gcm,         // SDES AEAD_AES_128_GCM, DTLS SRTP_AEAD_AES_128_GCM (RFC 7714, 16-byte tag)
  aead_aes_256_gcm,         // SDES AEAD_AES_256_GCM, DTLS SRTP_AEAD_AES_256_GCM
};

// The SDES (RFC 4568 / RFC 7714) crypto suite name, e.g. "AES_CM_128_HMAC_SHA1_80".
ROOMREC_API const char* srtp_profile_name(SrtpProfile profile) noexcept;
// Accepts the SDES suite names and the DTLS-SRTP protection profile names
// (RFC 5764 / RFC 7714), exactly as spelled there.
ROOMREC_API std::optional<SrtpProfile> srtp_profile_from_name(std::string_view name) noexcept;
// Bytes of master key + master salt: 30, 30, 28, 44.
ROOMREC_API size_t srtp_key_salt_length(SrtpProfile profile) noexcept;
// Bytes protect appends to an RTP packet (the auth tag): 10, 4, 16, 16.
ROOMREC_API size_t srtp_rtp_overhead(SrtpProfile profile) noexcept;
// Bytes protect appends to an RTCP packet (SRTCP index + tag): 14, 14, 20, 20.
ROOMREC_API size_t srtp_rtcp_overhead(SrtpProfile profile) noexcept;

// A master key and salt for one profile.
struct ROOMREC_API SrtpKey {
  SrtpProfile profile = SrtpProfile::aes_cm_128_hmac_sha1_80;
  std::vector<uint8_t> key_salt;  // srtp_key_salt_length(profile) bytes

  // Parses an SDES crypto attribute value (RFC 4568 section 9.1), e.g.
  //   "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20"
  // with or without a leading "a=crypto:". One key only; the lifetime is
  // checked for syntax and otherwise ignored; an MKI, several keys, KDR other
  // than 0 and the UNENCRYPTED_*/UNAUTHENTICATED_* parameters are refused
  // (ErrorCode::unsupported), as is an unknown suite. A bare "inline:..."
  // value has no suite: use from_sdes_inline. Bad base64 or a key of the
  // wrong length give ErrorCode::invalid_argument. Never throws on bad input;
  // error messages never contain key material.
  static Result<SrtpKey> from_sdes(std::string_view crypto_attr);
  // Parses "inline:BASE64[|lifetime][|MKI:length]" (the "inline:" prefix is
  // optional) for a profile given separately.
  static Result<SrtpKey> from_sdes_inline(SrtpProfile profile, std::string_view inline_value);
  // Key material already in hand (e.g. exported from DTLS-SRTP): checks the length.
  static Result<SrtpKey> from_bytes(SrtpProfile profile, const uint8_t* key_salt, size_t n);

  // "inline:BASE64" and "TAG SUITE inline:BASE64", the inverses of the parsers.
  std::string to_sdes_inline() const;
  std::string to_sdes(unsigned tag = 1) const;
};

// Per-session packet counters. "ok" counts packets protected or unprotected.
struct SrtpStats {
  uint64_t ok = 0;
  uint64_t auth_fail = 0;
  uint64_t replay_fail = 0;
  uint64_t other_fail = 0;
};

// One direction of SRTP for any number of SSRCs (libsrtp's ssrc_any_inbound
// or ssrc_any_outbound template: a stream is created for each new SSRC on
// its first authenticated packet).
//
// Threads: a session is NOT thread-safe (libsrtp's srtp_t is not). Use each
// session from one thread at a time; different sessions may be used from
// different threads concurrently. libsrtp's process-wide srtp_init() is done
// once, thread-safely, by the first create(); roomrec never calls
// srtp_shutdown() (a host that also uses libsrtp must not either while
// sessions live), and installs no libsrtp log or event handler.
//
// Errors of the packet functions:
//   ErrorCode::permission_denied  "srtp auth fail"   the tag did not verify (counted in auth_fail)
//   ErrorCode::invalid_argument   "srtp replay..."   replayed or too old (counted in replay_fail)
//   ErrorCode::corrupt            anything else libsrtp refuses (too short, bad header; other_fail)
//   ErrorCode::resource_exhausted protect: capacity < n + overhead (other_fail)
//   ErrorCode::unsupported        the call does not match the session's direction (other_fail)
// On any error the packet bytes may have been modified and must be dropped.
//
// Buffers are processed in place. libsrtp reads the header through 32-bit
// loads: fine on x86-64 and arm64 at any alignment; on strict-alignment
// targets pass 4-byte aligned buffers.
class ROOMREC_API SrtpSession {
 public:
  enum class Direction { unprotect /*receive*/, protect /*send*/ };

  // replay_window: RTP replay window in packets, 64..32767 (SRTCP uses
  // libsrtp's fixed 128). Fails with invalid_argument on a key of the wrong
  // length or a bad window, internal if libsrtp cannot initialise.
  static Result<std::unique_ptr<SrtpSession>> create(const SrtpKey& key, Direction direction,
                                                     size_t replay_window = 1024);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // Decrypts and verifies in place; on success n is the plain packet's length.
  // This wrapper allocates nothing (success and the auth/replay errors build
  // no heap string); libsrtp allocates a stream on each new SSRC's first
  // authenticated packet, and Debian bookworm's libsrtp2 2.5 (NSS crypto
  // backend) also allocates inside NSS on every packet (~14 small allocations
  // for AES-CM/HMAC-SHA1, ~5 for AES-GCM) and manages roughly 0.1-0.3 M
  // packets/s per core for AES-CM: decrypt off the recorder's hot path, or
  // let the host hand over packets it has already decrypted.
  Status unprotect_rtp(uint8_t* p, size_t& n);
  Status unprotect_rtcp(uint8_t* p, size_t& n);
  // Encrypts in place and appends the trailer; capacity is the size of the
  // buffer at p and must be at least n + rtp_overhead() (rtcp_overhead()).
  Status protect_rtp(uint8_t* p, size_t& n, size_t capacity);
  Status protect_rtcp(uint8_t* p, size_t& n, size_t capacity);

  SrtpProfile profile() const noexcept { return profile_; }
  Direction direction() const noexcept { return direction_; }
  size_t rtp_overhead() const noexcept { return srtp_rtp_overhead(profile_); }
  size_t rtcp_overhead() const noexcept { return srtp_rtcp_overhead(profile_); }
  SrtpStats stats() const noexcept { return stats_; }

 private:
  SrtpSession(srtp_ctx_t_* ctx, SrtpProfile profile, Direction direction)
      : ctx_(ctx), profile_(profile), direction_(direction) {}
  ROOMREC_HIDDEN Status finish_(int err, bool rtcp);

  srtp_ctx_t_* ctx_ = nullptr;
  SrtpProfile profile_;
  Direction direction_;
  SrtpStats stats_;
};

}  // namespace roomrec
