// Reading recorded rooms: local folders, S3 (s3rver), Janus .mjr folders; SessionReader and
// RoomReader over missing, damaged and oddly named chunks.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/chunk_reader.h>
#include <roomrec/chunk_writer.h>
#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/upload_queue.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "../../s3/s3rver_process.h"
#include "../rtp_test_util.h"
#include "read/mjr_reader.h"
#include "read/room_reader.h"
#include "read/session_reader.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"

using namespace roomrec;
using roomrec::testing::make_rtp;
using roomrec::testing::S3rverProcess;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t T0 = 1'731'132'577'000ULL;

using roomrec::testing::TempDir;

void write_file(const fs::path& p, const std::vector<uint8_t>& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

bool any_contains(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += "  " + s + "\n";
  return out;
}

long long ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

uint16_t seq_of(const Row& r) { return static_cast<uint16_t>((r.payload[2] << 8) | r.payload[3]); }

TrackInfo opus_track() {
  TrackInfo t;
  t.kind = TrackKind::audio;
  t.name = "audio_main";
  t.codec = "opus";
  t.clock_rate = 48000;
  t.channels = 2;
  t.ssrc = 11;
  return t;
}

// A synthetic session: chunk 0 starts with join + track_started(1); every chunk has `rows` rtp rows on
// track 1 (sequence numbers count up across the session, times t0 + step * (n + 1)); the last chunk
// ends with a leave row. Every chunk header after the first lists track 1 as open.
struct SynthSession {
  std::string peer;
  uint64_t session = 0;
  int chunks = 12;
  int rows = 5;
  uint64_t t0 = T0;
  uint64_t step = 10;
  bool padded = true;
  size_t payload = 20;

  uint64_t total_rows() const { return 3 + static_cast<uint64_t>(chunks) * rows; }
};

struct ChunkFile {
  std::string rel_key;  // {peer}/{session}/{name}
  uint32_t index;
  std::vector<uint8_t> bytes;
  uint64_t rtp_rows;
};

std::vector<ChunkFile> make_session(const SynthSession& s, const std::string& app = "app",
                                    const std::string& room = "room", const std::string& rid = "rid1") {
  std::vector<ChunkFile> out;
  uint16_t seq = 0;
  for (int c = 0; c < s.chunks; ++c) {
    ChunkHeader h;
    h.app = app;
    h.room = room;
    h.room_record_id = rid;
    h.peer = s.peer;
    h.session = s.session;
    h.index = static_cast<uint32_t>(c);
    uint64_t first = s.t0 + s.step * (static_cast<uint64_t>(c) * s.rows + (c == 0 ? 0 : 1));
    h.first_ts = first;
    if (c > 0) h.tracks.push_back(OpenTrack{1, s.t0, opus_track()});
    ChunkWriter w(h);
    if (c == 0) {
      w.add_join(s.t0);
      w.add_track_started(s.t0, 1, opus_track());
    }
    for (int r = 0; r < s.rows; ++r) {
      uint64_t n = static_cast<uint64_t>(c) * s.rows + r;
      auto p = make_rtp(seq, static_cast<uint32_t>(960 * n), 11, s.payload, 111);
      ++seq;
      REQUIRE(w.add_rtp(s.t0 + s.step * (n + 1), 1, p.data(), p.size()));
    }
    if (c == s.chunks - 1) w.add_leave(w.last_ts() + 1);
    char name[96];
    std::snprintf(name, sizeof name, s.padded ? "%06u-%llu-%llu.rec" : "%u-%llu-%llu.rec", static_cast<unsigned>(c),
                  static_cast<unsigned long long>(w.first_ts()), static_cast<unsigned long long>(w.last_ts()));
    Buffer b = w.finish();
    out.push_back(ChunkFile{encode_key_component(s.peer) + "/" + std::to_string(s.session) + "/" + name,
                            static_cast<uint32_t>(c), b.to_vector(), static_cast<uint64_t>(s.rows)});
  }
  return out;
}

// Writes sessions into {root}/{app}/{room}/{rid}; returns the room folder and the files by session.
fs::path write_room(const fs::path& root, const std::vector<SynthSession>& sessions,
                    std::map<std::string, std::vector<fs::path>>* files = nullptr) {
  fs::path room = root / "pfx" / "app" / "room" / "rid1";
  fs::create_directories(room);
  for (auto& s : sessions)
    for (auto& c : make_session(s)) {
      write_file(room / c.rel_key, c.bytes);
      if (files) (*files)[s.peer + "/" + std::to_string(s.session)].push_back(room / c.rel_key);
    }
  return room;
}

struct ReadBack {
  std::vector<Row> rows;
  std::vector<std::string> problems;
  SessionReadStats stats;
};

ReadBack read_session(RecordingSource& src, const SessionRef& s) {
  SessionReader r(src, s);
  ReadBack out;
  Row row;
  while (r.next(row)) out.rows.push_back(row);
  out.problems = r.problems();
  out.stats = r.stats();
  return out;
}

std::unique_ptr<RecordingSource> open_source(const std::string& where) {
  auto src = RecordingSource::open(where);
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  return std::move(src.value());
}

// ---- .mjr writing ----------------------------------------------------------------------------------

void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
void put64(std::vector<uint8_t>& v, uint64_t x) {
  put32(v, static_cast<uint32_t>(x >> 32));
  put32(v, static_cast<uint32_t>(x));
}

struct MjrFrameSpec {
  uint32_t rel_ms;
  std::vector<uint8_t> packet;
};

std::vector<uint8_t> mjr_file(const std::string& json, const std::vector<MjrFrameSpec>& frames,
                              const char* magic = "MJR00002") {
  std::vector<uint8_t> v(magic, magic + 8);
  put16(v, static_cast<uint16_t>(json.size()));
  v.insert(v.end(), json.begin(), json.end());
  const bool v2 = std::string(magic) == "MJR00002";
  for (auto& f : frames) {
    if (v2) {
      v.insert(v.end(), {'M', 'E', 'E', 'T'});
      put32(v, f.rel_ms);
    } else {
      for (char c : std::string("MEETECHO")) v.push_back(static_cast<uint8_t>(c));
    }
    put16(v, static_cast<uint16_t>(f.packet.size()));
    v.insert(v.end(), f.packet.begin(), f.packet.end());
  }
  return v;
}

constexpr int64_t kJanusU = 1'731'132'577'123'456LL;  // µs

std::string mjr_json(const char* t, const char* c, int64_t u = kJanusU) {
  return std::string("{\"t\":\"") + t + "\",\"c\":\"" + c + "\",\"s\":" + std::to_string(u - 5000) +
         ",\"u\":" + std::to_string(u) + "}";
}

// Opus: a packet every 20 ms; VP8: every 33 ms.
std::vector<MjrFrameSpec> audio_frames(int n, uint32_t ssrc = 1111) {
  std::vector<MjrFrameSpec> f;
  for (int i = 0; i < n; ++i)
    f.push_back({static_cast<uint32_t>(20 * i), make_rtp(static_cast<uint16_t>(i), 960u * i, ssrc, 40, 111)});
  return f;
}
std::vector<MjrFrameSpec> video_frames(int n, uint32_t ssrc = 2222) {
  std::vector<MjrFrameSpec> f;
  for (int i = 0; i < n; ++i)
    f.push_back({static_cast<uint32_t>(33 * i), make_rtp(static_cast<uint16_t>(i), 2970u * i, ssrc, 300, 96)});
  return f;
}

// Converts and reads back; the chunk must always be valid.
struct Converted {
  Status status;
  ChunkHeader header;
  std::vector<Row> rows;
  mjr::ScanStats stats;
};
Converted convert(const std::vector<uint8_t>& bytes) {
  Converted out;
  mjr::ChunkParams p;
  p.app = "janus";
  p.room = "r";
  p.peer = "p";
  p.track_id = 7;
  p.track_name = "t";
  auto c = mjr::convert_to_chunk(bytes.data(), bytes.size(), p);
  if (!c) {
    out.status = c.status();
    return out;
  }
  out.stats = c->stats;
  ChunkReader r(memory_source(c->chunk.to_vector()));
  if (auto* h = r.read_header()) out.header = *h;
  Row row;
  while (r.next(row)) out.rows.push_back(row);
  CHECK(r.stats().complete());
  return out;
}

}  // namespace

// ======================================================================================================
TEST_CASE("local room: sessions by peer then number, chunks in numeric order, padded or not") {
  TempDir tmp;
  std::vector<SynthSession> ss = {
      {"bob", 10, 12, 4, T0 + 1},
      {"bob", 9, 13, 4, T0 + 2, 10, /*padded=*/false},
      {"alice", 100, 12, 3, T0 + 3},
      {"carol/eve%", 2, 12, 3, T0 + 4, 10, false},  // a peer name that needs encoding
  };
  fs::path room = write_room(tmp.path, ss);
  auto src = open_source(room.string());
  CHECK(src->describe().find(room.string()) != std::string::npos);
  auto listing = src->list();
  REQUIRE_MESSAGE(listing.is_ok(), listing.status().to_string());
  CHECK_MESSAGE(listing->problems.empty(), joined(listing->problems));
  CHECK(listing->app == "app");
  CHECK(listing->room == "room");
  CHECK(listing->room_record_id == "rid1");
  REQUIRE(listing->sessions.size() == 4);
  CHECK(listing->sessions[0].peer == "alice");
  CHECK(listing->sessions[1].peer == "bob");
  CHECK(listing->sessions[1].session == 9);   // numeric: 9 before 10
  CHECK(listing->sessions[2].session == 10);
  CHECK(listing->sessions[3].peer == "carol/eve%");
  for (auto& s : listing->sessions) {
    CHECK(s.missing_indexes.empty());
    for (size_t i = 0; i < s.chunks.size(); ++i) {
      CHECK(s.chunks[i].key.index == i);  // chunk 10 after chunk 9, not after chunk 1
      CHECK(s.chunks[i].key.peer == s.peer);
      CHECK(s.chunks[i].key.session == s.session);
      CHECK(s.chunks[i].key.app == "app");
      CHECK(s.chunks[i].size == fs::file_size(s.chunks[i].location));
    }
  }
  CHECK(listing->sessions[1].chunks.size() == 13);
  CHECK(listing->sessions[1].chunks[10].location.find("/10-") != std::string::npos);  // unpadded name

  // Every session reads back whole and in order.
  for (auto& s : listing->sessions) {
    const SynthSession& spec = *std::find_if(ss.begin(), ss.end(), [&](const SynthSession& x) {
      return x.peer == s.peer && x.session == s.session;
    });
    SessionReader r(*src, s);
    Row row;
    std::vector<Row> rows;
    uint16_t next_seq = 0;
    uint64_t last_ts = 0;
    while (r.next(row)) {
      CHECK(row.ts >= last_ts);
      last_ts = row.ts;
      if (row.kind == RowKind::rtp) {
        CHECK(seq_of(row) == next_seq);
        ++next_seq;
        REQUIRE(r.track(row.track_id) != nullptr);
        CHECK(r.track(row.track_id)->codec == "opus");
        CHECK(r.track_open(row.track_id));
      }
      rows.push_back(row);
    }
    CHECK(rows.size() == spec.total_rows());
    CHECK(rows.front().kind == RowKind::join);
    CHECK(rows.back().kind == RowKind::leave);
    CHECK(r.problems().empty());
    CHECK(r.stats().chunks_intact == static_cast<uint64_t>(spec.chunks));
    CHECK(r.stats().rows == spec.total_rows());
    REQUIRE(r.header() != nullptr);
    CHECK(r.header()->peer == s.peer);
    CHECK(r.name() == s.peer + "/" + std::to_string(s.session));
  }

  // file:// form and a trailing slash name the same room.
  auto src2 = open_source("file://" + room.string() + "/");
  auto l2 = src2->list();
  REQUIRE(l2.is_ok());
  CHECK(l2->sessions.size() == 4);
}

TEST_CASE("a missing chunk is reported and the rest is read; tracks are known from later chunk headers") {
  TempDir tmp;
  std::map<std::string, std::vector<fs::path>> files;
  SynthSession a{"alice", 1, 12, 4};
  SynthSession b{"bob", 2, 12, 4};
  fs::path room = write_room(tmp.path, {a, b}, &files);
  fs::remove(files["alice/1"][5]);
  fs::remove(files["bob/2"][0]);  // the chunk that started the track
  fs::remove(files["bob/2"][1]);
  auto src = open_source(room.string());
  auto listing = src->list();
  REQUIRE(listing.is_ok());
  REQUIRE(listing->sessions.size() == 2);
  CHECK(listing->sessions[0].missing_indexes == std::vector<uint32_t>{5});
  CHECK(listing->sessions[1].missing_indexes == std::vector<uint32_t>{0, 1});
  CHECK_MESSAGE(any_contains(listing->problems, "alice/1: missing chunk 5"), joined(listing->problems));
  CHECK_MESSAGE(any_contains(listing->problems, "bob/2: missing chunks 0-1"), joined(listing->problems));

  auto ra = read_session(*src, listing->sessions[0]);
  CHECK(ra.rows.size() == a.total_rows() - 4);
  CHECK(any_contains(ra.problems, "chunk 5 of alice/1 is missing"));
  CHECK(ra.stats.chunks_missing == 1);
  CHECK(ra.stats.chunks_intact == 11);

  SessionReader rb(*src, listing->sessions[1]);
  Row row;
  uint64_t n = 0;
  bool first = true;
  while (rb.next(row)) {
    if (first) {
      // No track_started row was read, yet the track is known from chunk 2's header.
      CHECK(row.kind == RowKind::rtp);
      REQUIRE(rb.track(1) != nullptr);
      CHECK(rb.track(1)->codec == "opus");
      CHECK(rb.track(1)->clock_rate == 48000);
      CHECK(rb.track_open(1));
      CHECK(seq_of(row) == 8);
      first = false;
    }
    ++n;
  }
  CHECK(n == b.total_rows() - 2 - 8);
  CHECK_MESSAGE(any_contains(rb.problems(), "chunks 0-1 of bob/2 are missing"), joined(rb.problems()));
}

TEST_CASE("a corrupt chunk reports its damage and its intact rows still come") {
  TempDir tmp;
  std::map<std::string, std::vector<fs::path>> files;
  SynthSession a{"alice", 1, 12, 20};
  a.payload = 200;
  fs::path room = write_room(tmp.path, {a}, &files);
  auto bytes = read_file(files["alice/1"][3]);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 8; ++i) bytes[i] ^= 0x5A;
  write_file(files["alice/1"][3], bytes);
  // And chunk 7 loses its tail (a truncated upload).
  auto tail = read_file(files["alice/1"][7]);
  tail.resize(tail.size() - 300);
  write_file(files["alice/1"][7], tail);

  auto src = open_source(room.string());
  auto listing = src->list();
  REQUIRE(listing.is_ok());
  auto r = read_session(*src, listing->sessions[0]);
  CHECK(r.stats.chunks_damaged == 2);
  CHECK(r.stats.chunks_intact == 10);
  CHECK(r.stats.bad_regions >= 1);
  CHECK_MESSAGE(any_contains(r.problems, "chunk 3 of alice/1: 1 bad regions, "), joined(r.problems));
  CHECK_MESSAGE(any_contains(r.problems, "chunk 7 of alice/1: "), joined(r.problems));
  CHECK(any_contains(r.problems, "no trailer"));
  // Damage costs a row or two per chunk, never the chunk.
  CHECK(r.rows.size() < a.total_rows());
  CHECK(r.rows.size() >= a.total_rows() - 4);
  uint64_t last = 0;
  int last_seq = -1;
  for (auto& row : r.rows) {
    CHECK(row.ts >= last);
    last = row.ts;
    if (row.kind == RowKind::rtp) {
      CHECK(seq_of(row) > last_seq);
      last_seq = seq_of(row);
    }
  }
  CHECK(r.rows.back().kind == RowKind::leave);
}

TEST_CASE("unparsable names are reported in problems and never fail the listing") {
  TempDir tmp;
  SynthSession a{"alice", 1, 12, 2};
  fs::path room = write_room(tmp.path, {a});
  auto good = make_session(a)[0].bytes;
  write_file(room / "alice/1/garbage.rec", good);
  write_file(room / "alice/1/notes.txt", {1, 2, 3});
  write_file(room / "alice/1/000001-5.rec", good);
  write_file(room / "alice/1/000012-200-100.rec", good);  // to_ts before from_ts
  write_file(room / "alice/1/000012-1-2.rec.part", good);
  write_file(room / "alice/x1/000000-1-2.rec", good);      // session not a number
  write_file(room / "alice/stray.rec", good);              // at the session level
  write_file(room / "README", {1});                        // at the peer level
  fs::create_directories(room / "alice/1/sub");
  // The same index twice (padded and unpadded): both kept, reported.
  auto dup = make_session(a)[11];
  write_file(room / ("alice/1/11-" + std::to_string(T0 + 1000) + "-" + std::to_string(T0 + 1001) + ".rec"),
             dup.bytes);

  auto src = open_source(room.string());
  auto listing = src->list();
  REQUIRE_MESSAGE(listing.is_ok(), listing.status().to_string());
  REQUIRE(listing->sessions.size() == 1);
  CHECK(listing->sessions[0].chunks.size() == 13);
  CHECK(listing->sessions[0].missing_indexes.empty());
  const auto& p = listing->problems;
  INFO(joined(p));
  CHECK(any_contains(p, "garbage.rec: not a chunk file name"));
  CHECK(any_contains(p, "notes.txt: not a chunk file name"));
  CHECK(any_contains(p, "000001-5.rec: not a chunk file name"));
  CHECK(any_contains(p, "000012-200-100.rec: not a chunk file name"));
  CHECK(any_contains(p, ".part: an unfinished upload"));
  CHECK(any_contains(p, "the session folder 'x1' is not a number"));
  CHECK(any_contains(p, "stray.rec: not a session folder"));
  CHECK(any_contains(p, "README: not a peer folder"));
  CHECK(any_contains(p, "sub: not a chunk file"));
  CHECK(any_contains(p, "alice/1: chunk 11 is stored more than once"));
}

TEST_CASE("an empty or absent room is a clear error; bad locations are refused") {
  TempDir tmp;
  fs::create_directories(tmp.path / "app/room/rid");
  auto src = open_source((tmp.path / "app/room/rid").string());
  auto l = src->list();
  REQUIRE_FALSE(l.is_ok());
  CHECK(l.status().code() == ErrorCode::not_found);
  CHECK(l.status().message().find("no recording found at file://" + (tmp.path / "app/room/rid").string()) == 0);

  write_file(tmp.path / "app/room/rid/peer/1/junk.bin", {1, 2});
  auto l2 = open_source((tmp.path / "app/room/rid").string())->list();
  REQUIRE_FALSE(l2.is_ok());
  CHECK(l2.status().message().find("junk.bin") != std::string::npos);

  auto missing = RecordingSource::open((tmp.path / "nope").string());
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message().find("no recording found at") != std::string::npos);
  CHECK_FALSE(RecordingSource::open("").is_ok());
  auto ftp = RecordingSource::open("ftp://host/x");
  REQUIRE_FALSE(ftp.is_ok());
  CHECK(ftp.status().message().find("unsupported recording location") != std::string::npos);
  auto nobucketpath = RecordingSource::open("http://K:S@127.0.0.1:9/bucket?path_style=true");
  REQUIRE_FALSE(nobucketpath.is_ok());
  CHECK(nobucketpath.status().message().find("names no room path") != std::string::npos);
  CHECK(nobucketpath.status().message().find(":S@") == std::string::npos);  // secret not shown
  write_file(tmp.path / "afile", {1});
  CHECK_FALSE(RecordingSource::open((tmp.path / "afile").string()).is_ok());
}

TEST_CASE("RoomReader merges every session by time, stable on ties, and misses nothing") {
  TempDir tmp;
  std::vector<SynthSession> ss = {
      {"alice", 1, 12, 5, T0, 10},
      {"bob", 1, 14, 4, T0 + 5, 7},
      {"carol", 3, 12, 6, T0, 10},  // same times as alice: ties
      {"dave", 1, 12, 3, T0 + 300, 13},
  };
  fs::path room = write_room(tmp.path, ss);
  auto src = open_source(room.string());
  auto listing = src->list();
  REQUIRE(listing.is_ok());
  RoomReader rr(*src, std::move(listing.value()));
  REQUIRE(rr.session_count() == 4);
  RoomRow r;
  uint64_t last_ts = 0;
  size_t last_session = 0;
  std::vector<std::vector<uint16_t>> seqs(4);
  std::vector<uint64_t> counts(4);
  uint64_t ties = 0;
  while (rr.next(r)) {
    REQUIRE(r.session == &rr.session(r.session_index));
    CHECK(r.row.ts >= last_ts);
    if (r.row.ts == last_ts) {
      CHECK(r.session_index >= last_session);  // ties keep session order
      if (r.session_index != last_session) ++ties;
    }
    last_ts = r.row.ts;
    last_session = r.session_index;
    counts[r.session_index]++;
    if (r.row.kind == RowKind::rtp) {
      seqs[r.session_index].push_back(seq_of(r.row));
      // While the row is held, its session reader describes the session up to it.
      const TrackInfo* t = rr.session_reader(r.session_index).track(r.row.track_id);
      REQUIRE(t != nullptr);
      CHECK(t->codec == "opus");
    }
  }
  CHECK(ties > 0);
  uint64_t total = 0;
  for (size_t i = 0; i < 4; ++i) {
    const SessionRef& s = rr.session(i);
    auto spec = *std::find_if(ss.begin(), ss.end(), [&](auto& x) { return x.peer == s.peer; });
    CHECK(counts[i] == spec.total_rows());
    total += counts[i];
    for (size_t k = 0; k < seqs[i].size(); ++k) CHECK(seqs[i][k] == k);
    CHECK(rr.session_reader(i).problems().empty());
  }
  CHECK(rr.rows() == total);
  CHECK(rr.problems().empty());
  CHECK_FALSE(rr.next(r));
}

TEST_CASE("a room recorded by the real Recorder into a local folder reads back complete") {
  TempDir tmp;
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 16 * 1024;
  cfg.store.memory_budget_bytes = 64ull << 20;
  auto rec = Recorder::create(cfg).value();
  UploadQueueConfig qc;
  qc.workers = 2;
  UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(tmp.path.string()), qc);
  q.start();
  std::vector<std::shared_ptr<SessionRecorder>> sessions;
  const int kPackets = 400;
  for (int s = 0; s < 3; ++s) {
    auto x = rec->open("app", "room", "peer-" + std::to_string(s), 1000 + s, "127.0.0.1", "ua", T0).value();
    x->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 11, "", T0);
    x->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 22, "", T0);
    sessions.push_back(x);
  }
  for (int i = 0; i < kPackets; ++i)
    for (auto& x : sessions) {
      auto a = make_rtp(static_cast<uint16_t>(i), 960u * i, 11, 80, 111);
      auto v = make_rtp(static_cast<uint16_t>(i), 3000u * i, 22, 500, 96);
      REQUIRE(x->rtp(1, a.data(), a.size(), T0 + 20 * i) == RecordResult::ok);
      REQUIRE(x->rtp(2, v.data(), v.size(), T0 + 20 * i + 1) == RecordResult::ok);
    }
  for (auto& x : sessions) x->leave(T0 + 20 * kPackets);
  REQUIRE(rec->store().wait_drained(60000));
  q.stop();
  uint64_t chunks = 0;
  for (auto& x : sessions) chunks += x->stats().chunks_closed;
  CHECK(chunks >= 3 * 12);

  auto src = open_source((tmp.path / sessions[0]->room_path()).string());
  auto listing = src->list();
  REQUIRE_MESSAGE(listing.is_ok(), listing.status().to_string());
  CHECK_MESSAGE(listing->problems.empty(), joined(listing->problems));
  CHECK(listing->sessions.size() == 3);
  uint64_t listed = 0;
  for (auto& s : listing->sessions) listed += s.chunks.size();
  CHECK(listed == chunks);
  RoomReader rr(*src, std::move(listing.value()));
  RoomRow r;
  std::map<std::pair<size_t, uint32_t>, int> next_seq;
  uint64_t last = 0, rtp = 0;
  while (rr.next(r)) {
    CHECK(r.row.ts >= last);
    last = r.row.ts;
    if (r.row.kind != RowKind::rtp) continue;
    ++rtp;
    int& expect = next_seq[{r.session_index, r.row.track_id}];
    CHECK(seq_of(r.row) == expect);
    expect = seq_of(r.row) + 1;
    const TrackInfo* t = rr.session_reader(r.session_index).track(r.row.track_id);
    REQUIRE(t);
    CHECK(t->codec == (r.row.track_id == 1 ? "opus" : "vp8"));
  }
  CHECK(rtp == 3u * 2 * kPackets);
  CHECK_MESSAGE(rr.problems().empty(), joined(rr.problems()));
}

TEST_CASE("S3 room: paginated listing of 1,100 chunks, streamed reads, problems reported") {
  S3rverProcess s3;
  if (!s3.available()) {
    MESSAGE("skipped: " << s3.reason());
    return;
  }
  REQUIRE_MESSAGE(s3.running(), s3.reason());
  const std::string room_path = "pfx/app/room/rid1";
  auto uri = s3::S3Uri::parse(s3.s3_uri("roomrec-test", room_path)).value();

  // 1,100 tiny chunks: 10 sessions of 110 chunks (half of them with unpadded names).
  std::vector<SynthSession> ss;
  for (int i = 0; i < 10; ++i) {
    SynthSession s{"peer" + std::to_string(i % 4), static_cast<uint64_t>(i), 110, 1, T0 + i, 10, i % 2 == 0, 8};
    ss.push_back(s);
  }
  std::vector<ChunkFile> all;
  for (auto& s : ss)
    for (auto& c : make_session(s)) all.push_back(std::move(c));
  REQUIRE(all.size() == 1100);
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      s3::S3Client client(uri);
      for (size_t i; (i = next++) < all.size();) {
        const auto& c = all[i];
        Status st = client.put(uri.key(c.rel_key),
                               std::string_view(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size()));
        if (!st) failures++;
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);
  // One large chunk (over the 2 MiB in-memory limit: downloaded through a temporary file).
  SynthSession big{"zed", 1, 1, 9, T0, 10, true, 350 * 1024};
  auto big_chunk = make_session(big)[0];
  REQUIRE(big_chunk.bytes.size() > (3u << 20));
  s3::S3Client client(uri);
  REQUIRE(client.put(uri.key(big_chunk.rel_key), std::string_view(reinterpret_cast<const char*>(big_chunk.bytes.data()),
                                                                    big_chunk.bytes.size())));
  // Things that are not chunks.
  REQUIRE(client.put(uri.key("junk.txt"), "x"));
  REQUIRE(client.put(uri.key("peer0/0/notes.txt"), "x"));
  REQUIRE(client.put(uri.key("peer0/0/a/b/c.rec"), "x"));
  // A room whose name starts the same is not listed.
  REQUIRE(client.put(s3::S3Uri::parse(s3.s3_uri("roomrec-test", room_path + "0")).value().key("p/1/0-1-2.rec"), "x"));

  auto src = open_source(s3.s3_uri("roomrec-test", room_path));
  CHECK(src->describe().find("S3RVER:S3RVER") == std::string::npos);
  auto listing = src->list();
  REQUIRE_MESSAGE(listing.is_ok(), listing.status().to_string());
  CHECK(listing->app == "app");
  CHECK(listing->room == "room");
  CHECK(listing->room_record_id == "rid1");
  REQUIRE(listing->sessions.size() == 11);
  uint64_t listed = 0;
  for (auto& s : listing->sessions) {
    listed += s.chunks.size();
    CHECK(s.missing_indexes.empty());
    for (size_t i = 0; i < s.chunks.size(); ++i) {
      CHECK(s.chunks[i].key.index == i);
      CHECK(s.chunks[i].location.rfind(room_path + "/", 0) == 0);
    }
  }
  CHECK(listed == 1101);
  INFO(joined(listing->problems));
  CHECK(listing->problems.size() == 3);
  CHECK(any_contains(listing->problems, "junk.txt: not {peer}/{session}/{chunk}"));
  CHECK(any_contains(listing->problems, "notes.txt: not a chunk file name"));
  CHECK(any_contains(listing->problems, "a/b/c.rec: not {peer}/{session}/{chunk}"));

  RoomReader rr(*src, listing.value());
  RoomRow r;
  uint64_t rows = 0, last = 0, big_bytes = 0;
  while (rr.next(r)) {
    CHECK(r.row.ts >= last);
    last = r.row.ts;
    ++rows;
    if (r.session->peer == "zed" && r.row.kind == RowKind::rtp) big_bytes += r.row.payload.size();
  }
  uint64_t expect = 0;
  for (auto& s : ss) expect += s.total_rows();
  CHECK(rows == expect + big.total_rows());
  CHECK(big_bytes == 9u * (12 + 350 * 1024));
  CHECK_MESSAGE(rr.problems().size() == 3, joined(rr.problems()));

  // The listed size is only a hint: a larger object moves from memory to a temporary file midway.
  const SessionRef& zed = listing->sessions.back();
  REQUIRE(zed.peer == "zed");
  ChunkRef hint = zed.chunks[0];
  hint.size = 0;
  {
    auto bs = src->open(hint);
    REQUIRE(bs.is_ok());
    std::vector<uint8_t> got, buf(100'000);
    for (;;) {
      auto n = bs.value()->read(buf.data(), buf.size());
      REQUIRE(n.is_ok());
      if (*n == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    CHECK(got == big_chunk.bytes);
  }
  // Dropping a source midway cancels its download promptly.
  {
    auto t = std::chrono::steady_clock::now();
    auto bs = src->open(zed.chunks[0]);
    REQUIRE(bs.is_ok());
    uint8_t b[100];
    REQUIRE(bs.value()->read(b, sizeof b).is_ok());
    bs.value().reset();
    CHECK(ms_since(t) < 5000);
  }
  // An object that does not exist: the read fails with a clear error.
  {
    ChunkRef ghost = zed.chunks[0];
    ghost.location = room_path + "/zed/1/000001-1-2.rec";
    auto bs = src->open(ghost);
    REQUIRE(bs.is_ok());
    uint8_t b[10];
    auto n = bs.value()->read(b, sizeof b);
    REQUIRE_FALSE(n.is_ok());
    CHECK(n.status().code() == ErrorCode::not_found);
    CHECK(n.status().message().find("000001-1-2.rec") != std::string::npos);
  }

  // A chunk deleted after the listing: the session reports it and reads on.
  const SessionRef& s0 = listing->sessions[0];
  REQUIRE(client.remove(s0.chunks[4].location));
  auto back = read_session(*src, s0);
  CHECK(back.stats.chunks_intact == s0.chunks.size() - 1);
  CHECK(back.stats.chunks_damaged + back.stats.chunks_failed == 1);
  CHECK_MESSAGE(any_contains(back.problems, "chunk 4 of " + s0.peer + "/" + std::to_string(s0.session)),
                joined(back.problems));
  CHECK(any_contains(back.problems, "not_found"));

  // A room that is empty in S3.
  auto empty = open_source(s3.s3_uri("roomrec-test", "pfx/app/room/none"));
  auto el = empty->list();
  REQUIRE_FALSE(el.is_ok());
  CHECK(el.status().message().find("no recording found at") == 0);

  // S3 down: the listing fails with a clear error, no crash.
  s3.stop();
  auto down = src->list();
  REQUIRE_FALSE(down.is_ok());
  CHECK(down.status().message().find("listing") != std::string::npos);
}

// ---- Janus .mjr --------------------------------------------------------------------------------------
TEST_CASE(".mjr header and frames are parsed as Janus writes them") {
  auto bytes = mjr_file(
      R"({"t":"a","c":"opus","f":"useinbandfec=1","x":{"1":"urn:ietf:params:rtp-hdrext:ssrc-audio-level"},"s":1731132577000000,"u":1731132577123456,"or":120})",
      audio_frames(3));
  auto info = mjr::parse_header(bytes.data(), bytes.size());
  REQUIRE_MESSAGE(info.is_ok(), info.status().to_string());
  CHECK(info->version == 2);
  CHECK(info->media == mjr::Media::audio);
  CHECK(info->codec == "opus");
  CHECK(info->fmtp == "useinbandfec=1");
  CHECK(info->created_us == 1731132577000000LL);
  CHECK(info->written_us == 1731132577123456LL);
  CHECK(info->opus_red_pt == 120);
  REQUIRE(info->extensions.size() == 1);
  CHECK(info->extensions[0].first == 1);
  mjr::FrameReader fr(info.value(), bytes.data(), bytes.size());
  mjr::Frame f;
  std::vector<mjr::Frame> frames;
  while (fr.next(f)) frames.push_back(f);
  REQUIRE(frames.size() == 3);
  CHECK(frames[2].rel_ms == 40);
  CHECK(frames[2].ts_ms == 1731132577123ULL + 40);
  CHECK(frames[1].size == 52);
  CHECK(fr.stats().clean());

  auto t = mjr::track_info(info.value(), "x");
  CHECK(t.clock_rate == 48000);
  CHECK(t.channels == 2);
  CHECK(mjr::peer_name("rec-1234-audio.mjr") == "rec-1234");
  CHECK(mjr::peer_name("rec-1234-video.mjr") == "rec-1234");
  CHECK(mjr::peer_name("videoroom-1-user-2-1700000000-video-1.MJR") == "videoroom-1-user-2-1700000000");
  CHECK(mjr::peer_name("rec-1234-data.mjr") == "rec-1234");
  CHECK(mjr::peer_name("plain.mjr") == "plain");
  CHECK(mjr::peer_name("-audio.mjr") == "-audio");
}

TEST_CASE("a folder of Janus .mjr files reads as a room of converted chunks") {
  TempDir tmp;
  fs::path dir = tmp.path / "janus-room";
  const int64_t u_video = kJanusU + 250'000;  // the video track started 250 ms later
  write_file(dir / "rec-1234-audio.mjr", mjr_file(mjr_json("a", "opus"), audio_frames(50)));
  write_file(dir / "rec-1234-video.mjr", mjr_file(mjr_json("v", "vp8", u_video), video_frames(30)));
  write_file(dir / "rec-99-audio.mjr", mjr_file(mjr_json("a", "opus", kJanusU + 100'000), audio_frames(40, 3333)));
  // A data channel recording: each frame is an 8-byte real time (µs) and the message.
  std::vector<MjrFrameSpec> data_frames;
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> p;
    put64(p, static_cast<uint64_t>(kJanusU + 500'000 + i * 1000));
    std::string m = "hello " + std::to_string(i);
    p.insert(p.end(), m.begin(), m.end());
    data_frames.push_back({static_cast<uint32_t>(500 + i), p});
  }
  write_file(dir / "rec-1234-data.mjr", mjr_file(mjr_json("d", "text"), data_frames));
  write_file(dir / "README.txt", {'x'});
  write_file(dir / "broken-audio.mjr", {'M', 'J', 'R', '0', '0', '0', '0', '9'});

  auto src = open_source(dir.string());
  CHECK(src->describe().find("janus") != std::string::npos);
  auto listing = src->list();
  REQUIRE_MESSAGE(listing.is_ok(), listing.status().to_string());
  CHECK(listing->room == "janus-room");
  INFO(joined(listing->problems));
  CHECK(any_contains(listing->problems, "README.txt: not an .mjr recording"));
  CHECK(any_contains(listing->problems, "broken-audio.mjr: .mjr: unsupported version 'MJR00009'"));
  REQUIRE(listing->sessions.size() == 2);
  const SessionRef& p1 = listing->sessions[0];
  CHECK(p1.peer == "rec-1234");
  CHECK(p1.session == 0);
  REQUIRE(p1.chunks.size() == 3);
  CHECK(p1.chunks[0].location.find("rec-1234-audio.mjr") != std::string::npos);  // by start time
  CHECK(p1.chunks[1].location.find("rec-1234-data.mjr") != std::string::npos);
  CHECK(p1.chunks[2].location.find("rec-1234-video.mjr") != std::string::npos);
  CHECK(p1.chunks[2].key.from_ts == static_cast<uint64_t>(u_video / 1000));
  CHECK(listing->sessions[1].peer == "rec-99");

  // Each .mjr opens as a valid chunk.
  {
    auto bytes = src->open(p1.chunks[2]);
    REQUIRE(bytes.is_ok());
    ChunkReader cr(std::move(bytes.value()));
    const ChunkHeader* h = cr.read_header();
    REQUIRE(h);
    CHECK(h->peer == "rec-1234");
    CHECK(h->first_ts == static_cast<uint64_t>(u_video / 1000));
    Row row;
    std::vector<Row> rows;
    while (cr.next(row)) rows.push_back(row);
    CHECK(cr.stats().complete());
    REQUIRE(rows.size() == 32);
    CHECK(rows[0].kind == RowKind::track_started);
    CHECK(rows[0].track.kind == TrackKind::video);
    CHECK(rows[0].track.codec == "vp8");
    CHECK(rows[0].track.clock_rate == 90000);
    CHECK(rows[0].track.ssrc == 2222);
    CHECK(rows[5].kind == RowKind::rtp);
    CHECK(rows[5].ts == static_cast<uint64_t>(u_video / 1000) + 33 * 4);
    CHECK(rows[5].payload == video_frames(30)[4].packet);
    CHECK(rows.back().kind == RowKind::track_stopped);
  }

  // The room, merged by time.
  RoomReader rr(*src, std::move(listing.value()));
  RoomRow r;
  uint64_t last = 0;
  std::map<std::pair<size_t, uint32_t>, TrackInfo> started;
  std::map<std::pair<size_t, uint32_t>, int> rtp;
  std::vector<std::string> messages;
  while (rr.next(r)) {
    CHECK(r.row.ts >= last);
    last = r.row.ts;
    if (r.row.kind == RowKind::track_started) started[{r.session_index, r.row.track_id}] = r.row.track;
    if (r.row.kind == RowKind::rtp) {
      auto key = std::make_pair(r.session_index, r.row.track_id);
      REQUIRE(started.count(key));
      CHECK(seq_of(r.row) == rtp[key]);
      rtp[key]++;
    }
    if (r.row.kind == RowKind::data) {
      CHECK(r.row.label == "data");
      CHECK_FALSE(r.row.binary);
      messages.emplace_back(r.row.payload.begin(), r.row.payload.end());
      CHECK(r.row.ts == static_cast<uint64_t>(kJanusU / 1000 + 500 + messages.size() - 1));
    }
  }
  CHECK_MESSAGE(rr.problems().size() == 2, joined(rr.problems()));  // the listing's two
  REQUIRE(started.size() == 3);
  auto audio = started[{0, 1}];
  CHECK(audio.kind == TrackKind::audio);
  CHECK(audio.codec == "opus");
  CHECK(audio.clock_rate == 48000);
  CHECK(audio.channels == 2);
  CHECK(audio.name == "rec-1234-audio");
  auto video = started[{0, 3}];  // each .mjr of a peer has its own track id
  CHECK(video.codec == "vp8");
  CHECK(video.clock_rate == 90000);
  CHECK(rtp[{0, 1}] == 50);
  CHECK(rtp[{0, 3}] == 30);
  CHECK(rtp[{1, 1}] == 40);
  CHECK(messages == std::vector<std::string>{"hello 0", "hello 1", "hello 2"});
}

TEST_CASE("MJR00001 recordings are read with times from RTP timestamps") {
  auto bytes = mjr_file(mjr_json("a", "opus"), audio_frames(10), "MJR00001");
  auto c = convert(bytes);
  REQUIRE_MESSAGE(c.status.is_ok(), c.status.to_string());
  REQUIRE(c.rows.size() == 12);
  CHECK(c.rows[1].ts == static_cast<uint64_t>(kJanusU / 1000));
  CHECK(c.rows[10].ts == static_cast<uint64_t>(kJanusU / 1000) + 180);  // 9 * 960 / 48000 s
  CHECK(c.stats.clean());
}

TEST_CASE("malformed .mjr files give clear errors or partial reads, never a crash") {
  auto good = mjr_file(mjr_json("v", "vp8"), video_frames(20));

  SUBCASE("bad magic") {
    std::vector<uint8_t> b = good;
    b[0] = 'X';
    auto c = convert(b);
    CHECK(c.status.code() == ErrorCode::corrupt);
    CHECK(c.status.message().find("not an .mjr recording") != std::string::npos);
    CHECK(convert({'M', 'J'}).status.message().find("shorter than the 8-byte magic") != std::string::npos);
  }
  SUBCASE("legacy and unknown versions") {
    std::vector<uint8_t> legacy = {'M', 'E', 'E', 'T', 'E', 'C', 'H', 'O', 0, 5, 'a', 'u', 'd', 'i', 'o'};
    auto c = convert(legacy);
    CHECK(c.status.code() == ErrorCode::unsupported);
    CHECK(c.status.message().find("legacy") != std::string::npos);
  }
  SUBCASE("truncated JSON") {
    std::vector<uint8_t> b(good.begin(), good.begin() + 30);
    auto c = convert(b);
    CHECK(c.status.message().find("truncated info header") != std::string::npos);
  }
  SUBCASE("invalid JSON, wrong fields") {
    CHECK(convert(mjr_file("{\"t\":\"v\",", {})).status.message().find("not valid JSON") != std::string::npos);
    CHECK(convert(mjr_file("[1,2]", {})).status.message().find("not a JSON object") != std::string::npos);
    CHECK(convert(mjr_file(R"({"c":"vp8","u":1})", {})).status.message().find("recording type") !=
          std::string::npos);
    CHECK(convert(mjr_file(R"({"t":"x","c":"vp8","u":1})", {})).status.code() == ErrorCode::unsupported);
    CHECK(convert(mjr_file(R"({"t":"v","u":1})", {})).status.message().find("codec") != std::string::npos);
    CHECK(convert(mjr_file(R"({"t":"v","c":"vp8"})", {})).status.message().find("no time") != std::string::npos);
    CHECK(convert(mjr_file(R"({"t":"v","c":"vp8","u":-5})", {})).status.message().find("implausible") !=
          std::string::npos);
    CHECK(convert(mjr_file(R"({"t":"v","c":"vp8","u":"x"})", {})).status.message().find("not an integer") !=
          std::string::npos);
    CHECK(convert(mjr_file(R"({"t":"v","c":"vp8","u":1e300})", {})).status.code() == ErrorCode::corrupt);
    CHECK(convert(mjr_file(std::string(5000, '[') + std::string(5000, ']'), {})).status.message().find("nests") !=
          std::string::npos);
    CHECK(convert(mjr_file("", {})).status.message().find("empty info header") != std::string::npos);
  }
  SUBCASE("a frame length past the end: the frames before it are read") {
    std::vector<uint8_t> b(good.begin(), good.end() - 100);
    auto c = convert(b);
    REQUIRE(c.status.is_ok());
    CHECK(c.stats.truncated);
    CHECK(c.stats.frames == 19);
    CHECK(c.rows.size() == 21);
    CHECK(any_contains(c.stats.problems, "claims 312 bytes"));
    // Cut inside a frame header.
    std::vector<uint8_t> b2(good.begin(), good.end() - 312 - 5);
    auto c2 = convert(b2);
    CHECK(c2.stats.truncated);
    CHECK(c2.stats.frames == 19);
  }
  SUBCASE("a damaged frame marker: the reader finds the next frame") {
    std::vector<uint8_t> b = good;
    auto info = mjr::parse_header(b.data(), b.size()).value();
    size_t frame5 = info.frames_offset + 5 * (10 + 312);
    b[frame5] = 'X';
    auto c = convert(b);
    REQUIRE(c.status.is_ok());
    CHECK(c.stats.bad_regions == 1);
    CHECK(c.stats.skipped_bytes == 322);
    CHECK(c.stats.frames == 19);
    CHECK_FALSE(c.stats.clean());
    // Garbage at the end.
    std::vector<uint8_t> g = good;
    g.insert(g.end(), 50, 0xEE);
    auto cg = convert(g);
    CHECK(cg.stats.frames == 20);
    CHECK(cg.stats.skipped_bytes == 50);
  }
  SUBCASE("frames that are not RTP are skipped") {
    auto frames = video_frames(5);
    frames[1].packet.resize(8);        // too short
    frames[3].packet[0] = 0x40;        // RTP version 1
    auto c = convert(mjr_file(mjr_json("v", "vp8"), frames));
    REQUIRE(c.status.is_ok());
    CHECK(c.stats.frames == 3);
    CHECK(c.stats.skipped_frames == 2);
  }
  SUBCASE("a header only, no frames") {
    auto c = convert(mjr_file(mjr_json("a", "opus"), {}));
    REQUIRE(c.status.is_ok());
    CHECK(c.rows.size() == 2);  // track_started, track_stopped
  }
  SUBCASE("random damage never crashes and always converts to a valid chunk") {
    std::mt19937 rng(1234);
    for (int iter = 0; iter < 400; ++iter) {
      std::vector<uint8_t> b = good;
      int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
      if (rng() % 3 == 0) b.resize(rng() % b.size());
      auto c = convert(b);  // checks the chunk reads back complete
      if (c.status.is_ok()) CHECK(c.stats.frames <= 20 + 5);
    }
  }
}

TEST_CASE("a damaged .mjr in a Janus room: partial read, problems surface through the SessionReader") {
  TempDir tmp;
  auto video = mjr_file(mjr_json("v", "vp8"), video_frames(20));
  video.resize(video.size() - 100);  // truncated
  write_file(tmp.path / "j" / "a-video.mjr", video);
  write_file(tmp.path / "j" / "a-audio.mjr", mjr_file(mjr_json("a", "opus"), audio_frames(10)));
  write_file(tmp.path / "j" / "b-audio.mjr", {'M', 'J', 'R', '0', '0', '0', '0', '2', 0, 40, '{'});
  auto src = open_source("file://" + (tmp.path / "j").string());
  auto listing = src->list();
  REQUIRE(listing.is_ok());
  CHECK(any_contains(listing->problems, "b-audio.mjr: .mjr: truncated info header"));
  REQUIRE(listing->sessions.size() == 1);
  auto r = read_session(*src, listing->sessions[0]);
  INFO(joined(r.problems));
  CHECK(r.rows.size() == 12 + 21);
  CHECK(any_contains(r.problems, "chunk 1 of a/0: .mjr damaged: 19 frames read, truncated"));
  CHECK(any_contains(r.problems, "claims 312 bytes"));
  CHECK(r.stats.chunks_intact == 2);  // the converted chunks themselves are intact

  // The file disappears after the listing: open fails, reported, the other track still read.
  fs::remove(tmp.path / "j" / "a-audio.mjr");
  auto r2 = read_session(*src, listing->sessions[0]);
  CHECK(r2.stats.chunks_failed == 1);
  CHECK(any_contains(r2.problems, "chunk 0 of a/0: open failed"));
  CHECK(r2.rows.size() == 21);
}

// Issue 17: .mjr files are read through a bounded window (FrameReader::kWindowBytes), so damage and
// frames straddle refills in a file several windows long; the result must be what a whole-file scan
// finds, whether the rows come straight from the frames (SessionReader) or as chunk bytes (open()).
TEST_CASE("a long .mjr is read in bounded blocks: damage across window refills, rows and chunk bytes agree") {
  constexpr int kFrames = 4000;  // 322 bytes each: about 1.3 MB, five windows
  auto frames = video_frames(kFrames);
  auto bytes = mjr_file(mjr_json("v", "vp8"), frames);
  auto info = mjr::parse_header(bytes.data(), bytes.size()).value();
  const size_t frame_bytes = 10 + 312;
  auto frame_at = [&](int i) { return info.frames_offset + static_cast<size_t>(i) * frame_bytes; };
  // 1. A spoiled marker on the frame that crosses the first window's end.
  const int crossing = static_cast<int>((mjr::FrameReader::kBlockBytes - info.frames_offset) / frame_bytes);
  bytes[frame_at(crossing)] = 'X';
  // 2. 100 KB of garbage holding a "MEET" with an implausible length, then two more spoiled frames and
  //    a frame whose packet is not RTP version 2 (no resync point: part of the bad region).
  std::vector<uint8_t> junk(100'000, 0x55);
  std::memcpy(junk.data() + 50'000, "MEET\0\0\0\0\xff\xff", 10);
  const int junk_before = 2000;
  bytes.insert(bytes.begin() + static_cast<long>(frame_at(junk_before)), junk.begin(), junk.end());
  auto shifted = [&](int i) { return frame_at(i) + (i >= junk_before ? junk.size() : 0); };
  bytes[shifted(2000)] = 'X';
  bytes[shifted(2001)] = 'X';
  bytes[shifted(2002) + 10] = 0x40;
  bytes[shifted(3000) + 10] = 0x40;  // well framed, not RTP version 2: skipped
  // 3. Cut inside the last frame.
  bytes.resize(bytes.size() - 100);

  mjr::FrameReader fr(info, bytes.data(), bytes.size());
  mjr::Frame f;
  std::vector<uint16_t> seqs;
  while (fr.next(f)) {
    REQUIRE(f.size == 312);
    REQUIRE(f.offset + 10 + f.size <= bytes.size());
    CHECK(std::memcmp(f.data, bytes.data() + f.offset + 10, f.size) == 0);
    seqs.push_back(static_cast<uint16_t>((f.data[2] << 8) | f.data[3]));
  }
  const auto& st = fr.stats();
  INFO(joined(st.problems));
  // Lost: the crossing frame, frames 2000-2002 (and the junk before them), 3000 skipped, the last one cut.
  CHECK(st.frames == kFrames - 6);
  CHECK(st.skipped_frames == 1);
  CHECK(st.bad_regions == 2);
  CHECK(st.skipped_bytes == frame_bytes + junk.size() + 3 * frame_bytes);
  CHECK(st.truncated);
  CHECK(any_contains(st.problems, "no frame marker at offset " + std::to_string(frame_at(crossing)) + ": skipped 322 bytes"));
  CHECK(any_contains(st.problems, "no frame marker at offset " + std::to_string(frame_at(junk_before)) + ": skipped " +
                                      std::to_string(junk.size() + 3 * frame_bytes) + " bytes"));
  CHECK(any_contains(st.problems, "claims 312 bytes, 212 left"));
  for (size_t i = 1; i < seqs.size(); ++i) REQUIRE(seqs[i] > seqs[i - 1]);
  CHECK(std::find(seqs.begin(), seqs.end(), static_cast<uint16_t>(crossing)) == seqs.end());

  // Through a Janus folder: rows straight from the frames, and the chunk bytes open() gives, agree.
  TempDir tmp;
  write_file(tmp.path / "j" / "p-video.mjr", bytes);
  auto src = open_source((tmp.path / "j").string());
  auto listing = src->list();
  REQUIRE(listing.is_ok());
  auto r = read_session(*src, listing->sessions[0]);
  REQUIRE(r.rows.size() == st.frames + 2);
  CHECK(r.rows.front().kind == RowKind::track_started);
  CHECK(r.rows.back().kind == RowKind::track_stopped);
  CHECK(any_contains(r.problems, ".mjr damaged: " + std::to_string(st.frames) +
                                     " frames read, 1 frames skipped (not RTP), 2 bad regions"));
  auto chunk = src->open(listing->sessions[0].chunks[0]);
  REQUIRE(chunk.is_ok());
  ChunkReader cr(std::move(chunk.value()));
  REQUIRE(cr.read_header());
  Row row;
  size_t i = 0;
  while (cr.next(row)) {
    REQUIRE(i < r.rows.size());
    CHECK(row.kind == r.rows[i].kind);
    CHECK(row.ts == r.rows[i].ts);
    if (row.kind == RowKind::rtp) REQUIRE(row.payload == r.rows[i].payload);  // other kinds carry none
    ++i;
  }
  CHECK(i == r.rows.size());
  CHECK(cr.stats().complete());
  // Both reads leave the same problems for the file.
  auto again = src->chunk_problems(listing->sessions[0].chunks[0]);
  CHECK(any_contains(again, "2 bad regions"));
}

TEST_CASE("an .mjr that cannot be read to its end says so") {
  auto bytes = mjr_file(mjr_json("a", "opus"), audio_frames(100));
  // A source that fails after `limit` bytes.
  class Failing final : public ByteSource {
   public:
    Failing(std::vector<uint8_t> b, size_t limit) : b_(std::move(b)), limit_(limit) {}
    Result<size_t> read(uint8_t* dst, size_t max) override {
      if (off_ >= limit_) return Status::error(ErrorCode::io, "disk went away");
      size_t k = std::min({max, b_.size() - off_, limit_ - off_});
      std::memcpy(dst, b_.data() + off_, k);
      off_ += k;
      return k;
    }

   private:
    std::vector<uint8_t> b_;
    size_t limit_;
    size_t off_ = 0;
  };
  auto fr = mjr::FrameReader::open(std::make_unique<Failing>(bytes, 1000));
  REQUIRE(fr.is_ok());
  mjr::Frame f;
  uint64_t n = 0;
  while (fr.value()->next(f)) ++n;
  const auto& st = fr.value()->stats();
  CHECK(n > 5);
  CHECK(n < 100);
  CHECK_FALSE(st.clean());
  CHECK(st.source_error.code() == ErrorCode::io);
  CHECK(any_contains(st.problems, "read error at offset 1000: disk went away"));
  CHECK(any_contains(mjr::problem_lines(fr.value()->info(), st), "read error"));
  // A failure inside the info header is the open's error (not "truncated info header").
  auto early = mjr::FrameReader::open(std::make_unique<Failing>(bytes, 20));
  REQUIRE_FALSE(early.is_ok());
  CHECK(early.status().message().find("disk went away") != std::string::npos);
}

TEST_CASE("a Janus listing knows each .mjr's span from the end of the file") {
  TempDir tmp;
  fs::path dir = tmp.path / "span";
  write_file(dir / "a-audio.mjr", mjr_file(mjr_json("a", "opus"), audio_frames(3000)));  // 60 s
  auto video = mjr_file(mjr_json("v", "vp8"), video_frames(2000));                      // 65,967 ms
  video.resize(video.size() - 100);                                                      // last frame cut
  write_file(dir / "a-video.mjr", video);
  write_file(dir / "b-audio.mjr", mjr_file(mjr_json("a", "opus"), audio_frames(10), "MJR00001"));
  write_file(dir / "c-audio.mjr", mjr_file(mjr_json("a", "opus"), {}));
  auto src = open_source(dir.string());
  auto listing = src->list();
  REQUIRE(listing.is_ok());
  REQUIRE(listing->sessions.size() == 3);
  const uint64_t u = kJanusU / 1000;
  const auto& a = listing->sessions[0].chunks;
  REQUIRE(a.size() == 2);
  CHECK(a[0].key.from_ts == u);
  CHECK(a[0].key.to_ts == u + 20 * 2999);
  CHECK(a[1].key.to_ts == u + 33 * 1998);  // the cut frame is not read: the one before it ends the span
  // MJR00001 frames carry no time; a file without frames has no span.
  CHECK(listing->sessions[1].chunks[0].key.to_ts == u);
  CHECK(listing->sessions[2].chunks[0].key.to_ts == u);

  // Junk after the frames: no run reaches the end, the span stays unknown (from_ts).
  auto junk = mjr_file(mjr_json("v", "vp8"), video_frames(10));
  junk.insert(junk.end(), 300, 0x55);
  auto info = mjr::parse_header(junk.data(), junk.size()).value();
  CHECK_FALSE(mjr::last_frame_rel_ms(info, junk.data(), junk.size()));
  // A tail starting inside a frame, with a false marker in a payload: the real run is found.
  auto v = mjr_file(mjr_json("v", "vp8"), video_frames(50));
  auto vi = mjr::parse_header(v.data(), v.size()).value();
  std::memcpy(v.data() + v.size() - 3 * 322 + 40, "MEET", 4);
  const size_t cut = v.size() - 10 * 322 - 17;
  auto rel = mjr::last_frame_rel_ms(vi, v.data() + cut, v.size() - cut);
  REQUIRE(rel);
  CHECK(*rel == 33 * 49);
}
