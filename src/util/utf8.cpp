#include "util/utf8.h"

#include <algorithm>
#include <cstdint>

namespace roomrec::util {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte there does
// not start one.
size_t sequence_length(std::string_view s, size_t i) noexcept {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

constexpr char kHex[] = "0123456789ABCDEF";

template <class OnInvalid>
std::string rewrite(std::string_view s, OnInvalid on_invalid) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = sequence_length(s, i);
    if (n == 0) {
      on_invalid(out, static_cast<uint8_t>(s[i]));
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  for (size_t i = 0; i < s.size();) {
    size_t n = sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_replace_invalid(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  return rewrite(s, [](std::string& out, uint8_t) { out += "\xEF\xBF\xBD"; });
}

std::string utf8_percent_invalid(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  return rewrite(s, [](std::string& out, uint8_t b) {
    out += '%';
    out += kHex[b >> 4];
    out += kHex[b & 15];
  });
}

std::string printable_text(std::string_view s, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes == std::string::npos ? s.size() : max_bytes) + 3);
  for (size_t i = 0; i < s.size();) {
    std::string piece;
    size_t n = sequence_length(s, i);
    if (n == 0) {
      piece = "\xEF\xBF\xBD";
      n = 1;
    } else if (n == 1 && (static_cast<uint8_t>(s[i]) < 0x20 || s[i] == 0x7F)) {
      const auto c = static_cast<uint8_t>(s[i]);
      if (c == '\n') piece = "\\n";
      else if (c == '\r') piece = "\\r";
      else if (c == '\t') piece = "\\t";
      else piece = std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    } else {
      piece = std::string(s.substr(i, n));
    }
    if (max_bytes != std::string::npos && out.size() + piece.size() > max_bytes) {
      out += "...";
      return out;
    }
    out += piece;
    i += n;
  }
  return out;
}

}  // namespace roomrec::util
