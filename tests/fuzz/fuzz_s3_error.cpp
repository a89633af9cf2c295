// Fuzz target: an HTTP error body from a remote peer (S3, a custom_s3
// endpoint, a connector) through parse_xml() and check_status() (issue 21).
//
// It must never crash or throw; the error text made of it is valid UTF-8,
// one line, short, and carries no byte of a body that is not an S3 error; a
// JSON dump of it (job state, hook, API answer) never throws.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "s3/http_client.h"
#include "util/utf8.h"

using namespace roomrec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  s3::HttpResponse r;
  r.status = 400 + data[0] % 200;
  r.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)s3::parse_xml(r.body);
  (void)s3::is_expired(r);
  const Status s = s3::check_status(r, "PUT /b/k");
  if (s.is_ok()) std::abort();
  const std::string& m = s.message();
  if (!util::is_valid_utf8(m)) std::abort();
  for (char c : m)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) std::abort();
  if (m.size() > 300) std::abort();
  if (r.body.find('<') == std::string::npos && m != "PUT /b/k: HTTP " + std::to_string(r.status)) std::abort();
  nlohmann::json j = {{"error", m}};
  (void)j.dump();  // throws (and so aborts the fuzzer) on invalid UTF-8
  return 0;
}
