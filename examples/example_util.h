// Helpers shared by the example programs (header only, public API only).
#pragma once

#include <string>

namespace roomrec::examples {

// What `convert_record_cli --in-s3` takes: the sink location given to --out
// (a folder, file:// or an S3 URI whose query string must stay last) joined
// with a session's room_path().
inline std::string recording_location(const std::string& out, const std::string& room_path) {
  if (out.rfind("http://", 0) == 0 || out.rfind("https://", 0) == 0) {
    size_t q = out.find('?');
    std::string base = out.substr(0, q), query = q == std::string::npos ? "" : out.substr(q);
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/" + room_path + query;
  }
  std::string base = out;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/" + room_path;
}

// A location fit to print: an S3 URI's secret key ("KEY:SECRET@") becomes
// "KEY:***@" (give the secret again, from where it came, to use it).
inline std::string redact_location(const std::string& location) {
  size_t scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  size_t start = scheme + 3;
  size_t end = location.find_first_of("/?#", start);
  size_t at = location.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start) return location;
  size_t colon = location.find(':', start);
  if (colon == std::string::npos || colon > at) return location.substr(0, start) + "***" + location.substr(at);
  return location.substr(0, colon + 1) + "***" + location.substr(at);
}

}  // namespace roomrec::examples
