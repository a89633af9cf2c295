// AWS Signature Version 4 for S3: header signing and query presigning.
//
// Encoding follows S3 (not the generic SigV4 services): the object key and the
// query names/values are given RAW and encoded exactly once here (RFC 3986
// unreserved kept, everything else %XX upper case, '/' kept in the key path);
// the path is never normalised ('.', '..', '//' stay as they are).
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/s3_uri.h"

namespace roomrec::s3 {

struct Credentials {
  std::string access_key, secret_key, region = "us-east-1", service = "s3", session_token;
};

// One S3 request before signing: the object key and query values are RAW (unencoded) here.
struct S3Request {
  std::string method = "GET";
  std::string scheme = "http";
  std::string host;    // the Host header value (with :port when non-default; bucket. prefix for vhost)
  std::string bucket;  // path-style: in the path; empty for virtual-host
  std::string key;     // raw object key, may be empty (bucket-level ops like ListObjectsV2)
  std::vector<std::pair<std::string, std::string>> query;    // raw names/values
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers to send (and sign)

  // "/bucket/enc(key)", "/bucket" (empty key), "/enc(key)" (virtual host), "/" when both empty.
  std::string canonical_path() const;
  // scheme://host + canonical_path + "?" + canonical query (sorted, encoded); no '?' without query.
  std::string url() const;
};

// Builds an S3Request for bucket/key from a parsed (non-presigned) S3Uri: path style or vhost.
// `key` is the full object key (use uri.key(relative) to apply the prefix).
S3Request make_request(const S3Uri& uri, std::string_view method, std::string_view key);
Credentials credentials_of(const S3Uri& uri);

// Lower-case hex SHA-256.
std::string sha256_hex(const void* data, size_t n);
inline constexpr const char* kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Header signing: adds x-amz-date, x-amz-content-sha256 (= payload_sha256_hex, UNSIGNED-PAYLOAD
// when empty), x-amz-security-token when set, and Authorization to req.headers (replacing
// earlier ones of these names). `now_unix` in seconds. Signs host + every header in req.headers.
void sign_headers(S3Request& req, const Credentials& c, std::string_view payload_sha256_hex, int64_t now_unix);

// Query presigning: returns the full URL with X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/
// Signature (plus X-Amz-Security-Token). Signs host plus req.headers (so e.g. content-md5 can be
// bound; the caller must then send them). Payload UNSIGNED-PAYLOAD.
// expires_s must be 1..604800; otherwise (or with empty keys/host) returns invalid_argument.
Result<std::string> presign(const S3Request& req, const Credentials& c, int64_t now_unix, uint32_t expires_s);

// Convenience: presigned URL for METHOD on uri.key(key). A presigned `uri` is refused
// (it already is a URL: use uri.presigned_url).
Result<std::string> presign_url(const S3Uri& uri, std::string_view method, std::string_view key, int64_t now_unix,
                                uint32_t expires_s);

}  // namespace roomrec::s3
