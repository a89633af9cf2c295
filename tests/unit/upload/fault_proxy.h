// A fault-injecting HTTP front for tests: each request gets its own
// connection, and a share of them fail in one of several ways before (or
// after) reaching the real server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace roomrec::testing {

class FaultProxy {
 public:
  enum Fault { none = 0, error_500, reset_before, reset_after_forward, stall, fault_count };

  FaultProxy(int upstream_port, double fault_rate, uint32_t seed = 1)
      : upstream_(upstream_port), rate_(fault_rate), rng_(seed) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~FaultProxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    accept_thread_.join();
    std::lock_guard lock(mu_);
    for (auto& t : workers_) t.join();
  }

  int port() const { return port_; }
  uint64_t count(Fault f) const { return counts_[f].load(); }
  uint64_t faults() const {
    uint64_t n = 0;
    for (int f = 1; f < fault_count; ++f) n += counts_[f].load();
    return n;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      Fault f = none;
      {
        std::lock_guard lock(mu_);
        if (std::uniform_real_distribution<double>(0, 1)(rng_) < rate_)
          f = static_cast<Fault>(1 + rng_() % (fault_count - 1));
        workers_.emplace_back([this, c, f] { serve(c, f); });
      }
    }
  }

  static bool read_request(int fd, std::string& head, std::string& body) {
    std::string buf;
    char tmp[65536];
    size_t header_end = std::string::npos;
    while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
    }
    head = buf.substr(0, header_end + 4);
    body = buf.substr(header_end + 4);
    size_t want = 0;
    std::string lower = head;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto cl = lower.find("\r\ncontent-length:");
    if (cl != std::string::npos) want = std::stoull(lower.substr(cl + 17));
    while (body.size() < want) {
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      body.append(tmp, static_cast<size_t>(n));
    }
    return true;
  }

  static void send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  static void reset(int fd) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
  }

  void serve(int c, Fault f) {
    std::string head, body;
    if (!read_request(c, head, body)) {
      ::close(c);
      return;
    }
    counts_[f]++;
    if (f == error_500) {
      std::string xml = "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>";
      send_all(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: " +
                      std::to_string(xml.size()) + "\r\nConnection: close\r\n\r\n" + xml);
      ::close(c);
      return;
    }
    if (f == reset_before) return reset(c);
    if (f == stall) {
      for (int i = 0; i < 40 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ::close(c);
      return;
    }
    // Forward on a fresh upstream connection, one request per connection.
    int u = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_));
    if (::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(u);
      return reset(c);
    }
    // Ask for the connection to close after the answer (Connection is not signed).
    std::string h = head.substr(0, head.size() - 2) + "Connection: close\r\n\r\n";
    send_all(u, h);
    send_all(u, body);
    std::string response;
    char tmp[65536];
    for (;;) {
      pollfd p{u, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) break;
      ssize_t n = ::recv(u, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      response.append(tmp, static_cast<size_t>(n));
    }
    ::close(u);
    if (f == reset_after_forward) return reset(c);  // the server did it; the client never hears
    send_all(c, response);
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }

  int upstream_;
  double rate_;
  std::mt19937 rng_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> counts_[fault_count]{};
};

}  // namespace roomrec::testing
