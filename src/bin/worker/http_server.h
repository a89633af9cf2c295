// The worker's HTTP server: GNU libmicrohttpd (Debian libmicrohttpd-dev),
// event-driven (epoll threads, not a thread per connection), wrapped so the
// API sees whole requests and never an attacker's unbounded input.
//
// Why not cpp-httplib 0.11 (Debian's, used before; issue 21 items 2 and 3):
// it reads a chunked body, or a POST body without Content-Length, whole into
// memory before any handler runs (set_payload_max_length covers
// Content-Length only); it reads a request or header line whole before its
// length check; it has a per-read timeout and no deadline for a request, and
// runs each connection on one thread of a small pool, so eight slow clients
// stop the API. libmicrohttpd keeps each connection's request line and
// headers in a fixed memory pool (over it: 431/414), hands upload data to the
// application piece by piece for every transfer encoding (Content-Length,
// chunked), limits connections overall and per client address, and serves
// all connections from its polling threads.
//
// What this wrapper adds, before any body byte is read:
// - the gate: called with the request line and headers only; it may answer
//   at once (401 without a valid token, 503 while draining), and the body is
//   then never read;
// - a declared Content-Length over max_body_bytes is answered 413 at once; a
//   chunked body is counted as it arrives and the connection is dropped the
//   moment it passes max_body_bytes (what was kept is freed);
// - a deadline for the whole request (line, headers and body) from the
//   moment the connection was accepted: past it the socket is shut down,
//   however slowly the client trickles bytes; every answer closes the
//   connection (no keep-alive), so each connection carries one request.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roomrec::worker {

struct HttpRequest {
  std::string method;
  std::string path;  // percent-decoded by the server, no query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty in the gate
  // The first header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 0;                       // 0: any free port (port() says which)
  size_t max_body_bytes = 64 * 1024;
  unsigned request_deadline_seconds = 10;  // accept -> whole request received
  unsigned max_connections = 512;          // open at once, all clients
  unsigned max_connections_per_client = 64;  // open at once from one address
  unsigned threads = 2;                    // polling threads
  size_t connection_memory_bytes = 32 * 1024;  // request line + headers of one connection
};

class HttpServer {
 public:
  // Headers only; true when it answered (the body is then not read).
  using Gate = std::function<bool(const HttpRequest&, HttpResponse&)>;
  // The whole request; fills the answer.
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // Every answer the server or the API gave (for the request counter).
  using Observer = std::function<void(const HttpRequest&, int status)>;
  // Answers the server makes itself (413, 431, ...): status and message to body.
  using ErrorBody = std::function<void(HttpResponse&, const std::string& message)>;

  HttpServer(HttpServerOptions options, Gate gate, Handler handler, Observer observer, ErrorBody error_body);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on the server's own threads.
  Status start();
  uint16_t port() const { return port_; }
  bool running() const;
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace roomrec::worker
