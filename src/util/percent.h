// Percent-encoding (RFC 3986) the way S3 and SigV4 expect it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roomrec::util {

// Encodes every byte except the unreserved set A-Z a-z 0-9 - _ . ~ as %XX
// (upper-case hex). With keep_slash, '/' is kept too (S3 object key paths).
std::string percent_encode(std::string_view s, bool keep_slash = false);

// Decodes %XX escapes; '+' stays '+'. nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace roomrec::util
