// Text that crosses a boundary (HTTP bodies, S3 keys, file names, track names,
// labels) is made valid UTF-8 where it enters, so every JSON dump, log line and
// hook body downstream can carry it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace roomrec::util {

// Strict UTF-8: no overlong forms, surrogates or values past U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept;

// s with every byte that is not part of a valid sequence replaced by U+FFFD.
std::string utf8_replace_invalid(std::string_view s);

// s with every byte that is not part of a valid sequence written as "%XX"
// (upper-case hex): for names whose bytes still matter to a reader.
std::string utf8_percent_invalid(std::string_view s);

// Text fit for one log line or an error message shown to a client: valid
// UTF-8 (invalid bytes as U+FFFD), control characters (C0, DEL) written as
// "\n", "\r", "\t" or "\xHH", and at most max_bytes long (cut on a character
// boundary, "..." appended when cut).
std::string printable_text(std::string_view s, size_t max_bytes = std::string::npos);

}  // namespace roomrec::util
