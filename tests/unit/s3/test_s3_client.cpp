#include <doctest/doctest.h>

#include "../../s3/s3rver_process.h"
#include "s3/http_client.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"
#include "s3/sigv4.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace roomrec;
using namespace roomrec::s3;
using roomrec::testing::S3rverProcess;

namespace {

// ---- a tiny HTTP/1.1 server for the HttpClient tests -------------------------------------------

struct SeenRequest {
  std::string method, target;
  Headers headers;  // names lower-cased
  std::string body;
  bool chunked = false;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
  bool has(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return true;
    return false;
  }
};

bool send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string http_response(int status, std::string_view body, const Headers& extra = {}, bool head = false) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
  bool has_length = false;
  for (const auto& [k, v] : extra) {
    r += k + ": " + v + "\r\n";
    if (k == "Content-Length") has_length = true;
  }
  if (!has_length) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  if (!head) r += body;
  return r;
}

std::string s3_error_xml(std::string_view code, std::string_view message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) + "</Code><Message>" +
         std::string(message) + "</Message><RequestId>1</RequestId></Error>";
}

class TinyServer {
 public:
  // Writes the response to fd; returns false to close the connection.
  using Handler = std::function<bool(const SeenRequest&, int fd, TinyServer&)>;

  explicit TinyServer(Handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~TinyServer() {
    stop_ = true;
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conn_threads_) t.join();
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  std::string url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  int connections() const { return connections_; }
  bool stopping() const { return stop_; }
  // Sleeps until the server is destroyed (a stalled peer).
  void stall() {
    while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mu_);
      open_fds_.insert(fd);
      conn_threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Reads more bytes into buf; false at EOF or error.
  static bool fill(int fd, std::string& buf) {
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }

  static bool read_request(int fd, std::string& buf, SeenRequest& req) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!fill(fd, buf)) return false;
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t eol = head.find("\r\n");
    std::string first = head.substr(0, eol);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      pos = e + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      req.headers.emplace_back(name, line.substr(v));
    }
    if (req.header("transfer-encoding").find("chunked") != std::string::npos) {
      req.chunked = true;
      for (;;) {
        size_t le;
        while ((le = buf.find("\r\n")) == std::string::npos)
          if (!fill(fd, buf)) return false;
        size_t n = std::stoul(buf.substr(0, le), nullptr, 16);
        buf.erase(0, le + 2);
        while (buf.size() < n + 2)
          if (!fill(fd, buf)) return false;
        req.body.append(buf, 0, n);
        buf.erase(0, n + 2);
        if (n == 0) break;
      }
    } else if (req.has("content-length")) {
      size_t n = std::stoul(req.header("content-length"));
      while (buf.size() < n)
        if (!fill(fd, buf)) return false;
      req.body = buf.substr(0, n);
      buf.erase(0, n);
    }
    return true;
  }

  void serve(int fd) {
    std::string buf;
    for (;;) {
      SeenRequest req;
      if (!read_request(fd, buf, req)) break;
      {
        std::lock_guard lock(mu_);
        seen_.push_back(req);
      }
      if (!handler_(req, fd, *this)) break;
    }
    {
      std::lock_guard lock(mu_);
      open_fds_.erase(fd);
    }
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::set<int> open_fds_;
  std::vector<std::thread> conn_threads_;
  std::vector<SeenRequest> seen_;
};

// A port nobody listens on.
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string md5_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::unique_ptr<ByteSource> source_of(std::string_view s) {
  return memory_source(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// A source that fails after some bytes.
class FailingSource final : public ByteSource {
 public:
  explicit FailingSource(size_t ok_bytes) : left_(ok_bytes) {}
  Result<size_t> read(uint8_t* dst, size_t max) override {
    if (left_ == 0) return Status::error(ErrorCode::io, "disk on fire");
    size_t n = std::min(max, left_);
    std::memset(dst, 'x', n);
    left_ -= n;
    return n;
  }

 private:
  size_t left_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- s3rver ------------------------------------------------------------------------------------

S3rverProcess& shared_s3() {
  static S3rverProcess s3({"roomrec-test", "roomrec-other"});
  return s3;
}

#define REQUIRE_S3RVER(s3)                                    \
  do {                                                        \
    if (!(s3).available()) {                                  \
      MESSAGE("skipped, no S3 test server: " << (s3).reason()); \
      return;                                                 \
    }                                                         \
    REQUIRE_MESSAGE((s3).running(), (s3).reason());           \
  } while (0)

S3Uri uri_of(const S3rverProcess& s3, const std::string& prefix = "", const std::string& bucket = "roomrec-test") {
  auto u = S3Uri::parse(s3.s3_uri(bucket, prefix));
  REQUIRE_MESSAGE(u.is_ok(), u.status().to_string());
  return *u;
}

}  // namespace

// =================================================================================================
// HttpClient against the tiny server
// =================================================================================================

TEST_CASE("s3_client http: a 3 MB PUT is sent with Content-Length, never chunked, without Expect") {
  TinyServer server([](const SeenRequest& req, int fd, TinyServer&) {
    return send_all(fd, http_response(200, "", {{"ETag", "\"" + md5_hex(req.body) + "\""}}));
  });
  const std::string data = random_bytes(3 << 20, 1);
  HttpClient http;

  auto src = source_of(data);
  auto r = http.request("PUT", server.url("/bucket/key"), {{"Content-Type", "application/octet-stream"}}, src.get(),
                        data.size());
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->status == 200);
  CHECK(r->header("etag") == "\"" + md5_hex(data) + "\"");  // case-insensitive lookup

  // The same through the in-memory overload, and a POST.
  r = http.request("PUT", server.url("/bucket/key2"), {}, std::string_view(data));
  REQUIRE(r.is_ok());
  r = http.request("POST", server.url("/hook"), {}, std::string_view(data));
  REQUIRE(r.is_ok());

  auto seen = server.requests();
  REQUIRE(seen.size() == 3);
  for (const auto& req : seen) {
    INFO(req.method << " " << req.target);
    CHECK(req.header("content-length") == std::to_string(data.size()));
    CHECK_FALSE(req.has("transfer-encoding"));
    CHECK_FALSE(req.chunked);
    CHECK_FALSE(req.has("expect"));
    CHECK(req.body == data);
  }
  CHECK(seen[0].method == "PUT");
  CHECK(seen[0].header("content-type") == "application/octet-stream");
  CHECK(seen[2].method == "POST");
  CHECK_FALSE(seen[2].has("content-type"));  // no form-urlencoded default
  CHECK(server.connections() == 1);          // kept alive
}

TEST_CASE("s3_client http: the path goes as is; methods; empty bodies; keep-alive") {
  TinyServer server([](const SeenRequest& req, int fd, TinyServer&) {
    if (req.method == "HEAD") return send_all(fd, http_response(200, "", {{"Content-Length", "12345"}}, true));
    if (req.method == "DELETE") return send_all(fd, http_response(204, "", {{"Content-Length", "0"}}));
    return send_all(fd, http_response(200, "hello " + req.target));
  });
  HttpClient http;
  auto r = http.request("GET", server.url("/a/../b//c?x=1&y=%2F"), {});
  REQUIRE(r.is_ok());
  CHECK(r->body == "hello /a/../b//c?x=1&y=%2F");

  r = http.request("HEAD", server.url("/obj"), {});
  REQUIRE(r.is_ok());
  CHECK(r->status == 200);
  CHECK(r->header("Content-Length") == "12345");
  CHECK(r->body.empty());

  r = http.request("DELETE", server.url("/obj"), {{"X-Custom", "1"}, {"X-Empty", ""}});
  REQUIRE(r.is_ok());
  CHECK(r->status == 204);

  r = http.request("PUT", server.url("/empty"), {});  // PUT without a body: Content-Length 0
  REQUIRE(r.is_ok());
  r = http.request("POST", server.url("/empty-post"), {});
  REQUIRE(r.is_ok());

  auto seen = server.requests();
  REQUIRE(seen.size() == 5);
  CHECK(seen[0].target == "/a/../b//c?x=1&y=%2F");
  CHECK(seen[1].method == "HEAD");
  CHECK(seen[2].method == "DELETE");
  CHECK(seen[2].header("x-custom") == "1");
  CHECK(seen[2].has("x-empty"));
  CHECK(seen[3].method == "PUT");
  CHECK(seen[3].header("content-length") == "0");
  CHECK(seen[4].method == "POST");
  CHECK(seen[4].header("content-length") == "0");
  for (const auto& s : seen) CHECK_FALSE(s.has("expect"));
  CHECK(server.connections() == 1);
}

TEST_CASE("s3_client http: statuses and S3 error XML become clear errors") {
  TinyServer server([](const SeenRequest& req, int fd, TinyServer&) {
    const std::string& t = req.target;
    if (t == "/403")
      return send_all(fd, http_response(403, s3_error_xml("SignatureDoesNotMatch",
                                                         "The request signature we calculated does not match")));
    if (t == "/404") return send_all(fd, http_response(404, s3_error_xml("NoSuchKey", "The specified key does not exist.")));
    if (t == "/503") return send_all(fd, http_response(503, s3_error_xml("SlowDown", "Please reduce your request rate.")));
    if (t == "/429") return send_all(fd, http_response(429, "too many"));
    if (t == "/400") return send_all(fd, http_response(400, "plain\ntext"));
    if (t == "/500") return send_all(fd, http_response(500, ""));
    if (t == "/expired")
      return send_all(fd, http_response(403, s3_error_xml("AccessDenied", "Request has expired")));
    if (t == "/expired-token")
      return send_all(fd, http_response(400, s3_error_xml("ExpiredToken", "The provided token has expired.")));
    if (t == "/entities")
      return send_all(fd, http_response(403, "<s3:Error xmlns:s3=\"x\"><s3:Code>AccessDenied</s3:Code>"
                                              "<s3:Message>a &amp; b &lt;c&gt; &#233;</s3:Message></s3:Error>"));
    if (t == "/bad-utf8")
      return send_all(fd, http_response(403, s3_error_xml("AccessDenied", "no \xFF\xFE entry\nINFO forged: line")));
    if (t == "/bad-utf8-text") return send_all(fd, http_response(403, "\xFF\xFE internal page"));
    if (t == "/long") return send_all(fd, http_response(403, s3_error_xml("AccessDenied", std::string(60000, 'm'))));
    if (t == "/bad-code") return send_all(fd, http_response(403, s3_error_xml("Access\nDenied\xFF", "x")));
    return send_all(fd, http_response(200, "fine"));
  });
  HttpClient http;
  auto status_of = [&](const char* path, HttpResponse* out = nullptr) {
    auto r = http.request("GET", server.url(path), {});
    REQUIRE(r.is_ok());
    if (out) *out = *r;
    return check_status(*r, std::string("GET ") + path);
  };

  CHECK(status_of("/ok").is_ok());

  HttpResponse resp;
  Status s = status_of("/403", &resp);
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(s.message().find("GET /403") != std::string::npos);
  CHECK(s.message().find("403") != std::string::npos);
  CHECK(s.message().find("SignatureDoesNotMatch") != std::string::npos);
  CHECK(s.message().find("The request signature we calculated") != std::string::npos);
  CHECK_FALSE(is_expired(resp));

  s = status_of("/404");
  CHECK(s.code() == ErrorCode::not_found);
  CHECK(s.message().find("NoSuchKey") != std::string::npos);
  s = status_of("/503");
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(s.message().find("SlowDown") != std::string::npos);
  // A body that is not an S3 error is never reflected (issue 21 item 5): the status only.
  s = status_of("/429");
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(s.message() == "GET /429: HTTP 429");
  s = status_of("/400");
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(s.message() == "GET /400: HTTP 400");
  s = status_of("/500");
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(s.message().find("HTTP 500") != std::string::npos);

  s = status_of("/expired", &resp);
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(is_expired(resp));
  s = status_of("/expired-token", &resp);
  CHECK(is_expired(resp));
  s = status_of("/entities", &resp);
  CHECK(s.message().find("AccessDenied: a & b <c> \xC3\xA9") != std::string::npos);
  CHECK_FALSE(is_expired(resp));

  // Issue 21 items 1, 5, 10: the peer's text is made valid UTF-8, one line, short.
  s = status_of("/bad-utf8");
  CHECK(s.message() == "GET /bad-utf8: HTTP 403 AccessDenied: no \xEF\xBF\xBD\xEF\xBF\xBD entry\\nINFO forged: line");
  s = status_of("/bad-utf8-text");
  CHECK(s.message() == "GET /bad-utf8-text: HTTP 403");
  s = status_of("/long");
  CHECK(s.message().size() < 200);
  CHECK(s.message().ends_with("mmm..."));
  s = status_of("/bad-code");  // a code that is not a plain token is dropped
  CHECK(s.message() == "GET /bad-code: HTTP 403: x");
}

TEST_CASE("s3_client http: connection refused is unavailable; the message has the URL but not its query") {
  HttpClient http;
  const std::string url =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/bucket/key?X-Amz-Signature=topsecretsig";
  auto r = http.request("GET", url, {});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::unavailable);
  const std::string m = r.status().message();  // status() is a copy
  INFO(m);
  CHECK(m.find("/bucket/key") != std::string::npos);
  CHECK(m.find("127.0.0.1") != std::string::npos);
  CHECK(m.find("topsecretsig") == std::string::npos);
  CHECK(m.find("X-Amz-Signature") == std::string::npos);

  // Also with a body.
  std::string data(1000, 'a');
  auto src = source_of(data);
  r = http.request("PUT", url, {}, src.get(), data.size());
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::unavailable);

  CHECK(strip_query("http://h/p?a=b#c") == "http://h/p");
  CHECK(strip_query("http://h/p#c") == "http://h/p");
  CHECK(strip_query("http://h/p") == "http://h/p");
}

TEST_CASE("s3_client http: a stalled server times out within the low-speed window") {
  TinyServer server([](const SeenRequest& req, int fd, TinyServer& self) {
    if (req.target == "/partial") {
      // Headers and a little of a big body, then nothing.
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n0123456789");
    }
    self.stall();
    return false;
  });
  HttpOptions o;
  o.connect_timeout_ms = 2000;
  o.low_speed_limit_bytes = 1000;
  o.low_speed_time_s = 1;
  HttpClient http(o);
  for (const char* path : {"/silent", "/partial"}) {
    INFO(path);
    auto t0 = std::chrono::steady_clock::now();
    auto r = http.request("GET", server.url(path), {});
    double took = seconds_since(t0);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::timeout);
    CHECK(took < 4.0);
    CHECK(r.status().message().find(path) != std::string::npos);
  }
  // A PUT whose answer never comes. (curl averages the speed over the last ~5 s: a big body sent
  // at once keeps the average above the limit for up to 5 s, so the body here is small.)
  std::string data(500, 'p');
  auto t0 = std::chrono::steady_clock::now();
  auto r = http.request("PUT", server.url("/silent-put"), {}, std::string_view(data));
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::timeout);
  CHECK(seconds_since(t0) < 4.0);

  // The total timeout, independently of the speed.
  HttpOptions t;
  t.total_timeout_ms = 300;
  t.low_speed_time_s = 0;
  HttpClient http2(t);
  t0 = std::chrono::steady_clock::now();
  r = http2.request("GET", server.url("/silent"), {});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::timeout);
  CHECK(seconds_since(t0) < 2.0);
}

TEST_CASE("s3_client http: a 2xx body streams to the sink; a sink can stop; error bodies are buffered") {
  const std::string big = random_bytes(1 << 20, 2);
  TinyServer server([&](const SeenRequest& req, int fd, TinyServer&) {
    if (req.target == "/missing") return send_all(fd, http_response(404, s3_error_xml("NoSuchKey", "nope")));
    if (req.target == "/huge-error") return send_all(fd, http_response(500, std::string(200000, 'e')));
    return send_all(fd, http_response(200, big));
  });
  HttpClient http;
  std::string got;
  size_t calls = 0;
  auto r = http.request("GET", server.url("/big"), {}, nullptr, 0, [&](const uint8_t* p, size_t n) {
    got.append(reinterpret_cast<const char*>(p), n);
    ++calls;
    return true;
  });
  REQUIRE(r.is_ok());
  CHECK(r->status == 200);
  CHECK(r->body.empty());
  CHECK(got == big);
  CHECK(calls > 1);

  size_t seen = 0;
  r = http.request("GET", server.url("/big"), {}, nullptr, 0, [&](const uint8_t*, size_t n) {
    seen += n;
    return false;
  });
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::cancelled);
  CHECK(seen > 0);

  bool called = false;
  r = http.request("GET", server.url("/missing"), {}, nullptr, 0, [&](const uint8_t*, size_t) {
    called = true;
    return true;
  });
  REQUIRE(r.is_ok());
  CHECK_FALSE(called);
  CHECK(r->status == 404);
  CHECK(check_status(*r, "GET").message().find("NoSuchKey: nope") != std::string::npos);

  r = http.request("GET", server.url("/huge-error"), {});
  REQUIRE(r.is_ok());
  CHECK(r->body.size() == 64 * 1024);

  // Without a sink a 2xx body is buffered whole.
  r = http.request("GET", server.url("/big"), {});
  REQUIRE(r.is_ok());
  CHECK(r->body == big);
}

TEST_CASE("s3_client http: a body source of the wrong length, or one that fails, fails the request") {
  TinyServer server([](const SeenRequest&, int fd, TinyServer&) { return send_all(fd, http_response(200, "")); });
  HttpClient http;
  const std::string data(50000, 'z');

  auto short_src = source_of(data);
  auto r = http.request("PUT", server.url("/short"), {}, short_src.get(), data.size() + 10);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().find("50000 of the 50010 bytes") != std::string::npos);

  auto long_src = source_of(data);
  r = http.request("PUT", server.url("/long"), {}, long_src.get(), data.size() - 10);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  CHECK(r.status().message().find("longer than") != std::string::npos);

  FailingSource failing(20000);
  r = http.request("PUT", server.url("/failing"), {}, &failing, 50000);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::io);
  CHECK(r.status().message().find("disk on fire") != std::string::npos);

  r = http.request("PUT", server.url("/x"), {}, nullptr, 10);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);

  // None of them reached the server whole; the client still works.
  for (const auto& req : server.requests()) CHECK(req.target == "/never");
  auto ok_src = source_of(data);
  r = http.request("PUT", server.url("/fine"), {}, ok_src.get(), data.size());
  REQUIRE(r.is_ok());
  CHECK(r->status == 200);
}

TEST_CASE("s3_client xml: entities, namespaces, CDATA, comments and malformed input") {
  CHECK(xml_decode("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;") == "a & b <c> \"d\" 'e'");
  CHECK(xml_decode("&#233;&#xE9;&#X1F600;&#65;") == "\xC3\xA9\xC3\xA9\xF0\x9F\x98\x80" "A");
  CHECK(xml_decode("&bogus; &#xZZ; & &amp") == "&bogus; &#xZZ; & &amp");
  CHECK(xml_decode("&#0;&#xD800;") == "&#0;&#xD800;");

  auto doc = parse_xml(
      "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<!-- a comment with <tags> -->"
      "<Name>b</Name><Contents><Key>k &amp; &#x263A; <![CDATA[<raw>&amp;]]></Key><Size>12</Size></Contents>"
      "<Contents><Key a=\"x>y\" b='1'>two</Key><Empty/></Contents>"
      "<p:IsTruncated>false</p:IsTruncated></ListBucketResult> trailing junk");
  REQUIRE_MESSAGE(doc.is_ok(), doc.status().to_string());
  CHECK(doc->name == "ListBucketResult");
  CHECK(doc->child_text("Name") == "b");
  CHECK(doc->child_text("IsTruncated") == "false");
  CHECK(doc->child_text("Nope").empty());
  REQUIRE(doc->children.size() == 4);
  CHECK(doc->children[1].child_text("Key") == "k & \xE2\x98\xBA <raw>&amp;");
  CHECK(doc->children[1].child_text("Size") == "12");
  CHECK(doc->children[2].child_text("Key") == "two");
  CHECK(doc->children[2].child("Empty") != nullptr);

  CHECK_FALSE(parse_xml("").is_ok());
  CHECK_FALSE(parse_xml("not xml").is_ok());
  CHECK_FALSE(parse_xml("<a><b></a>").is_ok());
  CHECK_FALSE(parse_xml("<a><b>").is_ok());
  CHECK_FALSE(parse_xml("<a").is_ok());
  CHECK(parse_xml("<a/>").is_ok());

  CHECK(content_md5_base64("", 0) == "1B2M2Y8AsgTpgAmY7PhCfg==");
  CHECK(content_md5_base64(std::string_view("hello")) == "XUFAKrxLKna5cZ2REBfFkg==");
}

TEST_CASE("s3_client retries: transient answers are retried, for bytes and for a ByteSource") {
  std::atomic<int> failures_left{2};
  TinyServer server([&](const SeenRequest&, int fd, TinyServer&) {
    if (failures_left-- > 0) return send_all(fd, http_response(503, s3_error_xml("SlowDown", "later")));
    return send_all(fd, http_response(200, "", {{"ETag", "\"e\""}}));
  });
  auto uri = S3Uri::parse("http://AK:SK@127.0.0.1:" + std::to_string(server.port()) + "/bucket?path_style=true");
  REQUIRE(uri.is_ok());
  S3Client client(*uri);

  auto t0 = std::chrono::steady_clock::now();
  Status s = client.put("k", std::string_view("bytes"));
  CHECK_MESSAGE(s.is_ok(), s.to_string());
  CHECK(server.requests().size() == 3);
  double took = seconds_since(t0);
  CHECK(took >= 0.29);  // 100 + 200 ms of back-off
  CHECK(took < 2.0);

  // A ByteSource is read into memory first (for Content-MD5): its PUT is retried the same way,
  // with the same bytes each time.
  failures_left = 2;
  std::string data = "source bytes";
  auto src = source_of(data);
  s = client.put("k", *src, data.size());
  CHECK_MESSAGE(s.is_ok(), s.to_string());
  REQUIRE(server.requests().size() == 6);
  for (size_t i = 3; i < 6; ++i) {
    CHECK(server.requests()[i].body == data);
    CHECK(server.requests()[i].header("content-md5") == content_md5_base64(data));
  }
  // ... and the last error comes back once the retries are spent.
  failures_left = 100;
  auto src2 = source_of(data);
  s = client.put("k", *src2, data.size());
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(s.message().find("SlowDown") != std::string::npos);
  CHECK(server.requests().size() == 10);

  // Every attempt fails: after 1 + retries attempts the last error comes back.
  failures_left = 100;
  S3ClientOptions o;
  o.retries = 2;
  S3Client two(*uri, o);
  s = two.put("k", std::string_view("x"));
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(server.requests().size() == 13);

  // The signed request: Content-MD5, unsigned payload, signature headers.
  auto last = server.requests().back();
  CHECK(last.method == "PUT");
  CHECK(last.target == "/bucket/k");
  CHECK(last.header("content-md5") == content_md5_base64(std::string_view("x")));
  CHECK(last.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD");
  CHECK(last.header("authorization").rfind("AWS4-HMAC-SHA256 Credential=AK/", 0) == 0);
  CHECK(last.has("x-amz-date"));
}

TEST_CASE("s3_client retries: put_presigned_file sends the whole file again after a transient failure, not after a 403") {
  std::atomic<int> failures_left{2};
  std::atomic<int> forbid{0};
  TinyServer server([&](const SeenRequest&, int fd, TinyServer&) {
    if (forbid > 0) return send_all(fd, http_response(403, s3_error_xml("AccessDenied", "Request has expired")));
    if (failures_left-- > 0) return send_all(fd, http_response(500, s3_error_xml("InternalError", "oops")));
    return send_all(fd, http_response(200, "", {{"ETag", "\"e\""}}));
  });
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("roomrec-presigned-" + std::to_string(::getpid()) + ".webm")).string();
  const std::string data = random_bytes(300000, 5);
  std::ofstream(path, std::ios::binary) << data;
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) +
                          "/bucket/room.webm?X-Amz-Signature=abc&X-Amz-Expires=600";
  HttpClient http;
  Status s = put_presigned_file(http, url, path);
  CHECK_MESSAGE(s.is_ok(), s.to_string());
  REQUIRE(server.requests().size() == 3);
  for (const auto& r : server.requests()) {
    CHECK(r.method == "PUT");
    CHECK(r.body.size() == data.size());
    CHECK(r.body == data);
  }

  // Retries spent: the last error, without the signature.
  failures_left = 100;
  s = put_presigned_file(http, url, path, 1);
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(s.message().find("abc") == std::string::npos);
  CHECK(server.requests().size() == 5);

  // A 403 (expired or forged URL) is final.
  forbid = 1;
  s = put_presigned_file(http, url, path);
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(server.requests().size() == 6);

  // No file: an error before any request.
  std::filesystem::remove(path);
  s = put_presigned_file(http, url, path);
  CHECK_FALSE(s.is_ok());
  CHECK(server.requests().size() == 6);
}

TEST_CASE("s3_client retries: not for 4xx, not once a streamed body has reached the sink") {
  std::atomic<int> mode{0};
  TinyServer server([&](const SeenRequest&, int fd, TinyServer&) {
    switch (mode.load()) {
      case 0: return send_all(fd, http_response(403, s3_error_xml("AccessDenied", "no")));
      case 1:  // a 200 whose body breaks off: the sink has bytes, no retry
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
        return false;
      case 2:  // breaks off before the body: retried
        mode = 3;
        return false;
      default: return send_all(fd, http_response(200, "whole body"));
    }
  });
  auto uri = S3Uri::parse("http://AK:SK@127.0.0.1:" + std::to_string(server.port()) + "/bucket?path_style=true");
  REQUIRE(uri.is_ok());
  S3Client client(*uri);
  Status s = client.remove("k");
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(server.requests().size() == 1);

  mode = 1;
  std::string got;
  auto sink = [&](const uint8_t* p, size_t n) {
    got.append(reinterpret_cast<const char*>(p), n);
    return true;
  };
  s = client.get("k", sink);
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK(got == "0123456789");
  CHECK(server.requests().size() == 2);

  mode = 2;
  got.clear();
  s = client.get("k", sink);
  CHECK_MESSAGE(s.is_ok(), s.to_string());
  CHECK(got == "whole body");
  CHECK(server.requests().size() == 4);
  auto last = server.requests().back();
  CHECK(last.method == "GET");
  CHECK(last.header("x-amz-content-sha256") == sha256_hex("", 0));
}

// =================================================================================================
// S3Client against s3rver
// =================================================================================================

TEST_CASE("s3_client s3rver: put, get, head, remove round trip with binary bytes") {
  auto& s3 = shared_s3();
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "rt");
  S3Client client(uri);
  std::string data = random_bytes(300000, 3);
  for (int b = 0; b < 256; ++b) data[static_cast<size_t>(b)] = static_cast<char>(b);
  const std::string key = uri.key("obj.bin");
  CHECK(key == "rt/obj.bin");

  Status s = client.put(key, data);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());

  auto got = client.get(key);
  REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
  CHECK(*got == data);

  std::string streamed;
  s = client.get(key, [&](const uint8_t* p, size_t n) {
    streamed.append(reinterpret_cast<const char*>(p), n);
    return true;
  });
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(streamed == data);

  auto info = client.head(key);
  REQUIRE_MESSAGE(info.is_ok(), info.status().to_string());
  CHECK(info->key == key);
  CHECK(info->size == data.size());
  CHECK(info->etag == md5_hex(data));

  // The ByteSource overload, and an empty object.
  auto src = source_of(data);
  s = client.put(uri.key("obj2.bin"), *src, data.size(), "video/webm");
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(client.get(uri.key("obj2.bin")).value() == data);
  s = client.put(uri.key("empty"), std::string_view());
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(client.get(uri.key("empty")).value().empty());
  CHECK(client.head(uri.key("empty")).value().size == 0);

  // A short source is refused before anything is sent.
  auto short_src = source_of(std::string_view(data).substr(0, 100));
  s = client.put(uri.key("short"), *short_src, 200);
  CHECK(s.code() == ErrorCode::invalid_argument);
  CHECK(client.head(uri.key("short")).status().code() == ErrorCode::not_found);

  s = client.remove(key);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  auto gone = client.head(key);
  REQUIRE_FALSE(gone.is_ok());
  CHECK(gone.status().code() == ErrorCode::not_found);
  auto gone2 = client.get(key);
  REQUIRE_FALSE(gone2.is_ok());
  CHECK(gone2.status().code() == ErrorCode::not_found);
  CHECK(gone2.status().message().find("NoSuchKey") != std::string::npos);
  CHECK(client.remove(key).is_ok());  // deleting a missing key is fine, as on S3

  // Another bucket on the same server.
  S3Client other(uri_of(s3, "", "roomrec-other"));
  REQUIRE(other.put("x", std::string_view("other")).is_ok());
  CHECK(other.get("x").value() == "other");
  CHECK(client.get("x").status().code() == ErrorCode::not_found);
}

TEST_CASE("s3_client s3rver: keys with unicode, spaces and reserved characters") {
  auto& s3 = shared_s3();
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "weird keys");
  S3Client client(uri);
  const std::vector<std::string> rels = {
      "with space/and  two.bin",
      "ünïcödé/✓/日本.bin",
      "reserved/a+b=c&d;e,f:g@h$i!j'k(l)m*n~o.p_q-r",
      "pct%20not-decoded%2F",
      "amp&lt;not-an-entity",
  };
  std::set<std::string> keys;
  for (size_t i = 0; i < rels.size(); ++i) {
    const std::string key = uri.key(rels[i]);
    INFO(key);
    keys.insert(key);
    const std::string body = "body " + std::to_string(i);
    Status s = client.put(key, body);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    auto got = client.get(key);
    REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
    CHECK(*got == body);
    auto info = client.head(key);
    REQUIRE_MESSAGE(info.is_ok(), info.status().to_string());
    CHECK(info->size == body.size());
  }
  auto listed = client.list(uri.key(""));
  REQUIRE_MESSAGE(listed.is_ok(), listed.status().to_string());
  // s3rver escapes XML text twice (he.escape, then its XML builder again): a key with & ' < > "
  // comes back as "&amp;amp;" and cannot be compared; real S3 escapes once, which parse_xml decodes.
  auto xml_safe = [](const std::string& k) { return k.find_first_of("&'<>\"") == std::string::npos; };
  std::set<std::string> got, want;
  for (const auto& o : listed->objects)
    if (xml_safe(o.key)) got.insert(o.key);
  for (const auto& k : keys)
    if (xml_safe(k)) want.insert(k);
  CHECK(listed->objects.size() == keys.size());
  CHECK(want.size() == 3);
  CHECK(got == want);
}

TEST_CASE("s3_client s3rver: a wrong secret is permission_denied with SignatureDoesNotMatch") {
  auto& s3 = shared_s3();
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "denied");
  uri.secret_key = "not-the-secret";
  S3Client client(uri);
  Status s = client.put(uri.key("x"), std::string_view("data"));
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(s.message().find("SignatureDoesNotMatch") != std::string::npos);
  CHECK(s.message().find("403") != std::string::npos);
  auto got = client.get(uri.key("x"));
  CHECK(got.status().code() == ErrorCode::permission_denied);
  auto listed = client.list(uri.key(""));
  CHECK(listed.status().code() == ErrorCode::permission_denied);

  uri.access_key = "NOBODY";
  S3Client unknown(uri);
  s = unknown.put(uri.key("x"), std::string_view("data"));
  CHECK(s.code() == ErrorCode::permission_denied);
}

TEST_CASE("s3_client s3rver: listing 2,500 keys follows continuation tokens; delimiter gives common prefixes") {
  auto& s3 = shared_s3();
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "many");
  constexpr int kKeys = 2500;
  constexpr int kThreads = 4;
  auto key_of = [&](int i) {
    char name[32];
    std::snprintf(name, sizeof name, "k%05d", i);
    return uri.key(name);
  };
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::string first_error;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      S3Client client(uri);
      for (int i = t; i < kKeys; i += kThreads) {
        Status s = client.put(key_of(i), std::to_string(i));
        if (!s) {
          std::lock_guard lock(mu);
          if (failures++ == 0) first_error = s.to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE_MESSAGE(failures == 0, first_error);

  S3Client client(uri);
  auto listed = client.list(uri.key("") + "/");
  REQUIRE_MESSAGE(listed.is_ok(), listed.status().to_string());
  REQUIRE(listed->objects.size() == kKeys);
  for (int i = 0; i < kKeys; ++i) {
    CHECK(listed->objects[static_cast<size_t>(i)].key == key_of(i));
    CHECK(listed->objects[static_cast<size_t>(i)].size == std::to_string(i).size());
  }
  CHECK(listed->objects[7].etag == md5_hex("7"));
  CHECK(listed->common_prefixes.empty());

  // A prefix with nothing under it.
  auto none = client.list(uri.key("nothing-here/"));
  REQUIRE(none.is_ok());
  CHECK(none->objects.empty());

  // Delimiter listing.
  S3Uri duri = uri_of(s3, "delim");
  S3Client d(duri);
  // (s3rver only finds a common prefix through a key right below it: "b/1" makes "b/" appear, "b/c/1" alone would not.)
  for (const char* k : {"a/1", "a/2", "b/1", "b/c/1", "top1", "top2"})
    REQUIRE(d.put(duri.key(k), std::string_view("x")).is_ok());
  auto dl = d.list(duri.key("") + "/", "/");
  REQUIRE_MESSAGE(dl.is_ok(), dl.status().to_string());
  CHECK(dl->common_prefixes == std::vector<std::string>{"delim/a/", "delim/b/"});
  REQUIRE(dl->objects.size() == 2);
  CHECK(dl->objects[0].key == "delim/top1");
  CHECK(dl->objects[1].key == "delim/top2");
  auto sub = d.list(duri.key("b/"), "/");
  REQUIRE(sub.is_ok());
  CHECK(sub->common_prefixes == std::vector<std::string>{"delim/b/c/"});
  REQUIRE(sub->objects.size() == 1);
  CHECK(sub->objects[0].key == "delim/b/1");
}

TEST_CASE("s3_client s3rver: multipart upload of about 12 MB, from bytes and from a ByteSource") {
  auto& s3 = shared_s3();
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "multi");
  S3ClientOptions o;
  o.multipart_threshold = 5ull << 20;
  o.part_size = 5ull << 20;
  S3Client client(uri, o);
  const std::string data = random_bytes(12 * 1000 * 1000 + 17, 4);

  Status s = client.put(uri.key("big.bin"), data);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  auto got = client.get(uri.key("big.bin"));
  REQUIRE(got.is_ok());
  CHECK(got->size() == data.size());
  CHECK(*got == data);
  auto info = client.head(uri.key("big.bin"));
  REQUIRE(info.is_ok());
  CHECK(info->size == data.size());
  CHECK_FALSE(info->etag.empty());

  auto src = source_of(data);
  s = client.put(uri.key("big2.bin"), *src, data.size());
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  std::string streamed;
  s = client.get(uri.key("big2.bin"), [&](const uint8_t* p, size_t n) {
    streamed.append(reinterpret_cast<const char*>(p), n);
    return true;
  });
  REQUIRE(s.is_ok());
  CHECK(streamed == data);

  // A source that fails in the second part: the upload is aborted and nothing appears.
  FailingSource failing(6u << 20);
  s = client.put(uri.key("broken.bin"), failing, data.size());
  CHECK(s.code() == ErrorCode::io);
  CHECK(client.head(uri.key("broken.bin")).status().code() == ErrorCode::not_found);
}

TEST_CASE("s3_client s3rver: put_presigned with a URL from presign_url") {
  auto& s3 = shared_s3();
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "presigned");
  const std::string data = random_bytes(200000, 5);
  auto url = presign_url(uri, "PUT", "chunk 1.bin", static_cast<int64_t>(std::time(nullptr)), 300);
  REQUIRE_MESSAGE(url.is_ok(), url.status().to_string());
  HttpClient http;
  auto src = source_of(data);
  Status s = put_presigned(http, *url, *src, data.size(), content_md5_base64(data));
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  S3Client client(uri);
  auto got = client.get(uri.key("chunk 1.bin"));
  REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
  CHECK(*got == data);

  // An expired URL: permission_denied, recognised as expired, no signature in the message.
  auto old = presign_url(uri, "PUT", "late.bin", static_cast<int64_t>(std::time(nullptr)) - 3600, 60);
  REQUIRE(old.is_ok());
  auto src2 = source_of(data);
  s = put_presigned(http, *old, *src2, data.size(), "");
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(s.message().find("X-Amz-Signature") == std::string::npos);
  auto src3 = source_of(data);
  auto raw = http.request("PUT", *old, {}, src3.get(), data.size());
  REQUIRE(raw.is_ok());
  CHECK(is_expired(*raw));

  // A tampered signature.
  std::string bad = *url;
  size_t at = bad.find("X-Amz-Signature=");
  REQUIRE(at != std::string::npos);
  bad[at + 16] = bad[at + 16] == '0' ? '1' : '0';
  auto src4 = source_of(data);
  s = put_presigned(http, bad, *src4, data.size(), "");
  CHECK(s.code() == ErrorCode::permission_denied);
  CHECK(s.message().find("SignatureDoesNotMatch") != std::string::npos);
}

TEST_CASE("s3_client s3rver: the fixture stops and restarts on the same port and data") {
  S3rverProcess s3;
  REQUIRE_S3RVER(s3);
  S3Uri uri = uri_of(s3, "restart");
  S3ClientOptions o;
  o.retries = 1;
  S3Client client(uri, o);
  REQUIRE(client.put(uri.key("kept"), std::string_view("still here")).is_ok());
  const uint16_t port = s3.port();

  s3.stop();
  CHECK_FALSE(s3.running());
  Status s = client.put(uri.key("lost"), std::string_view("x"));
  CHECK(s.code() == ErrorCode::unavailable);
  auto got = client.get(uri.key("kept"));
  CHECK(got.status().code() == ErrorCode::unavailable);

  REQUIRE_MESSAGE(s3.restart(), s3.reason());
  CHECK(s3.port() == port);
  got = client.get(uri.key("kept"));  // the same client: its dead keep-alive connection is replaced
  REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
  CHECK(*got == "still here");
  CHECK(s3.s3_uri("b", "p q") == "http://S3RVER:S3RVER@127.0.0.1:" + std::to_string(port) + "/b/p%20q?path_style=true");
}
