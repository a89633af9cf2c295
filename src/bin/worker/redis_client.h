// The worker's Redis connection (--queue): Debian's hiredis, one connection
// shared by the worker's threads (every command is short; none blocks on the
// server), commands sent as argument vectors (no formatting of outside text).
//
// Connection trouble is a value: the command answers `unavailable`, the
// connection is dropped and the next command reconnects, not before a back-off
// (100 ms doubling to 5 s, with jitter) so a Redis that is down costs nothing
// per request. The URL's password is never logged nor put in a message.
#pragma once

#include <roomrec/status.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace roomrec::worker {

// redis://[user:password@]host:port/db ("redis://:password@host:port/db"
// for a password without a user; port 6379 and db 0 when absent).
struct RedisUrl {
  std::string user, password, host;
  uint16_t port = 6379;
  unsigned db = 0;

  // The message never quotes the URL (it may hold a password).
  static Result<RedisUrl> parse(std::string_view text);
  // redis://user:***@host:port/db: safe for logs.
  std::string redacted() const;
};

// A reply, owned.
struct RedisValue {
  enum class Type { nil, string, integer, array, status } type = Type::nil;
  std::string str;
  long long integer = 0;
  std::vector<RedisValue> elements;

  bool is_nil() const { return type == Type::nil; }
};

class RedisClient {
 public:
  // `timeout`: connecting, and waiting for each reply.
  RedisClient(RedisUrl url, std::chrono::milliseconds timeout);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command. `unavailable`: Redis not reachable (now, or in back-off),
  // or busy loading its data; `internal`: an error reply (its text).
  Result<RedisValue> command(const std::vector<std::string>& args);

  bool up() const;            // the last command reached Redis
  // When the connection in use was made (steady clock); epoch when none.
  std::chrono::steady_clock::time_point connected_at() const;
  uint64_t errors() const;    // commands that failed
  const RedisUrl& url() const { return url_; }

 private:
  Status connect_locked();
  void drop_locked(const std::string& why);

  const RedisUrl url_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  redisContext* ctx_ = nullptr;
  bool up_ = false, ever_up_ = false, down_logged_ = false;
  std::string last_error_;
  std::chrono::steady_clock::time_point retry_at_{}, connected_at_{};
  std::chrono::milliseconds backoff_{0};
  uint64_t errors_ = 0;
};

}  // namespace roomrec::worker
