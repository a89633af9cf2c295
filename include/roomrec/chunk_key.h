// Object keys of chunks:
//   [{prefix}/]{app}/{room}/{room_record_id}/{peer}/{session}/{index:06}-{from_ts}-{to_ts}.rec
// Path components are percent-encoded where they hold '/', '%' or control
// bytes, so any host string stays one component.
#pragma once

#include <roomrec/export.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roomrec {

struct ROOMREC_API ChunkKey {
  std::string prefix;          // may be empty; may contain '/'
  std::string app;
  std::string room;
  std::string room_record_id;
  std::string peer;
  uint64_t session = 0;
  uint32_t index = 0;
  uint64_t from_ts = 0;
  uint64_t to_ts = 0;

  // The full object key.
  std::string to_string() const;
  // "{prefix}/{app}/{room}/{room_record_id}": what a converter lists.
  std::string room_path() const;
  // "{room_path}/{peer}/{session}".
  std::string session_path() const;

  // Parses a full key; the prefix is whatever stands before the last six
  // components. nullopt when the key does not have the layout.
  static std::optional<ChunkKey> parse(std::string_view key);

  // Numeric order: by room path, peer, session, then index, then times
  // (chunk 2 before chunk 10, whatever the zero padding).
  bool operator<(const ChunkKey& o) const;
  bool operator==(const ChunkKey& o) const = default;
};

// The file name part "{index}-{from_ts}-{to_ts}.rec", parsed numerically;
// accepts unpadded indexes written by the reference implementation.
struct ChunkFileName {
  uint32_t index = 0;
  uint64_t from_ts = 0;
  uint64_t to_ts = 0;
};
ROOMREC_API std::optional<ChunkFileName> parse_chunk_file_name(std::string_view name);

// Bounds a name's times are checked against before a reader uses them: a chunk
// spans at most kMaxChunkSpanMs and ends before year 10000. Recorders rotate
// chunks far sooner; a renamed or forged name ("000000-0-<to>.rec",
// 2^64-1) would otherwise make a composer walk years of media time.
constexpr uint64_t kMaxChunkSpanMs = 24ull * 3600 * 1000;
constexpr uint64_t kMaxChunkTimestampMs = 253'402'300'799'999ull;  // 9999-12-31T23:59:59.999Z
ROOMREC_API bool plausible_chunk_span(const ChunkFileName& f);

// Encodes one path component ('/', '%', control bytes and DEL become %XX).
ROOMREC_API std::string encode_key_component(std::string_view s);
ROOMREC_API std::optional<std::string> decode_key_component(std::string_view s);

}  // namespace roomrec
