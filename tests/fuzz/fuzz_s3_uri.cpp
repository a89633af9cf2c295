// Fuzz target: the S3 URI parser (CLI flags, worker config, custom_s3).
//
// It must never crash or throw; a parsed URI has a scheme, a host and (unless
// presigned) a bucket; its redacted form never shows the secret as
// userinfo; key() never makes "//".
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "s3/s3_uri.h"

using roomrec::s3::S3Uri;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = S3Uri::parse(in);
  if (!r) {
    if (r.status().message().empty()) std::abort();
    return 0;
  }
  const S3Uri& u = r.value();
  if (u.scheme != "http" && u.scheme != "https") std::abort();
  if (u.host.empty()) std::abort();
  if (!u.presigned && u.bucket.empty()) std::abort();
  (void)u.authority();
  (void)u.endpoint();
  const std::string shown = u.to_string();
  // The secret never appears as userinfo (a fixed word of the output, like
  // "path_style", may contain a short secret by chance: not a leak).
  if (!u.secret_key.empty() && u.secret_key != "***" && shown.find(":" + u.secret_key + "@") != std::string::npos)
    std::abort();
  const std::string k = u.key("a/b");
  if (k.find("//") != std::string::npos && u.prefix.find("//") == std::string::npos) std::abort();
  return 0;
}
