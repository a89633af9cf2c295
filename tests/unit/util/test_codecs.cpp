#include <doctest/doctest.h>

#include <roomrec/log.h>
#include <roomrec/status.h>

#include <random>
#include <string>
#include <vector>

#include "util/base64.h"
#include "util/percent.h"

using namespace roomrec;
using namespace roomrec::util;

TEST_CASE("base64 RFC 4648 test vectors") {
  const std::pair<std::string, std::string> v[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto& [plain, enc] : v) {
    CHECK(base64_encode(plain) == enc);
    auto d = base64_decode(enc);
    REQUIRE(d.has_value());
    CHECK(std::string(d->begin(), d->end()) == plain);
  }
}

TEST_CASE("base64 decoding rejects malformed input") {
  CHECK_FALSE(base64_decode("Zm9v!").has_value());
  CHECK_FALSE(base64_decode("Z").has_value());
  CHECK_FALSE(base64_decode("Zg=").has_value());
  CHECK_FALSE(base64_decode("Zg===").has_value());
  CHECK_FALSE(base64_decode("Zm 9v").has_value());
  CHECK_FALSE(base64_decode("=Zm9").has_value());
  CHECK_FALSE(base64_decode("Zh==").has_value());  // non-zero leftover bits
  CHECK(base64_decode("Zg").has_value());           // padding is optional
}

TEST_CASE("base64 round trips random bytes") {
  std::mt19937 rng(3);
  for (int n = 0; n < 200; ++n) {
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    auto d = base64_decode(base64_encode(b.data(), b.size()));
    REQUIRE(d.has_value());
    CHECK(*d == b);
  }
}

TEST_CASE("percent encoding keeps the unreserved set and escapes the rest") {
  CHECK(percent_encode("AZaz09-_.~") == "AZaz09-_.~");
  CHECK(percent_encode("a b/c+d=e&f") == "a%20b%2Fc%2Bd%3De%26f");
  CHECK(percent_encode("a b/c", true) == "a%20b/c");
  CHECK(percent_encode("\xC3\xA9") == "%C3%A9");
  CHECK(percent_decode("a%20b%2fc").value() == "a b/c");
  CHECK(percent_decode("a+b").value() == "a+b");
  CHECK_FALSE(percent_decode("%").has_value());
  CHECK_FALSE(percent_decode("%4").has_value());
  CHECK_FALSE(percent_decode("%zz").has_value());
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(percent_decode(percent_encode(all)).value() == all);
}

TEST_CASE("Status and Result carry the reason") {
  Status ok;
  CHECK(ok.is_ok());
  CHECK(ok.to_string() == "ok");
  Status e = Status::error(ErrorCode::io, "disk gone");
  CHECK_FALSE(e.is_ok());
  e.with_context("writing chunk 3");
  CHECK(e.to_string() == "io: writing chunk 3: disk gone");
  Result<int> r = 5;
  CHECK(r.is_ok());
  CHECK(*r == 5);
  Result<int> bad = Status::error(ErrorCode::corrupt, "crc");
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.status().code() == ErrorCode::corrupt);
}

TEST_CASE("log callback receives lines at or above its level; rate limiter holds back bursts") {
  std::vector<std::string> lines;
  set_log_callback([&](LogLevel l, std::string_view c, std::string_view m) {
    lines.push_back(std::string(log_level_name(l)) + " " + std::string(c) + " " + std::string(m));
  }, LogLevel::warn);
  log_message(LogLevel::info, "t", "hidden");
  log_message(LogLevel::warn, "t", "shown");
  CHECK(lines == std::vector<std::string>{"WARN t shown"});
  set_log_callback(nullptr);
  log_message(LogLevel::error, "t", "silent");
  CHECK(lines.size() == 1);

  LogRateLimiter lim(1000);
  uint64_t held = 99;
  CHECK(lim.allow(5000, &held));
  CHECK(held == 0);
  CHECK_FALSE(lim.allow(5001, nullptr));
  CHECK_FALSE(lim.allow(5999, nullptr));
  CHECK(lim.allow(6000, &held));
  CHECK(held == 2);
}
