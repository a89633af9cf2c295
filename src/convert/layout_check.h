// compose.layout checked for validate(ComposeOptions): converter.cpp cannot
// include layout.h (roomrec::convert() the function and roomrec::convert the
// namespace do not mix in one translation unit).
#pragma once

#include <roomrec/status.h>

#include <string_view>

namespace roomrec {

// The message of the first mistake in compose.layout (a name or JSON text), as parse_layout() gives it.
Status check_layout(std::string_view layout);

}  // namespace roomrec
