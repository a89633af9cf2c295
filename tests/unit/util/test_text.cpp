#include <doctest/doctest.h>

#include <cstdint>

#include "util/text.h"

using namespace roomrec;

TEST_CASE("util::parse_uint: the one decimal parser (chunk keys, SDP)") {
  uint64_t v = 7;
  CHECK(util::parse_uint("0", v));
  CHECK(v == 0);
  CHECK(util::parse_uint("18446744073709551615", v));
  CHECK(v == UINT64_MAX);
  v = 7;
  CHECK(!util::parse_uint("18446744073709551616", v));  // overflow
  CHECK(!util::parse_uint("", v));
  CHECK(!util::parse_uint("+1", v));
  CHECK(!util::parse_uint("-1", v));
  CHECK(!util::parse_uint(" 1", v));
  CHECK(!util::parse_uint("1a", v));
  CHECK(v == 7);  // untouched on failure
  uint16_t p = 0;
  CHECK(util::parse_uint("65535", p));
  CHECK(!util::parse_uint("65536", p));           // over the type
  CHECK(!util::parse_uint("128", p, 127));        // over max_value
  CHECK(!util::parse_uint("000001", p, 65535, 5));  // over max_digits
  CHECK(util::ascii_lowercase("VP8") == "vp8");
  CHECK(util::is_http_uri("HTTPS://x"));
  CHECK(!util::is_http_uri("file:///x"));
}
