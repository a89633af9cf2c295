#include "read/mjr_reader.h"

#include <roomrec/chunk_writer.h>

#include "format/row_codec.h"

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

namespace {


constexpr size_t kHeadBytes = kMagicBytes + 2 + 65535;

}  // namespace

FrameReader::FrameReader(MjrInfo info, std::unique_ptr<ByteSource> source)
    : info_(std::move(info)), source_(std::move(source)), buf_(new uint8_t[kWindowBytes]),
      marker_len_(info_.version == 2 ? 4 : 8), clock_rate_(track_info(info_, "").clock_rate) {}

FrameReader::FrameReader(const MjrInfo& info, const uint8_t* data, size_t n)
    : FrameReader(info, memory_source(data, n)) {
  init_position();
}

Result<std::unique_ptr<FrameReader>> FrameReader::open(std::unique_ptr<ByteSource> source) {
  std::unique_ptr<FrameReader> r(new FrameReader(MjrInfo{}, std::move(source)));
  // The info header is at most kHeadBytes: read that much (or the whole file when shorter).
  r->fill(kHeadBytes);
  auto info = parse_header(r->buf_.get(), r->end_);
  if (!info) {
    // Cut short by a read error: that is the reason, not the truncation it left.
    if (!r->stats_.source_error.is_ok()) return r->stats_.source_error;
    return info.status();
  }
  r->info_ = std::move(info.value());
  r->marker_len_ = r->info_.version == 2 ? 4 : 8;
  r->clock_rate_ = track_info(r->info_, "").clock_rate;
  r->init_position();
  return r;
}

void FrameReader::init_position() {
  // Skips to the first frame (the file may be shorter than its header says: then it is empty).
  uint64_t skip = info_.frames_offset;
  while (skip > 0) {
    if (!fill(1)) break;
    size_t k = static_cast<size_t>(std::min<uint64_t>(skip, end_ - pos_));
    pos_ += k;
    skip -= k;
  }
}

bool FrameReader::fill(size_t need) {
  if (end_ - pos_ >= need) return true;
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    base_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  while (end_ < need && !eof_) {
    auto got = source_->read(buf_.get() + end_, kWindowBytes - end_);
    if (!got) {
      stats_.source_error = got.status();
      note_problem("read error at offset " + std::to_string(abs(end_)) + ": " + got.status().message());
      eof_ = true;
    } else if (*got == 0) {
      eof_ = true;
    } else {
      end_ += *got;
    }
  }
  return end_ - pos_ >= need;
}

void FrameReader::note_problem(std::string what) {
  if (stats_.problems.size() < kMaxProblemLines) stats_.problems.push_back(std::move(what));
  else if (stats_.problems.size() == kMaxProblemLines) stats_.problems.push_back("(more damage not listed)");
}

// A frame that could be real at pos_: its marker, a length that fits in the file, and a payload that
// can be what the recording holds. Reads ahead (up to one frame) without moving pos_.
bool FrameReader::plausible_frame_here() {
  if (!fill(kFrameHeaderBytes)) return false;
  const uint8_t* p = buf_.get() + pos_;
  const char* marker = info_.version == 2 ? "MEET" : "MEETECHO";
  if (std::memcmp(p, marker, marker_len_) != 0) return false;
  size_t len = be16(p + 8);
  if (!fill(kFrameHeaderBytes + len)) return false;
  p = buf_.get() + pos_;
  if (info_.media == Media::data) return len >= 8;
  return len >= 12 && (p[kFrameHeaderBytes] >> 6) == 2;
}

// pos_ is where a frame marker was expected: finds the next plausible frame. The bytes before it are
// one bad region; false when the rest of the file holds no frame.
bool FrameReader::resync() {
  static constexpr uint8_t kMarker[4] = {'M', 'E', 'E', 'T'};
  const uint64_t from = abs(pos_);
  pos_++;
  for (;;) {
    if (end_ - pos_ < 4 && !fill(4)) break;
    const uint8_t* b = buf_.get();
    const uint8_t* hit = std::search(b + pos_, b + end_, kMarker, kMarker + 4);
    if (hit == b + end_) {
      pos_ = end_ - 3;  // a marker may straddle the end of the window
      if (!fill(4)) break;
      continue;
    }
    pos_ = static_cast<size_t>(hit - b);
    const uint64_t at = abs(pos_);
    if (plausible_frame_here()) {
      stats_.bad_regions++;
      stats_.skipped_bytes += at - from;
      note_problem("no frame marker at offset " + std::to_string(from) + ": skipped " + std::to_string(at - from) +
                   " bytes to the next frame");
      return true;
    }
    pos_++;
  }
  const uint64_t file_end = abs(end_);
  stats_.bad_regions++;
  stats_.skipped_bytes += file_end - from;
  note_problem("no frame marker at offset " + std::to_string(from) + ": the last " + std::to_string(file_end - from) +
               " bytes hold no frame");
  pos_ = end_;
  return false;
}

bool FrameReader::next(Frame& f) {
  const uint64_t base_ms = static_cast<uint64_t>(info_.written_us) / 1000;
  const char* marker = info_.version == 2 ? "MEET" : "MEETECHO";
  for (;;) {
    if (!fill(kFrameHeaderBytes)) {
      const size_t left = end_ - pos_;
      if (left > 0) {
        stats_.truncated = true;
        note_problem("truncated: " + std::to_string(left) + " bytes at offset " + std::to_string(abs(pos_)) +
                     ", less than a frame header");
        pos_ = end_;
      }
      return false;
    }
    const uint64_t at = abs(pos_);
    const uint8_t* p = buf_.get() + pos_;
    // An info header written again (janus-pp-rec skips these too).
    if (std::memcmp(p, "MJR0000", 7) == 0) {
      size_t len = be16(p + 8);
      if (!fill(kFrameHeaderBytes + len)) {
        stats_.truncated = true;
        note_problem("truncated: header at offset " + std::to_string(at) + " claims " + std::to_string(len) +
                     " bytes, " + std::to_string(end_ - pos_ - kFrameHeaderBytes) + " left");
        pos_ = end_;
        return false;
      }
      stats_.skipped_frames++;
      pos_ += kFrameHeaderBytes + len;
      continue;
    }
    if (std::memcmp(p, marker, marker_len_) != 0) {
      if (!resync()) return false;
      continue;
    }
    const size_t len = be16(p + 8);
    if (!fill(kFrameHeaderBytes + len)) {
      stats_.truncated = true;
      note_problem("truncated: frame at offset " + std::to_string(at) + " claims " + std::to_string(len) +
                   " bytes, " + std::to_string(end_ - pos_ - kFrameHeaderBytes) + " left");
      pos_ = end_;
      return false;
    }
    p = buf_.get() + pos_;  // fill() may have moved the window
    const uint8_t* payload = p + kFrameHeaderBytes;
    pos_ += kFrameHeaderBytes + len;
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
}

std::optional<uint32_t> last_frame_rel_ms(const MjrInfo& info, const uint8_t* tail, size_t n) {
  if (info.version != 2) return std::nullopt;
  static constexpr uint8_t kMarker[4] = {'M', 'E', 'E', 'T'};
  // Hostile bytes may hold many runs that break just before the end: the work is capped.
  uint64_t budget = 1u << 20;
  for (const uint8_t* hit = tail; (hit = std::search(hit, tail + n, kMarker, kMarker + 4)) != tail + n; ++hit) {
    size_t q = static_cast<size_t>(hit - tail);
    uint32_t latest = 0;
    uint64_t frames = 0;
    for (;;) {
      if (budget-- == 0) return std::nullopt;
      if (q == n) break;  // the run ends where the file does
      if (n - q < kFrameHeaderBytes || std::memcmp(tail + q, kMarker, 4) != 0) break;
      const size_t len = be16(tail + q + 8);
      if (n - q - kFrameHeaderBytes < len) {
        q = n;  // a last frame cut by the end of the file: the run still reaches it
        break;
      }
      const uint8_t* payload = tail + q + kFrameHeaderBytes;
      const bool fits = info.media == Media::data ? len >= 8 : len >= 12 && (payload[0] >> 6) == 2;
      if (!fits) break;
      latest = std::max(latest, be32(tail + q + 4));
      ++frames;
      q += kFrameHeaderBytes + len;
    }
    if (q == n && frames > 0) return latest;
  }
  return std::nullopt;
}

// ---- rows ------------------------------------------------------------------------------------------

Result<std::unique_ptr<RowReader>> RowReader::open(std::unique_ptr<ByteSource> source, const ChunkParams& params) {
  auto frames = FrameReader::open(std::move(source));
  if (!frames) return frames.status();
  return std::make_unique<RowReader>(std::move(frames.value()), params);
}

RowReader::RowReader(std::unique_ptr<FrameReader> frames, const ChunkParams& params)
    : frames_(std::move(frames)), track_id_(params.track_id), track_name_(params.track_name) {
  const MjrInfo& info = frames_->info();
  header_.app = params.app;
  header_.room = params.room;
  header_.room_record_id = params.room_record_id;
  header_.peer = params.peer;
  header_.session = params.session;
  header_.index = params.index;
  header_.first_ts = static_cast<uint64_t>(info.written_us) / 1000;
  media_ = info.media != Media::data;
  label_ = info.description.empty() ? std::string("data") : info.description;
  binary_ = info.codec == "binary";
  last_ts_ = header_.first_ts;
}

void RowReader::emit(Row& row) {
  rows_++;
  last_row_ts_ = row.ts;
}

void RowReader::frame_row(const Frame& f, Row& row) {
  row.ts = f.ts_ms;
  row.payload.assign(f.data, f.data + f.size);
  if (media_) {
    row.kind = RowKind::rtp;
    row.track_id = track_id_;
  } else {
    row.kind = RowKind::data;
    row.track_id = 0;
    row.label = label_;
    row.binary = binary_;
  }
  last_ts_ = std::max(last_ts_, f.ts_ms);
  emit(row);
}

bool RowReader::next(Row& row) {
  Frame f;
  switch (state_) {
    case State::start: {
      const bool have = frames_->next(f);
      if (!media_) {
        state_ = State::frames;
        if (!have) {
          state_ = State::done;
          done_ = true;
          return false;
        }
        frame_row(f, row);
        return true;
      }
      TrackInfo t = track_info(frames_->info(), track_name_);
      if (have) t.ssrc = be32(f.data + 8);
      row.kind = RowKind::track_started;
      row.ts = header_.first_ts;
      row.track_id = track_id_;
      row.track = std::move(t);
      row.payload.clear();
      emit(row);
      // The first frame's bytes stay valid in the window until the next read: keep it for the next call.
      if (have) {
        pending_ = true;
        pending_frame_ = f;
      }
      state_ = have ? State::frames : State::stop;
      return true;
    }
    case State::frames:
      if (pending_) {
        pending_ = false;
        frame_row(pending_frame_, row);
        return true;
      }
      if (frames_->next(f)) {
        frame_row(f, row);
        return true;
      }
      if (!media_) {
        state_ = State::done;
        done_ = true;
        return false;
      }
      [[fallthrough]];
    case State::stop:
      row.kind = RowKind::track_stopped;
      row.ts = last_ts_;
      row.track_id = track_id_;
      row.payload.clear();
      emit(row);
      state_ = State::done;
      return true;
    case State::done:
      done_ = true;
      return false;
  }
  return false;
}

// ---- chunk bytes -----------------------------------------------------------------------------------

ChunkByteSource::ChunkByteSource(std::unique_ptr<RowReader> rows) : rows_(std::move(rows)), out_(64 * 1024) {
  format::write_preamble(out_);
  format::write_header_frame(out_, rows_->header());
}

void ChunkByteSource::produce(size_t want) {
  while (out_.size() - out_pos_ < want && !trailer_written_) {
    if (rows_->next(row_)) {
      switch (row_.kind) {
        case RowKind::rtp:
          format::write_bytes_row(out_, row_.ts, row_.track_id, format::kRowRtp, row_.payload.data(),
                                  row_.payload.size());
          break;
        case RowKind::data:
          format::write_data_row(out_, row_.ts, row_.label, row_.binary, row_.payload.data(), row_.payload.size());
          break;
        case RowKind::track_started:
          format::write_track_started_row(out_, row_.ts, row_.track_id, row_.track);
          break;
        case RowKind::track_stopped:
          format::write_empty_row(out_, row_.ts, row_.track_id, format::kRowTrackStopped);
          break;
        default:
          break;
      }
    } else {
      format::write_trailer_row(out_, rows_->last_row_ts(), rows_->rows(), rows_->last_row_ts());
      trailer_written_ = true;
    }
  }
}

Result<size_t> ChunkByteSource::read(uint8_t* dst, size_t max) {
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  produce(std::min<size_t>(max, 64 * 1024));
  size_t k = std::min(max, out_.size() - out_pos_);
  if (k) std::memcpy(dst, out_.data() + out_pos_, k);
  out_pos_ += k;
  return k;
}

std::vector<std::string> problem_lines(const MjrInfo& info, const ScanStats& st) {
  std::vector<std::string> found;
  if (!st.clean()) {
    std::string m = ".mjr damaged: " + std::to_string(st.frames) + " frames read";
    if (st.skipped_frames) m += ", " + std::to_string(st.skipped_frames) + " frames skipped (not RTP)";
    if (st.bad_regions)
      m += ", " + std::to_string(st.bad_regions) + " bad regions (" + std::to_string(st.skipped_bytes) +
           " bytes skipped)";
    if (st.truncated) m += ", truncated";
    if (!st.source_error.is_ok()) m += ", read error";
    found.push_back(m);
    for (const auto& line : st.problems) found.push_back(".mjr: " + line);
  }
  if (info.encrypted) found.push_back(".mjr: the media is end-to-end encrypted (recorded as received)");
  return found;
}

Result<Conversion> convert_to_chunk(const uint8_t* data, size_t n, const ChunkParams& params) {
  auto rows = RowReader::open(memory_source(data, n), params);
  if (!rows) return rows.status();
  ChunkByteSource src(std::move(rows.value()));
  Conversion out;
  out.chunk = Buffer(std::min<size_t>(n + n / 8 + 4096, 64u << 20));
  for (;;) {
    uint8_t* dst = out.chunk.grow(64 * 1024);
    auto got = src.read(dst, 64 * 1024);
    if (!got || *got == 0) break;  // reading memory never fails
    out.chunk.commit(*got);
  }
  out.info = src.rows().info();
  out.stats = src.rows().stats();
  out.first_ts = src.rows().header().first_ts;
  out.last_ts = src.rows().last_frame_ts();
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
