#include <roomrec/chunk_key.h>

#include <charconv>
#include <cstdio>
#include <tuple>
#include <vector>

#include "util/text.h"
#include "util/percent.h"

namespace roomrec {
namespace {

using util::parse_uint;  // util/text.h

}  // namespace

std::string encode_key_component(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '/' || c == '%' || c < 0x20 || c == 0x7F) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  // "." and ".." would be normalised away by some HTTP stacks.
  if (out == "." || out == "..") {
    std::string esc;
    for (size_t i = 0; i < out.size(); ++i) esc += "%2E";
    return esc;
  }
  return out;
}

std::optional<std::string> decode_key_component(std::string_view s) { return util::percent_decode(s); }

std::string ChunkKey::room_path() const {
  std::string out;
  if (!prefix.empty()) {
    out = prefix;
    while (!out.empty() && out.back() == '/') out.pop_back();
    if (!out.empty()) out += '/';
  }
  out += encode_key_component(app);
  out += '/';
  out += encode_key_component(room);
  out += '/';
  out += encode_key_component(room_record_id);
  return out;
}

std::string ChunkKey::session_path() const {
  return room_path() + '/' + encode_key_component(peer) + '/' + std::to_string(session);
}

std::string ChunkKey::to_string() const {
  char name[96];
  std::snprintf(name, sizeof name, "%06u-%llu-%llu.rec", index, static_cast<unsigned long long>(from_ts),
                static_cast<unsigned long long>(to_ts));
  return session_path() + '/' + name;
}

std::optional<ChunkFileName> parse_chunk_file_name(std::string_view name) {
  constexpr std::string_view kExt = ".rec";
  if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return std::nullopt;
  name.remove_suffix(kExt.size());
  auto d1 = name.find('-');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = name.find('-', d1 + 1);
  if (d2 == std::string_view::npos || name.find('-', d2 + 1) != std::string_view::npos) return std::nullopt;
  ChunkFileName f;
  if (!parse_uint(name.substr(0, d1), f.index) || !parse_uint(name.substr(d1 + 1, d2 - d1 - 1), f.from_ts) ||
      !parse_uint(name.substr(d2 + 1), f.to_ts))
    return std::nullopt;
  if (f.to_ts < f.from_ts) return std::nullopt;
  return f;
}

bool plausible_chunk_span(const ChunkFileName& f) {
  return f.from_ts <= f.to_ts && f.to_ts <= kMaxChunkTimestampMs && f.to_ts - f.from_ts <= kMaxChunkSpanMs;
}

std::optional<ChunkKey> ChunkKey::parse(std::string_view key) {
  // Split off the last six components from the right; what stands before
  // them (when anything does) is the prefix.
  std::vector<std::string_view> parts;
  std::string_view rest = key;
  std::string_view prefix;
  while (parts.size() < 6) {
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) {
      if (parts.size() != 5) return std::nullopt;
      parts.push_back(rest);
      break;
    }
    parts.push_back(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (parts.size() == 6) prefix = rest;
  }
  for (auto p : parts)
    if (p.empty()) return std::nullopt;
  ChunkKey k;
  k.prefix = std::string(prefix);
  auto file = parse_chunk_file_name(parts[0]);
  if (!file) return std::nullopt;
  k.index = file->index;
  k.from_ts = file->from_ts;
  k.to_ts = file->to_ts;
  if (!parse_uint(parts[1], k.session)) return std::nullopt;
  auto peer = decode_key_component(parts[2]);
  auto rec = decode_key_component(parts[3]);
  auto room = decode_key_component(parts[4]);
  auto app = decode_key_component(parts[5]);
  if (!peer || !rec || !room || !app) return std::nullopt;
  k.peer = std::move(*peer);
  k.room_record_id = std::move(*rec);
  k.room = std::move(*room);
  k.app = std::move(*app);
  return k;
}

bool ChunkKey::operator<(const ChunkKey& o) const {
  return std::tie(prefix, app, room, room_record_id, peer, session, index, from_ts, to_ts) <
         std::tie(o.prefix, o.app, o.room, o.room_record_id, o.peer, o.session, o.index, o.from_ts, o.to_ts);
}

}  // namespace roomrec
