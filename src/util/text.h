// Small ASCII text helpers (codec names, SDES suites, header names).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace roomrec::util {

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// "http://..." or "https://..." (any case): an S3 URI or a presigned URL, as
// opposed to a local path or file:// URI.
inline bool is_http_uri(std::string_view s) noexcept {
  return starts_with_nocase(s, "http://") || starts_with_nocase(s, "https://");
}

inline std::string ascii_lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

// A decimal number, the one parser for them: digits only (no sign, no spaces,
// no leading "+"), at most max_digits of them, a value of at most max_value
// (and of T). False, with `out` untouched, otherwise.
template <class T>
constexpr bool parse_uint(std::string_view s, T& out, uint64_t max_value = std::numeric_limits<T>::max(),
                          size_t max_digits = 20) noexcept {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v > max_value || v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
  out = static_cast<T>(v);
  return true;
}

}  // namespace roomrec::util
