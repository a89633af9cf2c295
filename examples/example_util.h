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

}  // namespace roomrec::examples
