// Helpers for chunk format tests: a chunk whose frame boundaries are known.
#pragma once

#include <roomrec/chunk_reader.h>
#include <roomrec/chunk_writer.h>

#include <cstdint>
#include <random>
#include <vector>

namespace roomrec::testing {

struct BuiltChunk {
  std::vector<uint8_t> bytes;
  std::vector<Row> rows;                       // in order
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end) of each row's frame
  size_t header_end = 0;                        // end of preamble + header frame
  ChunkHeader header;
};

inline ChunkHeader sample_header() {
  ChunkHeader h;
  h.app = "app";
  h.room = "room-1";
  h.room_record_id = "1731132577151";
  h.peer = "alice";
  h.session = 42;
  h.index = 3;
  h.first_ts = 1731132577000;
  h.ip = "10.0.0.5";
  h.user_agent = "Mozilla/5.0";
  OpenTrack t;
  t.track_id = 1;
  t.started_ts = 1731132576000;
  t.info = {TrackKind::video, "video_main", "vp8", 90000, 0, "", 1234, ""};
  t.info.cvo_extension_id = 13;
  t.info.extensions = {{4, "urn:ietf:params:rtp-hdrext:sdes:mid"}, {13, "urn:3gpp:video-orientation"}};
  h.tracks.push_back(t);
  return h;
}

inline std::vector<uint8_t> fake_rtp(std::mt19937& rng, size_t n, uint16_t seq) {
  std::vector<uint8_t> p(n < 12 ? 12 : n);
  for (auto& b : p) b = static_cast<uint8_t>(rng());
  p[0] = 0x80;
  p[1] = 96;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  return p;
}

// A chunk with a mix of every row kind; sizes drawn from rng.
inline BuiltChunk build_chunk(uint32_t seed, int rtp_rows, size_t max_rtp = 1200) {
  std::mt19937 rng(seed);
  BuiltChunk c;
  c.header = sample_header();
  ChunkWriter w(c.header, 1024);
  c.header_end = w.size_bytes();
  uint64_t ts = c.header.first_ts;
  auto record = [&](Row r) {
    c.spans.emplace_back(c.spans.empty() ? c.header_end : c.spans.back().second, w.size_bytes());
    c.rows.push_back(std::move(r));
  };
  {
    Row r; r.ts = ts; r.kind = RowKind::join;
    w.add_join(ts); record(r);
  }
  {
    Row r; r.ts = ts; r.kind = RowKind::track_started; r.track_id = 2;
    r.track = {TrackKind::audio, "audio_main", "opus", 48000, 2, "minptime=10;useinbandfec=1", 5678, ""};
    r.track.extensions = {{1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}};
    w.add_track_started(ts, 2, r.track); record(r);
  }
  for (int i = 0; i < rtp_rows; ++i) {
    ts += rng() % 30;
    Row r; r.ts = ts; r.kind = RowKind::rtp; r.track_id = 1 + (i % 2);
    r.payload = fake_rtp(rng, 12 + rng() % max_rtp, static_cast<uint16_t>(i));
    w.add_rtp(ts, r.track_id, r.payload.data(), r.payload.size()); record(r);
    if (i % 7 == 3) {
      Row q; q.ts = ts; q.kind = RowKind::rtcp;
      q.payload = {0x80, 200, 0, 6};
      q.payload.resize(28, 0x11);
      w.add_rtcp(ts, q.payload.data(), q.payload.size()); record(q);
    }
    if (i == rtp_rows / 2) {  // recording paused and resumed: the session (track 0), then track 1 alone
      for (uint32_t target : {0u, 1u}) {
        Row p; p.ts = ts; p.kind = RowKind::pause; p.track_id = target;
        w.add_pause(ts, target); record(p);
        Row q; q.ts = ts + 1; q.kind = RowKind::resume; q.track_id = target;
        w.add_resume(ts + 1, target); record(q);
      }
      ts += 1;
    }
    if (i % 11 == 5) {
      Row d; d.ts = ts; d.kind = RowKind::data; d.label = "chat"; d.binary = (i % 2) != 0;
      std::string msg = "hello " + std::to_string(i);
      d.payload.assign(msg.begin(), msg.end());
      w.add_data(ts, d.label, d.binary, d.payload.data(), d.payload.size()); record(d);
    }
  }
  {
    Row r; r.ts = ts; r.kind = RowKind::track_stopped; r.track_id = 2;
    w.add_track_stopped(ts, 2); record(r);
  }
  {
    Row r; r.ts = ts + 1; r.kind = RowKind::leave;
    w.add_leave(ts + 1); record(r);
  }
  Buffer b = w.finish();
  c.bytes = b.to_vector();
  return c;
}

inline bool same_row(const Row& a, const Row& b) {
  if (a.ts != b.ts || a.kind != b.kind) return false;
  switch (a.kind) {
    case RowKind::join:
    case RowKind::leave: return true;
    case RowKind::track_stopped:
    case RowKind::pause:
    case RowKind::resume: return a.track_id == b.track_id;
    case RowKind::track_started: return a.track_id == b.track_id && a.track == b.track;
    case RowKind::rtp: return a.track_id == b.track_id && a.payload == b.payload;
    case RowKind::rtcp: return a.payload == b.payload;
    case RowKind::data: return a.label == b.label && a.binary == b.binary && a.payload == b.payload;
  }
  return false;
}

inline std::vector<Row> read_all(const std::vector<uint8_t>& bytes, ChunkReadStats* stats = nullptr,
                                 bool* header_ok = nullptr) {
  ChunkReader r(memory_source(bytes.data(), bytes.size()));
  bool h = r.read_header() != nullptr;
  if (header_ok) *header_ok = h;
  std::vector<Row> out;
  Row row;
  while (r.next(row)) out.push_back(row);
  if (stats) *stats = r.stats();
  return out;
}

}  // namespace roomrec::testing
