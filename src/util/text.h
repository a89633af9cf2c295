// Small ASCII text helpers (codec names, SDES suites, header names).
#pragma once

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

}  // namespace roomrec::util
