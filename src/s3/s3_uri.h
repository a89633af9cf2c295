// The S3 URI used by the CLI, the worker and custom_s3 (see
// /work/shared/reference/interfaces.md):
//
//   http(s)://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[/sub/path]?path_style=true&region=us-east-1
//
// or an already presigned URL (its query carries X-Amz-Signature), which is an
// opaque PUT target kept verbatim.
#pragma once

#include <roomrec/status.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace roomrec::s3 {

struct S3Uri {
  std::string scheme;                  // "http" | "https" (lower case)
  std::string host;                    // no port, lower case; an IPv6 literal without its brackets
  uint16_t port = 0;                   // 0: scheme default
  std::string access_key, secret_key;  // percent-decoded
  std::string bucket;
  std::string prefix;                  // key prefix, no leading or trailing '/', may be empty
  bool path_style = false;
  std::string region = "us-east-1";
  bool presigned = false;              // already presigned URL (X-Amz-Signature in the query): an opaque PUT target
  std::string presigned_url;           // the whole URL when presigned

  // Never throws; every malformed form gives an invalid_argument Status that
  // says what is wrong (the secret never appears in a message).
  static Result<S3Uri> parse(std::string_view uri);

  // "host" or "host:port" as used in the Host header; the scheme's default port
  // is omitted, IPv6 literals are bracketed.
  std::string authority() const;
  // "scheme://authority" (path style) or "scheme://bucket.authority" (virtual host).
  std::string endpoint() const;
  // prefix + "/" + relative, with no double slash at the join (leading '/' of
  // `relative` dropped); relative may be empty (-> prefix), prefix may be empty (-> relative).
  std::string key(std::string_view relative) const;
  // For logs: the secret is redacted as "***" (and, for a presigned URL, the
  // signature and session token values).
  std::string to_string() const;
};

}  // namespace roomrec::s3
