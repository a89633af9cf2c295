// A small blocking HTTP client over libcurl (the only curl user in the project),
// plus the helpers every S3 call needs: status checks, S3 error XML, Content-MD5.
#pragma once

#include <roomrec/byte_source.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roomrec::s3 {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  long status = 0;
  Headers headers;   // in arrival order, names as the server spelled them
  std::string body;  // empty when streamed to a sink; error bodies capped at 64 KiB
  // The first header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct HttpOptions {
  uint64_t connect_timeout_ms = 5000;
  // A transfer slower than low_speed_limit_bytes/s for low_speed_time_s fails with ErrorCode::timeout.
  uint64_t low_speed_limit_bytes = 1024;
  uint64_t low_speed_time_s = 20;
  uint64_t total_timeout_ms = 0;  // 0: none
  bool verify_tls = true;
  std::string ca_file, ca_path;   // empty: curl's defaults
  // Set to true (from any thread) to end a transfer in progress within about a second
  // (ErrorCode::cancelled); checked while connecting, sending, receiving or waiting.
  const std::atomic<bool>* cancel = nullptr;
  // When set, every connection's peer address (numeric: "203.0.113.7", "::1") must pass it;
  // a refused address fails like an unreachable one. For targets chosen by a client.
  std::function<bool(const std::string& address)> address_allowed;
  // Connection-phase failures (refused, unreachable, timed out, refused by address_allowed, DNS,
  // TLS, no or broken HTTP answer) all read "cannot connect": the text says nothing about which,
  // so a client-chosen target cannot be used to tell open ports from closed ones.
  bool opaque_connect_errors = false;
};

// Receives a streamed response body (GET). Return false to abort (ErrorCode::cancelled).
using BodySink = std::function<bool(const uint8_t* data, size_t n)>;

// One per thread: keeps its curl easy handle, so connections are kept alive
// between requests. Not thread-safe.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions o = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends a request. With a body (PUT, POST, or any other method): exactly content_length bytes read
  // from `body`, sent with Content-Length (never chunked); a body that yields fewer or more bytes fails
  // the request with ErrorCode::invalid_argument; a body read error is returned as is. "Expect:" is
  // cleared, the path is sent as is, redirects are not followed. If sink is set, a 2xx body is streamed
  // to it instead of buffered (error bodies are always buffered, capped at 64 KiB).
  // Transport failures are ErrorCode::unavailable (refused, reset, DNS, TLS) or ErrorCode::timeout;
  // messages hold curl's error text and the URL without its query string.
  // Any HTTP status is a response, not an error: use check_status().
  Result<HttpResponse> request(std::string_view method, const std::string& url, const Headers& headers,
                               ByteSource* body = nullptr, uint64_t content_length = 0, BodySink sink = nullptr);
  // Same with an in-memory body; curl may re-send it by itself (stale keep-alive connection).
  Result<HttpResponse> request(std::string_view method, const std::string& url, const Headers& headers,
                               std::string_view body);

  const HttpOptions& options() const { return options_; }

 private:
  struct Body;
  Result<HttpResponse> perform(std::string_view method, const std::string& url, const Headers& headers,
                               Body* body, const BodySink& sink);

  HttpOptions options_;
  void* curl_ = nullptr;  // CURL*, kept out of this header
};

// Ok for 2xx. Otherwise an error whose message holds `what`, the status, and the S3 error XML's
// <Code> and <Message> when the body is one (else the start of the body).
// 401/403 -> permission_denied; 404 -> not_found; 408/429/5xx -> unavailable; else invalid_argument.
Status check_status(const HttpResponse& r, std::string_view what);

// True for an S3 "expired" answer: 403 with "Request has expired", AccessDenied whose message says
// expired, or ExpiredToken.
bool is_expired(const HttpResponse& r);

// True for statuses worth retrying: 408, 429, 5xx.
bool is_transient_status(long status);

// Process-wide curl_global_init, thread-safe; HttpClient's constructor calls it.
void http_global_init();

// base64 of the MD5 of the bytes, for a Content-MD5 header.
std::string content_md5_base64(const void* data, size_t n);
inline std::string content_md5_base64(std::string_view s) { return content_md5_base64(s.data(), s.size()); }

// The URL without "user:password@", "?query" and "#fragment": safe to log (a presigned query holds a
// signature, userinfo a password).
std::string strip_query(std::string_view url);

// ---- a small tolerant XML reader, enough for S3 responses ------------------------------------

// Decodes &amp; &lt; &gt; &quot; &apos; and &#NN; / &#xHH; (as UTF-8). Unknown entities stay as they are.
std::string xml_decode(std::string_view text);

struct XmlNode {
  std::string name;  // local name: a namespace prefix ("s3:Key") is dropped
  std::string text;  // decoded character data directly inside this element (CDATA included)
  std::vector<XmlNode> children;

  // The first child with this name, or nullptr.
  const XmlNode* child(std::string_view n) const;
  // The text of the first child with this name, or "".
  std::string child_text(std::string_view n) const;
};

// Parses a document into its root element. Skips the prolog, comments, processing instructions and
// DOCTYPE; attributes are ignored. Fails (invalid_argument) on text that is not well-nested XML.
Result<XmlNode> parse_xml(std::string_view doc);

}  // namespace roomrec::s3
