// Base64 (RFC 4648, standard alphabet with padding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec::util {

std::string base64_encode(const void* data, size_t n);
inline std::string base64_encode(std::string_view s) { return base64_encode(s.data(), s.size()); }

// Strict decoding: padding optional at the end only, no whitespace, no other
// characters. Returns nullopt on any malformed input.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace roomrec::util
