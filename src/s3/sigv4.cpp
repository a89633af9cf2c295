#include "s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "util/percent.h"

namespace roomrec::s3 {
namespace {

using Digest = std::array<unsigned char, 32>;

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

Digest hmac(std::string_view key, std::string_view msg) {
  Digest out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out.data(), &len);
  return out;
}

std::string_view as_view(const Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// SigV4 "Trimall": strip leading/trailing whitespace, squeeze inner runs to one space.
std::string trim_all(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// "YYYYMMDDTHHMMSSZ" for a unix time (proleptic Gregorian, UTC).
std::string amz_date(int64_t t) {
  int64_t days = t / 86400;
  int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
  // civil_from_days (H. Hinnant)
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld%02lld%02lldT%02lld%02lld%02lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string canonical_query(const Pairs& query) {
  Pairs enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(util::percent_encode(k), util::percent_encode(v));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;   // "name:value\n" lines
  std::string signed_; // "a;b;c"
};

CanonicalHeaders canonical_headers(const S3Request& req) {
  Pairs hs;
  bool has_host = false;
  for (const auto& [k, v] : req.headers) {
    hs.emplace_back(lower(trim_all(k)), trim_all(v));
    if (hs.back().first == "host") has_host = true;
  }
  if (!has_host) hs.emplace_back("host", trim_all(req.host));
  std::stable_sort(hs.begin(), hs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (size_t i = 0; i < hs.size();) {
    const std::string& name = hs[i].first;
    out.block += name;
    out.block += ':';
    size_t j = i;
    for (; j < hs.size() && hs[j].first == name; ++j) {
      if (j > i) out.block += ',';
      out.block += hs[j].second;
    }
    out.block += '\n';
    if (!out.signed_.empty()) out.signed_ += ';';
    out.signed_ += name;
    i = j;
  }
  return out;
}

std::string scope_of(const Credentials& c, std::string_view date8) {
  std::string s(date8);
  s += '/';
  s += c.region;
  s += '/';
  s += c.service;
  s += "/aws4_request";
  return s;
}

// Hex signature of a canonical request.
std::string signature(const Credentials& c, const std::string& date, const std::string& canonical_request) {
  std::string date8 = date.substr(0, 8);
  std::string sts = kAlgorithm;
  sts += '\n';
  sts += date;
  sts += '\n';
  sts += scope_of(c, date8);
  sts += '\n';
  sts += sha256_hex(canonical_request.data(), canonical_request.size());
  Digest k = hmac("AWS4" + c.secret_key, date8);
  k = hmac(as_view(k), c.region);
  k = hmac(as_view(k), c.service);
  k = hmac(as_view(k), "aws4_request");
  Digest sig = hmac(as_view(k), sts);
  return hex(sig.data(), sig.size());
}

std::string canonical_request(const S3Request& req, const std::string& query, const CanonicalHeaders& h,
                              std::string_view payload) {
  std::string cr = req.method;
  cr += '\n';
  cr += req.canonical_path();
  cr += '\n';
  cr += query;
  cr += '\n';
  cr += h.block;
  cr += '\n';
  cr += h.signed_;
  cr += '\n';
  cr += payload;
  return cr;
}

bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && lower(a) == lower(b); }

void erase_header(Pairs& hs, std::string_view name) {
  hs.erase(std::remove_if(hs.begin(), hs.end(), [&](const auto& p) { return iequals(p.first, name); }), hs.end());
}

Status invalid(std::string m) { return Status::error(ErrorCode::invalid_argument, "presign: " + std::move(m)); }

}  // namespace

std::string S3Request::canonical_path() const {
  std::string out;
  if (!bucket.empty()) {
    out += '/';
    out += util::percent_encode(bucket);
    if (key.empty()) return out;
  }
  out += '/';
  out += util::percent_encode(key, true);
  return out;
}

std::string S3Request::url() const {
  std::string out = scheme + "://" + host + canonical_path();
  std::string q = canonical_query(query);
  if (!q.empty()) out += "?" + q;
  return out;
}

S3Request make_request(const S3Uri& uri, std::string_view method, std::string_view key) {
  S3Request r;
  r.method = std::string(method);
  r.scheme = uri.scheme;
  if (uri.path_style) {
    r.host = uri.authority();
    r.bucket = uri.bucket;
  } else {
    r.host = uri.bucket.empty() ? uri.authority() : uri.bucket + "." + uri.authority();
  }
  r.key = std::string(key);
  return r;
}

Credentials credentials_of(const S3Uri& uri) {
  Credentials c;
  c.access_key = uri.access_key;
  c.secret_key = uri.secret_key;
  c.region = uri.region.empty() ? "us-east-1" : uri.region;
  return c;
}

std::string sha256_hex(const void* data, size_t n) {
  Digest d{};
  unsigned len = 0;
  EVP_Digest(data, n, d.data(), &len, EVP_sha256(), nullptr);
  return hex(d.data(), d.size());
}

void sign_headers(S3Request& req, const Credentials& c, std::string_view payload_sha256_hex, int64_t now_unix) {
  std::string payload(payload_sha256_hex.empty() ? std::string_view(kUnsignedPayload) : payload_sha256_hex);
  std::string date = amz_date(now_unix);
  for (const char* n : {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"})
    erase_header(req.headers, n);
  req.headers.emplace_back("x-amz-date", date);
  req.headers.emplace_back("x-amz-content-sha256", payload);
  if (!c.session_token.empty()) req.headers.emplace_back("x-amz-security-token", c.session_token);

  CanonicalHeaders h = canonical_headers(req);
  std::string sig = signature(c, date, canonical_request(req, canonical_query(req.query), h, payload));
  std::string auth = kAlgorithm;
  auth += " Credential=" + c.access_key + "/" + scope_of(c, std::string_view(date).substr(0, 8));
  auth += ", SignedHeaders=" + h.signed_;
  auth += ", Signature=" + sig;
  req.headers.emplace_back("Authorization", std::move(auth));
}

Result<std::string> presign(const S3Request& req, const Credentials& c, int64_t now_unix, uint32_t expires_s) {
  if (expires_s < 1 || expires_s > 604800)
    return invalid("expiry " + std::to_string(expires_s) + " s is outside 1..604800 s (7 days)");
  if (c.access_key.empty()) return invalid("empty access key");
  if (c.secret_key.empty()) return invalid("empty secret key");
  if (req.host.empty()) return invalid("empty host");
  if (req.method.empty()) return invalid("empty method");
  for (const auto& [k, v] : req.query)
    if (k.size() > 6 && iequals(k.substr(0, 6), "X-Amz-") &&
        (iequals(k, "X-Amz-Algorithm") || iequals(k, "X-Amz-Credential") || iequals(k, "X-Amz-Date") ||
         iequals(k, "X-Amz-Expires") || iequals(k, "X-Amz-SignedHeaders") || iequals(k, "X-Amz-Signature") ||
         iequals(k, "X-Amz-Security-Token")))
      return invalid("the request query already has " + k);

  std::string date = amz_date(now_unix);
  CanonicalHeaders h = canonical_headers(req);
  Pairs q = req.query;
  q.emplace_back("X-Amz-Algorithm", kAlgorithm);
  q.emplace_back("X-Amz-Credential", c.access_key + "/" + scope_of(c, std::string_view(date).substr(0, 8)));
  q.emplace_back("X-Amz-Date", date);
  q.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  q.emplace_back("X-Amz-SignedHeaders", h.signed_);
  if (!c.session_token.empty()) q.emplace_back("X-Amz-Security-Token", c.session_token);
  std::string cq = canonical_query(q);
  std::string sig = signature(c, date, canonical_request(req, cq, h, kUnsignedPayload));
  return req.scheme + "://" + req.host + req.canonical_path() + "?" + cq + "&X-Amz-Signature=" + sig;
}

Result<std::string> presign_url(const S3Uri& uri, std::string_view method, std::string_view key, int64_t now_unix,
                                uint32_t expires_s) {
  if (uri.presigned)
    return Status::error(ErrorCode::invalid_argument, "presign: the S3 URI is already a presigned URL");
  return presign(make_request(uri, method, uri.key(key)), credentials_of(uri), now_unix, expires_s);
}

}  // namespace roomrec::s3
