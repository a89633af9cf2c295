#include <roomrec/srtp.h>

#include <srtp2/srtp.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <string.h>  // explicit_bzero

#include "util/text.h"
#include "util/base64.h"

namespace roomrec {

using util::iequals;
namespace {

struct ProfileInfo {
  SrtpProfile profile;
  const char* sdes;
  const char* dtls;
  size_t key_salt;
  size_t rtp_tag;
  size_t rtcp_trailer;  // 4-byte E+index word + tag
};

constexpr ProfileInfo kProfiles[] = {
    {SrtpProfile::aes_cm_128_hmac_sha1_80, "AES_CM_128_HMAC_SHA1_80", "SRTP_AES128_CM_SHA1_80", 30, 10, 14},
    {SrtpProfile::aes_cm_128_hmac_sha1_32, "AES_CM_128_HMAC_SHA1_32", "SRTP_AES128_CM_SHA1_32", 30, 4, 14},
    {SrtpProfile::aead_aes_128_gcm, "AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 28, 16, 20},
    {SrtpProfile::aead_aes_256_gcm, "AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 44, 16, 20},
};

const ProfileInfo* info_of(SrtpProfile p) noexcept {
  for (const auto& i : kProfiles)
    if (i.profile == p) return &i;
  return nullptr;
}

const char* srtp_err_name(srtp_err_status_t e) noexcept {
  switch (e) {
    case srtp_err_status_ok: return "ok";
    case srtp_err_status_fail: return "fail";
    case srtp_err_status_bad_param: return "bad_param";
    case srtp_err_status_alloc_fail: return "alloc_fail";
    case srtp_err_status_dealloc_fail: return "dealloc_fail";
    case srtp_err_status_init_fail: return "init_fail";
    case srtp_err_status_terminus: return "terminus";
    case srtp_err_status_auth_fail: return "auth_fail";
    case srtp_err_status_cipher_fail: return "cipher_fail";
    case srtp_err_status_replay_fail: return "replay_fail";
    case srtp_err_status_replay_old: return "replay_old";
    case srtp_err_status_algo_fail: return "algo_fail";
    case srtp_err_status_no_such_op: return "no_such_op";
    case srtp_err_status_no_ctx: return "no_ctx";
    case srtp_err_status_cant_check: return "cant_check";
    case srtp_err_status_key_expired: return "key_expired";
    case srtp_err_status_socket_err: return "socket_err";
    case srtp_err_status_signal_err: return "signal_err";
    case srtp_err_status_nonce_bad: return "nonce_bad";
    case srtp_err_status_read_fail: return "read_fail";
    case srtp_err_status_write_fail: return "write_fail";
    case srtp_err_status_parse_err: return "parse_err";
    case srtp_err_status_encode_err: return "encode_err";
    case srtp_err_status_semaphore_err: return "semaphore_err";
    case srtp_err_status_pfkey_err: return "pfkey_err";
    case srtp_err_status_bad_mki: return "bad_mki";
    case srtp_err_status_pkt_idx_old: return "pkt_idx_old";
    case srtp_err_status_pkt_idx_adv: return "pkt_idx_adv";
  }
  return "unknown";
}

// libsrtp's global init, once per copy of this code. Its result is kept for
// every caller. libsrtp is process-wide: when someone else initialised it
// first (the host, e.g. Janus, or the other roomrec library, which carries its
// own copy of this file), srtp_init() fails to register its debug module a
// second time with bad_param while the crypto kernel is up; that is success.
srtp_err_status_t ensure_srtp_init() {
  static std::once_flag once;
  static srtp_err_status_t result = srtp_err_status_ok;
  std::call_once(once, [] {
    result = srtp_init();
    if (result == srtp_err_status_bad_param) result = srtp_err_status_ok;
  });
  return result;
}

// ---- SDES text helpers ----------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}


bool consume_prefix_ci(std::string_view& s, std::string_view prefix) {
  if (s.size() < prefix.size() || !iequals(s.substr(0, prefix.size()), prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool all_digits(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Echoes a piece of the input into an error message: bounded, printable only.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 48; ++i) {
    char c = s[i];
    out += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  if (s.size() > 48) out += "...";
  out += '\'';
  return out;
}

// RFC 4568 lifetime: "2^N" or a decimal count; at most 2^48 (the SRTP limit).
bool valid_lifetime(std::string_view s) {
  if (s.size() > 2 && s[0] == '2' && s[1] == '^') {
    std::string_view e = s.substr(2);
    if (!all_digits(e, 2)) return false;
    int v = (e[0] - '0') * (e.size() == 2 ? 10 : 1) + (e.size() == 2 ? e[1] - '0' : 0);
    return v >= 1 && v <= 48;
  }
  if (!all_digits(s, 15)) return false;
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v >= 1 && v <= (uint64_t{1} << 48);
}

Status sdes_session_param(std::string_view p) {
  if (p.front() == '-') return Status::ok();  // optional extension parameter: may be ignored
  if (iequals(p, "UNENCRYPTED_SRTP") || iequals(p, "UNENCRYPTED_SRTCP") || iequals(p, "UNAUTHENTICATED_SRTP"))
    return {ErrorCode::unsupported, "SDES session parameter " + quoted(p) + " is not supported"};
  std::string_view v = p;
  if (consume_prefix_ci(v, "KDR=")) {
    if (!all_digits(v, 2)) return {ErrorCode::invalid_argument, "bad SDES KDR parameter " + quoted(p)};
    if (v != "0" && v != "00")
      return {ErrorCode::unsupported, "SDES key derivation rate (KDR) other than 0 is not supported"};
    return Status::ok();
  }
  if (consume_prefix_ci(v, "WSH=")) {
    if (!all_digits(v, 10)) return {ErrorCode::invalid_argument, "bad SDES WSH parameter " + quoted(p)};
    return Status::ok();  // window size hint: our window is configured on the session
  }
  if (consume_prefix_ci(v, "FEC_ORDER=") || consume_prefix_ci(v, "FEC_KEY=")) return Status::ok();
  return {ErrorCode::unsupported, "unknown SDES session parameter " + quoted(p)};
}

}  // namespace

// ---- profiles -----------------------------------------------------------------

const char* srtp_profile_name(SrtpProfile profile) noexcept {
  const ProfileInfo* i = info_of(profile);
  return i ? i->sdes : "unknown";
}

std::optional<SrtpProfile> srtp_profile_from_name(std::string_view name) noexcept {
  for (const auto& i : kProfiles)
    if (name == i.sdes || name == i.dtls) return i.profile;
  return std::nullopt;
}

size_t srtp_key_salt_length(SrtpProfile profile) noexcept {
  const ProfileInfo* i = info_of(profile);
  return i ? i->key_salt : 0;
}

size_t srtp_rtp_overhead(SrtpProfile profile) noexcept {
  const ProfileInfo* i = info_of(profile);
  return i ? i->rtp_tag : 0;
}

size_t srtp_rtcp_overhead(SrtpProfile profile) noexcept {
  const ProfileInfo* i = info_of(profile);
  return i ? i->rtcp_trailer : 0;
}

// ---- SrtpKey --------------------------------------------------------------------

Result<SrtpKey> SrtpKey::from_bytes(SrtpProfile profile, const uint8_t* key_salt, size_t n) {
  const ProfileInfo* i = info_of(profile);
  if (!i) return Status(ErrorCode::invalid_argument, "unknown SRTP profile");
  if (n != i->key_salt || (n > 0 && key_salt == nullptr))
    return Status(ErrorCode::invalid_argument, std::string("SRTP key for ") + i->sdes + " must be " +
                                                   std::to_string(i->key_salt) + " bytes of key and salt, got " +
                                                   std::to_string(n));
  SrtpKey k;
  k.profile = profile;
  k.key_salt.assign(key_salt, key_salt + n);
  return k;
}

Result<SrtpKey> SrtpKey::from_sdes_inline(SrtpProfile profile, std::string_view value) {
  std::string_view v = trim(value);
  consume_prefix_ci(v, "inline:");
  if (v.find(';') != std::string_view::npos)
    return Status(ErrorCode::unsupported, "several SDES keys in one attribute are not supported");

  std::string_view parts[3];
  size_t count = 0;
  for (;;) {
    size_t bar = v.find('|');
    if (count == 3) return Status(ErrorCode::invalid_argument, "bad SDES key: too many '|' fields");
    parts[count++] = v.substr(0, bar);
    if (bar == std::string_view::npos) break;
    v.remove_prefix(bar + 1);
  }
  for (size_t i = 1; i < count; ++i)
    if (parts[i].find(':') != std::string_view::npos)
      return Status(ErrorCode::unsupported, "SDES MKI is not supported (key has MKI " + quoted(parts[i]) + ")");
  if (count == 3) return Status(ErrorCode::invalid_argument, "bad SDES key: two lifetimes and no MKI");
  if (count == 2 && !valid_lifetime(parts[1]))
    return Status(ErrorCode::invalid_argument, "bad SDES key lifetime " + quoted(parts[1]));

  auto bytes = util::base64_decode(parts[0]);
  if (!bytes) return Status(ErrorCode::invalid_argument, "SDES key is not valid base64");
  Result<SrtpKey> key = from_bytes(profile, bytes->data(), bytes->size());
  if (!bytes->empty()) explicit_bzero(bytes->data(), bytes->size());
  if (!key) return key.status().with_context("SDES");
  return key;
}

Result<SrtpKey> SrtpKey::from_sdes(std::string_view attr) {
  std::string_view s = trim(attr);
  if (!consume_prefix_ci(s, "a=crypto:")) consume_prefix_ci(s, "crypto:");

  std::vector<std::string_view> tok;
  while (true) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    if (s.empty()) break;
    size_t end = 0;
    while (end < s.size() && !is_space(s[end])) ++end;
    tok.push_back(s.substr(0, end));
    s.remove_prefix(end);
  }
  if (tok.empty()) return Status(ErrorCode::invalid_argument, "empty SDES crypto attribute");
  {
    std::string_view t = tok[0];
    if (consume_prefix_ci(t, "inline:"))
      return Status(ErrorCode::invalid_argument,
                    "SDES key without a crypto suite: give the profile with from_sdes_inline()");
  }
  if (tok.size() < 3)
    return Status(ErrorCode::invalid_argument, "SDES crypto attribute must be 'tag suite inline:key...'");
  if (!all_digits(tok[0], 10)) return Status(ErrorCode::invalid_argument, "bad SDES tag " + quoted(tok[0]));
  auto profile = srtp_profile_from_name(tok[1]);
  if (!profile) return Status(ErrorCode::unsupported, "unknown SDES crypto suite " + quoted(tok[1]));
  std::string_view key_params = tok[2];
  if (!consume_prefix_ci(key_params, "inline:"))
    return Status(ErrorCode::unsupported, "SDES key method must be 'inline:'");
  for (size_t i = 3; i < tok.size(); ++i) {
    Status st = sdes_session_param(tok[i]);
    if (!st) return st;
  }
  return from_sdes_inline(*profile, key_params);
}

std::string SrtpKey::to_sdes_inline() const { return "inline:" + util::base64_encode(key_salt.data(), key_salt.size()); }

std::string SrtpKey::to_sdes(unsigned tag) const {
  return std::to_string(tag) + " " + srtp_profile_name(profile) + " " + to_sdes_inline();
}

// ---- SrtpSession ----------------------------------------------------------------

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(const SrtpKey& key, Direction direction,
                                                         size_t replay_window) {
  const ProfileInfo* info = info_of(key.profile);
  if (!info) return Status(ErrorCode::invalid_argument, "unknown SRTP profile");
  if (key.key_salt.size() != info->key_salt)
    return Status(ErrorCode::invalid_argument, std::string("SRTP key for ") + info->sdes + " must be " +
                                                   std::to_string(info->key_salt) + " bytes of key and salt, got " +
                                                   std::to_string(key.key_salt.size()));
  // libsrtp refuses windows outside [64, 0x8000).
  if (replay_window < 64 || replay_window >= 0x8000)
    return Status(ErrorCode::invalid_argument,
                  "SRTP replay window must be 64..32767 packets, got " + std::to_string(replay_window));
  if (srtp_err_status_t e = ensure_srtp_init(); e != srtp_err_status_ok)
    return Status(ErrorCode::internal, std::string("srtp_init failed: ") + srtp_err_name(e));

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  switch (key.profile) {
    case SrtpProfile::aes_cm_128_hmac_sha1_80:
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      break;
    case SrtpProfile::aes_cm_128_hmac_sha1_32:
      // RFC 5764 4.1.2 / libsrtp docs: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits.
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      break;
    case SrtpProfile::aead_aes_128_gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::aead_aes_256_gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
  unsigned char key_copy[SRTP_MAX_KEY_LEN];
  std::memcpy(key_copy, key.key_salt.data(), key.key_salt.size());
  policy.ssrc.type = direction == Direction::unprotect ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = key_copy;
  policy.window_size = replay_window;
  policy.allow_repeat_tx = 0;  // protecting one sequence number twice would reuse keystream
  policy.next = nullptr;

  srtp_t ctx = nullptr;
  srtp_err_status_t e = srtp_create(&ctx, &policy);
  explicit_bzero(key_copy, sizeof key_copy);
  if (e != srtp_err_status_ok) {
    if (ctx) srtp_dealloc(ctx);
    ErrorCode code = e == srtp_err_status_bad_param ? ErrorCode::invalid_argument : ErrorCode::internal;
    return Status(code, std::string("srtp_create failed: ") + srtp_err_name(e));
  }
  return std::unique_ptr<SrtpSession>(new SrtpSession(ctx, key.profile, direction));
}

SrtpSession::~SrtpSession() {
  if (ctx_) srtp_dealloc(ctx_);
}

Status SrtpSession::finish_(int err, bool rtcp) {
  const auto e = static_cast<srtp_err_status_t>(err);
  switch (e) {
    case srtp_err_status_ok:
      ++stats_.ok;
      return Status::ok();
    case srtp_err_status_auth_fail:
      ++stats_.auth_fail;
      return {ErrorCode::permission_denied, "srtp auth fail"};  // short: no allocation (SSO)
    case srtp_err_status_replay_fail:
      ++stats_.replay_fail;
      return {ErrorCode::invalid_argument, "srtp replay"};
    case srtp_err_status_replay_old:
      ++stats_.replay_fail;
      return {ErrorCode::invalid_argument, "srtp replay old"};
    default:
      ++stats_.other_fail;
      return {ErrorCode::corrupt, std::string(direction_ == Direction::unprotect ? "srtp unprotect" : "srtp protect") +
                                      (rtcp ? "_rtcp" : "_rtp") + " failed: " + srtp_err_name(e)};
  }
}

Status SrtpSession::unprotect_rtp(uint8_t* p, size_t& n) {
  if (direction_ != Direction::unprotect) {
    ++stats_.other_fail;
    return {ErrorCode::unsupported, "unprotect_rtp on a protect-direction SRTP session"};
  }
  if (p == nullptr || n < 12 || (p[0] >> 6) != 2) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "not an SRTP packet (short or version != 2)"};
  }
  if (n > INT_MAX) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "SRTP packet too large"};
  }
  int len = static_cast<int>(n);
  srtp_err_status_t e = srtp_unprotect(ctx_, p, &len);
  if (e == srtp_err_status_ok) n = static_cast<size_t>(len);
  return finish_(e, false);
}

Status SrtpSession::unprotect_rtcp(uint8_t* p, size_t& n) {
  if (direction_ != Direction::unprotect) {
    ++stats_.other_fail;
    return {ErrorCode::unsupported, "unprotect_rtcp on a protect-direction SRTP session"};
  }
  if (p == nullptr || n < 8 || (p[0] >> 6) != 2) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "not an SRTCP packet (short or version != 2)"};
  }
  if (n > INT_MAX) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "SRTCP packet too large"};
  }
  int len = static_cast<int>(n);
  srtp_err_status_t e = srtp_unprotect_rtcp(ctx_, p, &len);
  if (e == srtp_err_status_ok) n = static_cast<size_t>(len);
  return finish_(e, true);
}

Status SrtpSession::protect_rtp(uint8_t* p, size_t& n, size_t capacity) {
  if (direction_ != Direction::protect) {
    ++stats_.other_fail;
    return {ErrorCode::unsupported, "protect_rtp on an unprotect-direction SRTP session"};
  }
  if (p == nullptr || n < 12 || (p[0] >> 6) != 2) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "not an RTP packet (short or version != 2)"};
  }
  const size_t overhead = rtp_overhead();
  if (capacity < n || capacity - n < overhead) {
    ++stats_.other_fail;
    return {ErrorCode::resource_exhausted, "SRTP protect needs " + std::to_string(overhead) + " spare bytes"};
  }
  if (n + overhead > INT_MAX) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "RTP packet too large"};
  }
  int len = static_cast<int>(n);
  srtp_err_status_t e = srtp_protect(ctx_, p, &len);
  if (e == srtp_err_status_ok) n = static_cast<size_t>(len);
  return finish_(e, false);
}

Status SrtpSession::protect_rtcp(uint8_t* p, size_t& n, size_t capacity) {
  if (direction_ != Direction::protect) {
    ++stats_.other_fail;
    return {ErrorCode::unsupported, "protect_rtcp on an unprotect-direction SRTP session"};
  }
  if (p == nullptr || n < 8 || (p[0] >> 6) != 2) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "not an RTCP packet (short or version != 2)"};
  }
  const size_t overhead = rtcp_overhead();
  if (capacity < n || capacity - n < overhead) {
    ++stats_.other_fail;
    return {ErrorCode::resource_exhausted, "SRTCP protect needs " + std::to_string(overhead) + " spare bytes"};
  }
  if (n + overhead > INT_MAX) {
    ++stats_.other_fail;
    return {ErrorCode::corrupt, "RTCP packet too large"};
  }
  int len = static_cast<int>(n);
  srtp_err_status_t e = srtp_protect_rtcp(ctx_, p, &len);
  if (e == srtp_err_status_ok) n = static_cast<size_t>(len);
  return finish_(e, true);
}

}  // namespace roomrec
