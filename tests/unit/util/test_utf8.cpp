// util/utf8: text crossing a boundary is made valid UTF-8 once, where it enters (issue 21 item 1),
// and printable for logs and errors (items 1, 10).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "util/utf8.h"

using namespace roomrec::util;

TEST_CASE("is_valid_utf8 is strict") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xFF"));
  CHECK_FALSE(is_valid_utf8("al\xFFice"));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));          // cut short
}

TEST_CASE("invalid bytes are replaced or percent-escaped, valid text is kept") {
  CHECK(utf8_replace_invalid("ok \xC3\xA9") == "ok \xC3\xA9");
  CHECK(utf8_replace_invalid("a\xFF\xFE" "b") == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  CHECK(utf8_percent_invalid("al\xFFice") == "al%FFice");
  CHECK(utf8_percent_invalid("\xC3\xA9\xC3") == "\xC3\xA9%C3");
  for (std::string s : {"\xFF\xFE", "x\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "a\x80z"}) {
    CHECK(is_valid_utf8(utf8_replace_invalid(s)));
    CHECK(is_valid_utf8(utf8_percent_invalid(s)));
    // What made the worker abort: a dump of such a string now works.
    nlohmann::json j = {{"e", utf8_replace_invalid(s)}};
    CHECK_NOTHROW((void)j.dump());
  }
}

TEST_CASE("printable_text escapes control characters and caps the length on a character boundary") {
  CHECK(printable_text("line\nINFO forged\r\x1b[31m\x7f") == "line\\nINFO forged\\r\\x1B[31m\\x7F");
  CHECK(printable_text("tab\there") == "tab\\there");
  CHECK(printable_text("\xFF") == "\xEF\xBF\xBD");
  CHECK(printable_text(std::string(1000, 'x'), 10) == "xxxxxxxxxx...");
  CHECK(printable_text("\xE2\x82\xAC\xE2\x82\xAC", 4) == "\xE2\x82\xAC...");  // never half a character
  const std::string once = printable_text("a\nb\xFF");
  CHECK(printable_text(once) == once);  // idempotent
}
