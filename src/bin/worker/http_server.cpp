#include "worker/http_server.h"

#include <microhttpd.h>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "util/text.h"

namespace roomrec::worker {
namespace {

using Clock = std::chrono::steady_clock;

// One accepted connection, watched for its request deadline.
struct Conn {
  int fd = -1;
  Clock::time_point deadline;
  bool request_done = false;  // the whole request arrived: no deadline any more
  bool shut = false;          // shut down by the deadline
};

// One request on a connection (MHD's req_cls).
struct Req {
  HttpRequest request;
  bool answered = false;   // a response is queued
  bool too_large = false;
};

bool parse_size(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (util::iequals(k, name)) return v;
  return {};
}

struct HttpServer::Impl {
  HttpServerOptions opt;
  Gate gate;
  Handler handler;
  Observer observer;
  ErrorBody error_body;
  MHD_Daemon* daemon = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::set<Conn*> conns;
  std::thread sweeper;

  // ---- MHD callbacks (on MHD's threads) ----

  static void on_connection(void* cls, MHD_Connection* c, void** socket_context, MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<Impl*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      auto* conn = new Conn;
      const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
      conn->fd = ci ? ci->connect_fd : -1;
      conn->deadline = Clock::now() + std::chrono::seconds(self->opt.request_deadline_seconds);
      std::lock_guard lock(self->mu);
      self->conns.insert(conn);
      *socket_context = conn;
    } else {
      // Called before MHD closes the socket: once erased, the sweeper never
      // touches this descriptor number again.
      auto* conn = static_cast<Conn*>(*socket_context);
      if (!conn) return;
      {
        std::lock_guard lock(self->mu);
        self->conns.erase(conn);
      }
      delete conn;
      *socket_context = nullptr;
    }
  }

  static void on_completed(void*, MHD_Connection*, void** req_cls, MHD_RequestTerminationCode) {
    delete static_cast<Req*>(*req_cls);
    *req_cls = nullptr;
  }

  void request_done(MHD_Connection* c) {
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!ci || !ci->socket_context) return;
    std::lock_guard lock(mu);
    static_cast<Conn*>(ci->socket_context)->request_done = true;
  }

  MHD_Result queue(MHD_Connection* c, Req& r, const HttpResponse& res) {
    r.answered = true;
    request_done(c);
    MHD_Response* m =
        MHD_create_response_from_buffer(res.body.size(), const_cast<char*>(res.body.data()), MHD_RESPMEM_MUST_COPY);
    if (!m) return MHD_NO;
    MHD_add_response_header(m, "Content-Type", res.content_type.c_str());
    for (const auto& [k, v] : res.headers) MHD_add_response_header(m, k.c_str(), v.c_str());
    MHD_add_response_header(m, "Connection", "close");  // one request per connection (see the header)
    MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(res.status), m);
    MHD_destroy_response(m);
    if (observer) observer(r.request, res.status);
    return ret;
  }

  MHD_Result server_error(MHD_Connection* c, Req& r, int status, const std::string& message) {
    HttpResponse res;
    res.status = status;
    if (error_body) error_body(res, message);
    return queue(c, r, res);
  }

  static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                               const char* upload_data, size_t* upload_data_size, void** req_cls) {
    auto* self = static_cast<Impl*>(cls);
    try {
      return self->request(c, url, method, upload_data, upload_data_size, req_cls);
    } catch (...) {
      return MHD_NO;  // nothing thrown may reach C code: the connection is dropped
    }
  }

  MHD_Result request(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                     size_t* upload_data_size, void** req_cls) {
    auto* r = static_cast<Req*>(*req_cls);
    if (!r) {
      // First call: request line and headers only, no body byte read yet.
      r = new Req;
      *req_cls = r;
      r->request.method = method ? method : "";
      r->request.path = url ? url : "";
      MHD_get_connection_values(
          c, MHD_HEADER_KIND,
          [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
            static_cast<HttpRequest*>(cls)->headers.emplace_back(key ? key : "", value ? value : "");
            return MHD_YES;
          },
          &r->request);
      const std::string length = r->request.header("Content-Length");
      uint64_t declared = 0;
      if (!length.empty() && (!parse_size(length, declared) || declared > opt.max_body_bytes))
        return server_error(c, *r, 413, "request body too large (over " + std::to_string(opt.max_body_bytes) + " bytes)");
      HttpResponse res;
      if (gate && gate(r->request, res)) return queue(c, *r, res);
      return MHD_YES;  // read the body (MHD answers "Expect: 100-continue" now)
    }
    if (*upload_data_size != 0) {
      const size_t n = *upload_data_size;
      *upload_data_size = 0;
      if (r->answered || r->too_large) return MHD_YES;  // dropped
      if (r->request.body.size() + n > opt.max_body_bytes) {
        // A chunked body past the limit: drop what was kept and the connection.
        r->too_large = true;
        std::string().swap(r->request.body);
        // 413 when MHD still takes an answer at this point, else the connection is dropped.
        if (server_error(c, *r, 413, "request body too large (over " + std::to_string(opt.max_body_bytes) +
                                         " bytes)") == MHD_YES)
          return MHD_YES;
        return MHD_NO;
      }
      r->request.body.append(upload_data, n);
      return MHD_YES;
    }
    if (r->answered) return MHD_YES;
    if (r->too_large) return MHD_NO;
    HttpResponse res;
    handler(r->request, res);
    return queue(c, *r, res);
  }

  void sweep() {
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait_for(lock, std::chrono::milliseconds(200));
      const auto now = Clock::now();
      for (Conn* conn : conns) {
        if (conn->request_done || conn->shut || conn->fd < 0 || now < conn->deadline) continue;
        // Past the deadline: the blocked reads end, MHD closes the connection.
        ::shutdown(conn->fd, SHUT_RDWR);
        conn->shut = true;
      }
    }
  }
};

HttpServer::HttpServer(HttpServerOptions options, Gate gate, Handler handler, Observer observer, ErrorBody error_body)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->gate = std::move(gate);
  impl_->handler = std::move(handler);
  impl_->observer = std::move(observer);
  impl_->error_body = std::move(error_body);
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  Impl& m = *impl_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(m.opt.port);
  if (int rc = ::getaddrinfo(m.opt.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return Status::error(ErrorCode::invalid_argument, "cannot resolve " + m.opt.host + ": " + gai_strerror(rc));
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) break;
    why = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) return Status::error(ErrorCode::unavailable, "cannot listen on " + m.opt.host + ":" + port + ": " + why);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (bound.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  m.daemon = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Impl::on_request, &m,
      MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(std::max(1u, m.opt.threads)),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(m.opt.max_connections),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<unsigned>(m.opt.max_connections_per_client),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(m.opt.request_deadline_seconds),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(m.opt.connection_memory_bytes),
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::on_connection, &m,
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed, &m,
      MHD_OPTION_END);
  if (!m.daemon) {
    ::close(fd);
    return Status::error(ErrorCode::unavailable, "cannot start the HTTP server on " + m.opt.host + ":" + port);
  }
  m.stopping = false;
  m.sweeper = std::thread([&m] { m.sweep(); });
  return Status::ok();
}

bool HttpServer::running() const { return impl_->daemon != nullptr; }

void HttpServer::stop() {
  Impl& m = *impl_;
  if (!m.daemon) return;
  MHD_stop_daemon(m.daemon);  // closes every connection (each CLOSED notification runs)
  m.daemon = nullptr;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
  }
  m.cv.notify_all();
  if (m.sweeper.joinable()) m.sweeper.join();
}

}  // namespace roomrec::worker
