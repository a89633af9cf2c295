// Fuzz target: chunk names and keys from a listing (S3 keys, folder names)
// (issue 21 items 1 and 6).
//
// Never crash or throw; a parsed file name has from <= to and a span the
// converter accepts or refuses without overflow; a key component shown by the
// reading side (decoded, invalid bytes kept as %XX) is valid UTF-8 and dumps
// as JSON.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <roomrec/chunk_key.h>

#include "util/utf8.h"

using namespace roomrec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto f = parse_chunk_file_name(in)) {
    if (f->to_ts < f->from_ts) std::abort();
    if (plausible_chunk_span(*f) && (f->to_ts - f->from_ts > kMaxChunkSpanMs || f->to_ts > kMaxChunkTimestampMs))
      std::abort();
  }
  if (auto k = ChunkKey::parse(in)) {
    if (k->to_ts < k->from_ts) std::abort();
    for (const std::string* s : {&k->app, &k->room, &k->room_record_id, &k->peer}) {
      const std::string shown = util::utf8_percent_invalid(*s);
      if (!util::is_valid_utf8(shown)) std::abort();
      nlohmann::json j = {{"peer", shown}};
      (void)j.dump();
    }
  }
  if (auto d = decode_key_component(in)) {
    if (!util::is_valid_utf8(util::utf8_percent_invalid(*d))) std::abort();
  }
  return 0;
}
