// Fuzz target: the S3 URI parser (CLI flags, worker config, custom_s3).
//
// It must never crash or throw; a parsed URI has a scheme, a host and (unless
// presigned) a bucket; its redacted form never shows a secret of 6+
// characters that appears nowhere else in it; key() never makes "//".
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
  if (u.secret_key.size() >= 6 && shown.find(u.secret_key) != std::string::npos &&
      u.access_key.find(u.secret_key) == std::string::npos && u.host.find(u.secret_key) == std::string::npos &&
      u.bucket.find(u.secret_key) == std::string::npos && u.prefix.find(u.secret_key) == std::string::npos &&
      u.region.find(u.secret_key) == std::string::npos && std::string("***").find(u.secret_key) == std::string::npos)
    std::abort();
  const std::string k = u.key("a/b");
  if (k.find("//") != std::string::npos && u.prefix.find("//") == std::string::npos) std::abort();
  return 0;
}
