#include "format/row_codec.h"

#include <cstring>
#include <string>

#include "util/crc32c.h"
#include "util/utf8.h"

namespace roomrec::format {
namespace {

constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireLen = 2;

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline uint8_t* put_varint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

inline uint8_t* put_u32le(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
  return p + 4;
}

constexpr uint8_t tag(uint32_t field, uint32_t wire) { return static_cast<uint8_t>((field << 3) | wire); }

// Size of the ts and track_id fields (proto3 omits zero values).
inline size_t head_fields_size(uint64_t ts, uint32_t track_id) {
  size_t n = 0;
  if (ts) n += 1 + varint_size(ts);
  if (track_id) n += 1 + varint_size(track_id);
  return n;
}

inline uint8_t* put_head_fields(uint8_t* p, uint64_t ts, uint32_t track_id) {
  if (ts) {
    *p++ = tag(kRowTs, kWireVarint);
    p = put_varint(p, ts);
  }
  if (track_id) {
    *p++ = tag(kRowTrackId, kWireVarint);
    p = put_varint(p, track_id);
  }
  return p;
}

// Opens a frame of `msg_len` bytes at the end of `out`; returns where the
// message goes. close_frame() then writes the CRC.
inline uint8_t* open_frame(Buffer& out, uint8_t type, size_t msg_len) {
  uint8_t* p = out.grow(kFrameOverhead + msg_len);
  p[0] = kFrameMarker;
  p[1] = type;
  put_u32le(p + 2, static_cast<uint32_t>(msg_len));
  return p + kFramePrefixBytes;
}

inline void close_frame(Buffer& out, size_t msg_len) {
  uint8_t* start = out.data() + out.size();
  uint32_t crc = util::crc32c(start + 1, 5 + msg_len);
  put_u32le(start + kFramePrefixBytes + msg_len, crc);
  out.commit(kFrameOverhead + msg_len);
}

}  // namespace

void write_preamble(Buffer& out) {
  out.append(kMagic, sizeof kMagic);
  uint8_t v[4];
  put_u32le(v, kFormatVersion);
  out.append(v, 4);
}

void write_frame(Buffer& out, uint8_t type, const uint8_t* msg, size_t n) {
  uint8_t* p = open_frame(out, type, n);
  if (n) std::memcpy(p, msg, n);
  close_frame(out, n);
}

size_t bytes_row_frame_size(uint64_t ts, uint32_t track_id, size_t n) {
  return kFrameOverhead + head_fields_size(ts, track_id) + 1 + varint_size(n) + n;
}

void write_bytes_row(Buffer& out, uint64_t ts, uint32_t track_id, RowField field, const uint8_t* data, size_t n) {
  size_t msg = head_fields_size(ts, track_id) + 1 + varint_size(n) + n;
  uint8_t* p = open_frame(out, kFrameRow, msg);
  p = put_head_fields(p, ts, track_id);
  *p++ = tag(field, kWireLen);
  p = put_varint(p, n);
  if (n) std::memcpy(p, data, n);
  close_frame(out, msg);
}

void write_data_row(Buffer& out, uint64_t ts, std::string_view label, bool binary, const uint8_t* data, size_t n) {
  // Data { label = 1; binary = 2; bytes = 3; }
  size_t inner = 0;
  if (!label.empty()) inner += 1 + varint_size(label.size()) + label.size();
  if (binary) inner += 2;
  if (n) inner += 1 + varint_size(n) + n;
  size_t msg = head_fields_size(ts, 0) + 1 + varint_size(inner) + inner;
  uint8_t* p = open_frame(out, kFrameRow, msg);
  p = put_head_fields(p, ts, 0);
  *p++ = tag(kRowData, kWireLen);
  p = put_varint(p, inner);
  if (!label.empty()) {
    *p++ = tag(1, kWireLen);
    p = put_varint(p, label.size());
    std::memcpy(p, label.data(), label.size());
    p += label.size();
  }
  if (binary) {
    *p++ = tag(2, kWireVarint);
    *p++ = 1;
  }
  if (n) {
    *p++ = tag(3, kWireLen);
    p = put_varint(p, n);
    std::memcpy(p, data, n);
  }
  close_frame(out, msg);
}

void write_empty_row(Buffer& out, uint64_t ts, uint32_t track_id, RowField field) {
  size_t msg = head_fields_size(ts, track_id) + 2;
  uint8_t* p = open_frame(out, kFrameRow, msg);
  p = put_head_fields(p, ts, track_id);
  *p++ = tag(field, kWireLen);
  *p++ = 0;
  close_frame(out, msg);
}

void write_track_started_row(Buffer& out, uint64_t ts, uint32_t track_id, const TrackInfo& info) {
  record::Row row;
  row.set_ts(ts);
  row.set_track_id(track_id);
  to_proto(info, *row.mutable_track_started());
  std::string bytes = row.SerializeAsString();
  write_frame(out, kFrameRow, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void write_trailer_row(Buffer& out, uint64_t ts, uint64_t row_count, uint64_t last_ts) {
  record::Row row;
  row.set_ts(ts);
  auto* t = row.mutable_trailer();
  t->set_row_count(row_count);
  t->set_last_ts(last_ts);
  std::string bytes = row.SerializeAsString();
  write_frame(out, kFrameRow, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void write_header_frame(Buffer& out, const ChunkHeader& header) {
  record::ChunkHeader h;
  to_proto(header, h);
  std::string bytes = h.SerializeAsString();
  write_frame(out, kFrameHeader, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void to_proto(const TrackInfo& in, record::TrackStarted& out) {
  out.set_kind(in.kind == TrackKind::video ? record::VIDEO : record::AUDIO);
  out.set_name(in.name);
  out.set_codec(in.codec);
  out.set_clock_rate(in.clock_rate);
  out.set_channels(in.channels);
  out.set_fmtp(in.fmtp);
  out.set_ssrc(in.ssrc);
  out.set_rid(in.rid);
  out.set_cvo_extension_id(in.cvo_extension_id);
  for (const auto& e : in.extensions) {
    auto* x = out.add_extensions();
    x->set_id(e.id);
    x->set_uri(e.uri);
  }
}

void from_proto(const record::TrackStarted& in, TrackInfo& out) {
  out.kind = in.kind() == record::VIDEO ? TrackKind::video : TrackKind::audio;
  // Text from a chunk is made valid UTF-8 here, where it enters the reading side.
  out.name = util::utf8_replace_invalid(in.name());
  out.codec = util::utf8_replace_invalid(in.codec());
  out.clock_rate = in.clock_rate();
  out.channels = in.channels();
  out.fmtp = util::utf8_replace_invalid(in.fmtp());
  out.ssrc = in.ssrc();
  out.rid = util::utf8_replace_invalid(in.rid());
  out.cvo_extension_id = static_cast<uint8_t>(in.cvo_extension_id() <= 255 ? in.cvo_extension_id() : 0);
  out.extensions.clear();
  for (const auto& e : in.extensions()) {
    // Bounded as the writing side bounds them; anything else from a chunk is dropped.
    if (out.extensions.size() == TrackInfo::kMaxExtensions) break;
    if (e.id() < 1 || e.id() > 255 || e.uri().empty() || e.uri().size() > TrackInfo::kMaxExtensionUriBytes) continue;
    out.extensions.push_back({static_cast<uint8_t>(e.id()), util::utf8_replace_invalid(e.uri())});
  }
}

void to_proto(const ChunkHeader& in, record::ChunkHeader& out) {
  out.set_app(in.app);
  out.set_room(in.room);
  out.set_room_record_id(in.room_record_id);
  out.set_peer(in.peer);
  out.set_session(in.session);
  out.set_index(in.index);
  out.set_first_ts(in.first_ts);
  out.set_ip(in.ip);
  out.set_user_agent(in.user_agent);
  for (const auto& t : in.tracks) {
    auto* o = out.add_tracks();
    o->set_track_id(t.track_id);
    o->set_started_ts(t.started_ts);
    to_proto(t.info, *o->mutable_info());
    o->set_paused(t.paused);
  }
  out.set_paused(in.paused);
}

void from_proto(const record::ChunkHeader& in, ChunkHeader& out) {
  out.app = in.app();
  out.room = in.room();
  out.room_record_id = in.room_record_id();
  out.peer = in.peer();
  out.session = in.session();
  out.index = in.index();
  out.first_ts = in.first_ts();
  out.ip = in.ip();
  out.user_agent = in.user_agent();
  out.tracks.clear();
  out.tracks.reserve(static_cast<size_t>(in.tracks_size()));
  for (const auto& t : in.tracks()) {
    OpenTrack o;
    o.track_id = t.track_id();
    o.started_ts = t.started_ts();
    from_proto(t.info(), o.info);
    o.paused = t.paused();
    out.tracks.push_back(std::move(o));
  }
  out.paused = in.paused();
}

}  // namespace roomrec::format
