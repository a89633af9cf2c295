#include "read/mjr_reader.h"

#include <roomrec/chunk_writer.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace roomrec::mjr {
namespace {

constexpr size_t kMagicBytes = 8;
constexpr size_t kFrameHeaderBytes = 10;  // marker (4 + 4-byte time, or 8) + u16 length
// Times beyond the year 3000 are damage, not recordings.
constexpr int64_t kMaxUs = 32'503'680'000'000'000LL;
constexpr size_t kMaxProblemLines = 6;
constexpr size_t kMaxJsonDepth = 64;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
uint64_t be64(const uint8_t* p) { return (static_cast<uint64_t>(be32(p)) << 32) | be32(p + 4); }

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Shows outside bytes in a message: printable ASCII kept, the rest as \xNN, cut at 32.
std::string printable(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < n && i < 32; ++i) {
    uint8_t c = p[i];
    if (c >= 0x20 && c < 0x7F && c != '\'') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (n > 32) out += "...";
  return out;
}

Status corrupt(std::string m) { return Status::error(ErrorCode::corrupt, ".mjr: " + std::move(m)); }

// Refuses deeply nested JSON before handing it to the parser (bounded work and stack).
bool nesting_ok(std::string_view s) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// An integer time in µs, within [0, year 3000].
bool time_field(const nlohmann::json& obj, const char* name, int64_t& out, std::string& why) {
  auto it = obj.find(name);
  if (it == obj.end()) return false;
  if (!it->is_number_integer()) {
    why = std::string("'") + name + "' is not an integer";
    return false;
  }
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(kMaxUs)) {
      why = std::string("'") + name + "' is an implausible time (" + std::to_string(v) + " µs)";
      return false;
    }
    out = static_cast<int64_t>(v);
    return true;
  }
  int64_t v = it->get<int64_t>();
  if (v < 0 || v > kMaxUs) {
    why = std::string("'") + name + "' is an implausible time (" + std::to_string(v) + " µs)";
    return false;
  }
  out = v;
  return true;
}

std::string optional_string(const nlohmann::json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char a = s[s.size() - suffix.size() + i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != suffix[i]) return false;
  }
  return true;
}

}  // namespace

Result<MjrInfo> parse_header(const uint8_t* data, size_t n) {
  if (n < kMagicBytes)
    return corrupt("not an .mjr recording: " + std::to_string(n) + " bytes, shorter than the 8-byte magic");
  MjrInfo info;
  if (std::memcmp(data, "MJR00002", kMagicBytes) == 0) {
    info.version = 2;
  } else if (std::memcmp(data, "MJR00001", kMagicBytes) == 0) {
    info.version = 1;
  } else if (std::memcmp(data, "MEETECHO", kMagicBytes) == 0) {
    return Status::error(ErrorCode::unsupported,
                         ".mjr: legacy format (a 'MEETECHO' header without an info object) is not supported; "
                         "only MJR00001 and MJR00002 recordings are read");
  } else if (std::memcmp(data, "MJR", 3) == 0) {
    return Status::error(ErrorCode::unsupported, ".mjr: unsupported version '" + printable(data, kMagicBytes) +
                                                     "' (MJR00001 and MJR00002 are read)");
  } else {
    return corrupt("not an .mjr recording (magic '" + printable(data, kMagicBytes) + "', expected 'MJR00002')");
  }
  if (n < kMagicBytes + 2) return corrupt("truncated after the magic: no info header length");
  size_t len = be16(data + kMagicBytes);
  if (len == 0) return corrupt("empty info header");
  if (kMagicBytes + 2 + len > n)
    return corrupt("truncated info header: " + std::to_string(len) + " bytes announced, " +
                   std::to_string(n - kMagicBytes - 2) + " present");
  info.json.assign(reinterpret_cast<const char*>(data + kMagicBytes + 2), len);
  info.frames_offset = kMagicBytes + 2 + len;
  // Janus writes the JSON without a terminator, but tolerate trailing NULs.
  std::string_view text = info.json;
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  if (!nesting_ok(text)) return corrupt("info header JSON nests deeper than " + std::to_string(kMaxJsonDepth));
  nlohmann::json obj = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return corrupt("info header is not valid JSON: '" + printable(data + 10, len) + "'");
  if (!obj.is_object()) return corrupt("info header is not a JSON object");

  auto t = obj.find("t");
  if (t == obj.end() || !t->is_string()) return corrupt("info header has no recording type ('t')");
  std::string type = lower(t->get<std::string>());
  if (type == "a") info.media = Media::audio;
  else if (type == "v") info.media = Media::video;
  else if (type == "d") info.media = Media::data;
  else
    return Status::error(ErrorCode::unsupported, ".mjr: unsupported recording type '" +
                                                     printable(reinterpret_cast<const uint8_t*>(type.data()),
                                                               type.size()) +
                                                     "' (expected a, v or d)");
  auto c = obj.find("c");
  if (c == obj.end() || !c->is_string() || c->get<std::string>().empty())
    return corrupt("info header has no codec ('c')");
  info.codec = lower(c->get<std::string>());
  info.fmtp = optional_string(obj, "f");
  info.description = optional_string(obj, "d");

  std::string why;
  bool has_s = time_field(obj, "s", info.created_us, why);
  if (!why.empty()) return corrupt("info header: " + why);
  bool has_u = time_field(obj, "u", info.written_us, why);
  if (!why.empty()) return corrupt("info header: " + why);
  if (!has_u) {
    if (!has_s) return corrupt("info header has no time ('u', first frame written, or 's', created)");
    info.written_us = info.created_us;
  }

  if (auto x = obj.find("x"); x != obj.end() && x->is_object()) {
    for (auto it = x->begin(); it != x->end(); ++it) {
      if (!it.value().is_string() || !is_digits(it.key()) || it.key().size() > 3) continue;
      int id = std::stoi(it.key());
      if (id >= 1 && id <= 255) info.extensions.emplace_back(id, it.value().get<std::string>());
    }
  }
  if (auto r = obj.find("or"); r != obj.end() && r->is_number_integer()) {
    int64_t pt = r->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(r->get<uint64_t>(), 1000))
                                         : r->get<int64_t>();
    if (pt > 0 && pt < 128) info.opus_red_pt = static_cast<int>(pt);
  }
  if (auto e = obj.find("e"); e != obj.end() && e->is_boolean()) info.encrypted = e->get<bool>();
  return info;
}

TrackInfo track_info(const MjrInfo& info, std::string_view name) {
  TrackInfo t;
  t.name = std::string(name);
  t.codec = info.codec;
  t.fmtp = info.fmtp;
  if (info.media == Media::video) {
    t.kind = TrackKind::video;
    t.clock_rate = 90000;
    return t;
  }
  t.kind = TrackKind::audio;
  const std::string& c = info.codec;
  if (c == "opus") {
    t.clock_rate = 48000;
    t.channels = 2;
  } else if (c == "multiopus") {
    t.clock_rate = 48000;
  } else if (c == "g711" || c == "pcmu" || c == "pcma" || c == "g722") {
    t.clock_rate = 8000;  // G.722's RTP clock is 8000 too (RFC 3551)
    t.channels = 1;
  } else if (c == "l16") {
    t.clock_rate = 16000;
    t.channels = 1;
  } else if (c == "l16-48") {
    t.clock_rate = 48000;
    t.channels = 1;
  } else {
    t.clock_rate = 48000;  // unknown audio codec: the WebRTC default
  }
  return t;
}

FrameReader::FrameReader(const MjrInfo& info, const uint8_t* data, size_t n)
    : info_(info), data_(data), n_(n), pos_(std::min(info.frames_offset, n)),
      marker_len_(info.version == 2 ? 4 : 8), clock_rate_(track_info(info, "").clock_rate) {}

void FrameReader::note_problem(std::string what) {
  if (stats_.problems.size() < kMaxProblemLines) stats_.problems.push_back(std::move(what));
  else if (stats_.problems.size() == kMaxProblemLines) stats_.problems.push_back("(more damage not listed)");
}

bool FrameReader::plausible_frame_at(size_t p) const {
  if (p > n_ || n_ - p < kFrameHeaderBytes) return false;
  const char* marker = info_.version == 2 ? "MEET" : "MEETECHO";
  if (std::memcmp(data_ + p, marker, marker_len_) != 0) return false;
  size_t len = be16(data_ + p + 8);
  if (n_ - p - kFrameHeaderBytes < len) return false;
  if (info_.media == Media::data) return len >= 8;
  return len >= 12 && (data_[p + kFrameHeaderBytes] >> 6) == 2;
}

bool FrameReader::resync(size_t from) {
  static constexpr uint8_t kMarker[4] = {'M', 'E', 'E', 'T'};
  size_t p = from + 1;
  while (p < n_) {
    const uint8_t* hit = std::search(data_ + p, data_ + n_, kMarker, kMarker + 4);
    if (hit == data_ + n_) break;
    size_t at = static_cast<size_t>(hit - data_);
    if (plausible_frame_at(at)) {
      stats_.bad_regions++;
      stats_.skipped_bytes += at - from;
      note_problem("no frame marker at offset " + std::to_string(from) + ": skipped " + std::to_string(at - from) +
                   " bytes to the next frame");
      pos_ = at;
      return true;
    }
    p = at + 1;
  }
  stats_.bad_regions++;
  stats_.skipped_bytes += n_ - from;
  note_problem("no frame marker at offset " + std::to_string(from) + ": the last " + std::to_string(n_ - from) +
               " bytes hold no frame");
  pos_ = n_;
  return false;
}

bool FrameReader::next(Frame& f) {
  const uint64_t base_ms = static_cast<uint64_t>(info_.written_us) / 1000;
  while (pos_ < n_) {
    const size_t at = pos_;
    const size_t left = n_ - at;
    if (left < kFrameHeaderBytes) {
      stats_.truncated = true;
      note_problem("truncated: " + std::to_string(left) + " bytes at offset " + std::to_string(at) +
                   ", less than a frame header");
      pos_ = n_;
      return false;
    }
    const uint8_t* p = data_ + at;
    // An info header written again (janus-pp-rec skips these too).
    if (std::memcmp(p, "MJR0000", 7) == 0) {
      size_t len = be16(p + 8);
      if (left - kFrameHeaderBytes < len) {
        stats_.truncated = true;
        note_problem("truncated: header at offset " + std::to_string(at) + " claims " + std::to_string(len) +
                     " bytes, " + std::to_string(left - kFrameHeaderBytes) + " left");
        pos_ = n_;
        return false;
      }
      stats_.skipped_frames++;
      pos_ = at + kFrameHeaderBytes + len;
      continue;
    }
    const char* marker = info_.version == 2 ? "MEET" : "MEETECHO";
    if (std::memcmp(p, marker, marker_len_) != 0) {
      if (!resync(at)) return false;
      continue;
    }
    const size_t len = be16(p + 8);
    if (left - kFrameHeaderBytes < len) {
      stats_.truncated = true;
      note_problem("truncated: frame at offset " + std::to_string(at) + " claims " + std::to_string(len) +
                   " bytes, " + std::to_string(left - kFrameHeaderBytes) + " left");
      pos_ = n_;
      return false;
    }
    const uint8_t* payload = p + kFrameHeaderBytes;
    pos_ = at + kFrameHeaderBytes + len;
    uint32_t rel = info_.version == 2 ? be32(p + 4) : 0;

    if (info_.media == Media::data) {
      if (len < 8) {
        stats_.skipped_frames++;
        continue;
      }
      uint64_t when_us = be64(payload);
      f.offset = at;
      f.data = payload + 8;
      f.size = len - 8;
      f.rel_ms = rel;
      f.ts_ms = (when_us > 0 && when_us <= static_cast<uint64_t>(kMaxUs)) ? when_us / 1000 : base_ms + rel;
      stats_.frames++;
      return true;
    }
    if (len < 12 || (payload[0] >> 6) != 2) {
      stats_.skipped_frames++;
      continue;
    }
    if (info_.version == 1) {
      // No frame time: derive it from the RTP timestamp, unwrapped, relative to the first packet.
      uint32_t rtp_ts = be32(payload + 4);
      if (!have_first_rtp_) {
        have_first_rtp_ = true;
        rtp_ext_ = 0;
      } else {
        rtp_ext_ += static_cast<int32_t>(rtp_ts - last_rtp_ts_);
      }
      last_rtp_ts_ = rtp_ts;
      int64_t ms = rtp_ext_ <= 0 ? 0 : rtp_ext_ * 1000 / static_cast<int64_t>(clock_rate_);
      rel = static_cast<uint32_t>(std::min<int64_t>(ms, std::numeric_limits<uint32_t>::max()));
    }
    f.offset = at;
    f.data = payload;
    f.size = len;
    f.rel_ms = rel;
    f.ts_ms = base_ms + rel;
    stats_.frames++;
    return true;
  }
  return false;
}

Result<Conversion> convert_to_chunk(const uint8_t* data, size_t n, const ChunkParams& params) {
  auto info = parse_header(data, n);
  if (!info) return info.status();
  Conversion out;
  out.info = std::move(info.value());
  out.first_ts = static_cast<uint64_t>(out.info.written_us) / 1000;
  out.last_ts = out.first_ts;

  ChunkHeader h;
  h.app = params.app;
  h.room = params.room;
  h.room_record_id = params.room_record_id;
  h.peer = params.peer;
  h.session = params.session;
  h.index = params.index;
  h.first_ts = out.first_ts;
  ChunkWriter w(h, std::min<size_t>(n + n / 8 + 4096, 64u << 20));

  FrameReader reader(out.info, data, n);
  const bool media = out.info.media != Media::data;
  const std::string label = out.info.description.empty() ? std::string("data") : out.info.description;
  const bool binary = out.info.codec == "binary";
  Frame f;
  bool first = true;
  while (reader.next(f)) {
    if (media && first) {
      TrackInfo t = track_info(out.info, params.track_name);
      t.ssrc = be32(f.data + 8);
      w.add_track_started(out.first_ts, params.track_id, t);
    }
    first = false;
    if (media) w.add_rtp(f.ts_ms, params.track_id, f.data, f.size);
    else w.add_data(f.ts_ms, label, binary, f.data, f.size);
    out.last_ts = std::max(out.last_ts, f.ts_ms);
  }
  if (media && first) {
    // No frame at all: still say which track this file was.
    w.add_track_started(out.first_ts, params.track_id, track_info(out.info, params.track_name));
  }
  if (media) w.add_track_stopped(out.last_ts, params.track_id);
  out.stats = reader.stats();
  out.chunk = w.finish();
  return out;
}

std::string peer_name(std::string_view file_name) {
  std::string_view s = file_name;
  if (ends_with_ci(s, ".mjr")) s.remove_suffix(4);
  std::string_view stem = s;
  // "-audio-0" style (a stream index after the media word).
  if (auto dash = s.rfind('-'); dash != std::string_view::npos && is_digits(s.substr(dash + 1))) {
    std::string_view before = s.substr(0, dash);
    for (std::string_view m : {"-audio", "-video", "-data"})
      if (ends_with_ci(before, m)) {
        s = before;
        break;
      }
  }
  for (std::string_view m : {"-audio", "-video", "-data"}) {
    if (ends_with_ci(s, m)) {
      s.remove_suffix(m.size());
      break;
    }
  }
  if (s.empty()) s = stem;
  return std::string(s);
}

}  // namespace roomrec::mjr
