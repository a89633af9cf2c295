#include "worker/redis_client.h"

#include <roomrec/log.h>

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <random>

#include "util/percent.h"
#include "util/utf8.h"

namespace roomrec::worker {
namespace {

constexpr const char* kComponent = "redis";
constexpr std::chrono::milliseconds kFirstBackoff{100}, kMaxBackoff{5000};

Status bad(std::string m) { return Status::error(ErrorCode::invalid_argument, "--queue: " + std::move(m)); }

RedisValue convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::array;
      v.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default: v.type = RedisValue::Type::nil; break;
  }
  return v;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

Result<RedisUrl> RedisUrl::parse(std::string_view text) {
  constexpr std::string_view scheme = "redis://";
  if (text.starts_with("rediss://"))
    return bad("rediss:// (TLS) is not supported by Debian's hiredis 0.14; reach a TLS Redis through a local "
               "TLS tunnel (stunnel, spiped) and give its redis:// address");
  if (!text.starts_with(scheme)) return bad("must be redis://[user:password@]host:port/db");
  std::string_view rest = text.substr(scheme.size());
  RedisUrl u;
  // The authority ends at the first '/'; the user info at its last '@'.
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) return bad("the user info must be user:password@ or :password@");
    auto user = util::percent_decode(userinfo.substr(0, colon));
    auto pass = util::percent_decode(userinfo.substr(colon + 1));
    if (!user || !pass) return bad("bad percent-encoding in the user or password");
    if (!user->empty() && pass->empty()) return bad("a user needs a password (user:password@)");
    u.user = *user;
    u.password = *pass;
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected :port after the host");
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("no host");
  for (char c : u.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
      return bad("the host must be a name or an address");
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
      return bad("the port must be a number from 1 to 65535");
    u.port = static_cast<uint16_t>(p);
  }
  if (const size_t q = path.find('?'); q != std::string_view::npos) return bad("no query parameters are known");
  if (!path.empty()) {
    unsigned db = 0;
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db > 100'000)
      return bad("the path must be a database number (/0)");
    u.db = db;
  }
  return u;
}

std::string RedisUrl::redacted() const {
  std::string s = "redis://";
  if (!user.empty() || !password.empty()) s += user + (password.empty() ? "" : ":***") + "@";
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return s + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisClient::RedisClient(RedisUrl url, std::chrono::milliseconds timeout) : url_(std::move(url)), timeout_(timeout) {}

RedisClient::~RedisClient() {
  if (ctx_) redisFree(ctx_);
}

void RedisClient::drop_locked(const std::string& why) {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  errors_++;
  last_error_ = why;
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(kMaxBackoff, backoff_ * 2);
  static thread_local std::minstd_rand jitter(std::random_device{}());
  const auto wait = backoff_ * (80 + static_cast<int>(jitter() % 41)) / 100;  // ±20%
  retry_at_ = std::chrono::steady_clock::now() + wait;
  if (up_ || !down_logged_) {
    log_message(LogLevel::warn, kComponent,
                url_.redacted() + " unreachable: " + why + "; reconnecting with back-off (up to 5 s)");
    down_logged_ = true;
  }
  up_ = false;
}

Status RedisClient::connect_locked() {
  redisContext* c = redisConnectWithTimeout(url_.host.c_str(), url_.port, to_timeval(timeout_));
  if (!c || c->err) {
    const std::string why = c ? util::printable_text(c->errstr, 200) : "out of memory";
    if (c) redisFree(c);
    drop_locked("cannot connect: " + why);
    return Status::error(ErrorCode::unavailable, last_error_);
  }
  redisSetTimeout(c, to_timeval(timeout_));
  redisEnableKeepAlive(c);
  ctx_ = c;
  auto handshake = [&](std::vector<std::string> args, const char* what) -> Status {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!r) {
      drop_locked(std::string(what) + ": " + util::printable_text(ctx_ ? ctx_->errstr : "no reply", 200));
      return Status::error(ErrorCode::unavailable, last_error_);
    }
    Status s;
    if (r->type == REDIS_REPLY_ERROR) {
      // The server's text (WRONGPASS ..., NOAUTH ...) never holds the password sent.
      s = Status::error(ErrorCode::unavailable, std::string(what) + " refused: " +
                                                    util::printable_text(std::string_view(r->str, r->len), 200));
    }
    freeReplyObject(r);
    if (!s) drop_locked(s.message());
    return s;
  };
  if (!url_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    if (Status s = handshake(std::move(auth), "AUTH"); !s) return s;
  }
  if (url_.db != 0)
    if (Status s = handshake({"SELECT", std::to_string(url_.db)}, "SELECT"); !s) return s;
  if (!up_ && ever_up_) log_message(LogLevel::info, kComponent, url_.redacted() + " reachable again");
  if (!ever_up_) log_message(LogLevel::info, kComponent, "connected to " + url_.redacted());
  up_ = ever_up_ = true;
  down_logged_ = false;
  connected_at_ = std::chrono::steady_clock::now();
  backoff_ = std::chrono::milliseconds(0);
  return Status::ok();
}

Result<RedisValue> RedisClient::command(const std::vector<std::string>& args) {
  std::lock_guard lock(mu_);
  if (!ctx_) {
    if (std::chrono::steady_clock::now() < retry_at_) {
      errors_++;
      return Status::error(ErrorCode::unavailable, last_error_);
    }
    if (Status s = connect_locked(); !s) return s;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) {
    drop_locked(util::printable_text(ctx_->errstr[0] ? ctx_->errstr : "connection lost", 200));
    return Status::error(ErrorCode::unavailable, last_error_);
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::string text = util::printable_text(std::string_view(r->str, r->len), 300);
    freeReplyObject(r);
    errors_++;
    // Loading its data after a restart, or a replica being promoted: try again later.
    if (text.starts_with("LOADING") || text.starts_with("BUSY") || text.starts_with("MASTERDOWN") ||
        text.starts_with("TRYAGAIN") || text.starts_with("READONLY"))
      return Status::error(ErrorCode::unavailable, text);
    return Status::error(ErrorCode::internal, text);
  }
  RedisValue v = convert(r);
  freeReplyObject(r);
  up_ = true;
  return v;
}

bool RedisClient::up() const {
  std::lock_guard lock(mu_);
  return up_;
}

std::chrono::steady_clock::time_point RedisClient::connected_at() const {
  std::lock_guard lock(mu_);
  return connected_at_;
}

uint64_t RedisClient::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

}  // namespace roomrec::worker
