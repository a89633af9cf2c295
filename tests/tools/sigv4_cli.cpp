// Oracle target for tests/integration/test_sigv4_oracle.py.
//
// Reads one JSON object per line on stdin and prints one line per input:
//   {"method":"GET","endpoint":"<S3 URI>","key":"k","now":1369353600,"expires":86400,
//    "query":{"name":"value"}, "session_token":"..."}        -> the presigned URL
//   {"mode":"header", ..., "headers":{"range":"bytes=0-9"}, "payload_sha256":"<hex>"}
//                                                             -> the Authorization header value
// `key` is relative to the URI's prefix ("full_key" instead: the object key as is).
// A failure prints "ERROR <message>".
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "s3/s3_uri.h"
#include "s3/sigv4.h"

using namespace roomrec;
using nlohmann::json;

namespace {

std::string run(const json& in) {
  auto uri = s3::S3Uri::parse(in.at("endpoint").get<std::string>());
  if (!uri) return "ERROR " + uri.status().to_string();
  std::string key = in.contains("full_key") ? in.at("full_key").get<std::string>() : uri->key(in.value("key", ""));
  auto req = s3::make_request(*uri, in.value("method", "GET"), key);
  if (in.contains("query"))
    for (const auto& [k, v] : in.at("query").items()) req.query.emplace_back(k, v.get<std::string>());
  if (in.contains("headers"))
    for (const auto& [k, v] : in.at("headers").items()) req.headers.emplace_back(k, v.get<std::string>());
  auto cred = s3::credentials_of(*uri);
  cred.session_token = in.value("session_token", "");
  int64_t now = in.at("now").get<int64_t>();
  if (in.value("mode", "presign") == "header") {
    std::string payload = in.value("payload_sha256", s3::sha256_hex("", 0));
    s3::sign_headers(req, cred, payload, now);
    return req.headers.back().second;  // Authorization is appended last
  }
  auto url = s3::presign(req, cred, now, in.value("expires", 3600u));
  if (!url) return "ERROR " + url.status().to_string();
  return *url;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::string out;
    try {
      out = run(json::parse(line));
    } catch (const std::exception& e) {
      out = std::string("ERROR bad input: ") + e.what();
    }
    std::cout << out << '\n' << std::flush;
  }
  return 0;
}
