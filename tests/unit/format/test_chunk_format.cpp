#include <doctest/doctest.h>

#include <roomrec/chunk_reader.h>
#include <roomrec/chunk_writer.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "chunk_test_util.h"
#include "format/row_codec.h"
#include "record.pb.h"

using namespace roomrec;
using namespace roomrec::testing;

TEST_CASE("every row kind round trips, with the header and trailer") {
  BuiltChunk c = build_chunk(1, 40);
  ChunkReadStats st;
  bool header_ok = false;
  ChunkReader r(memory_source(c.bytes.data(), c.bytes.size()));
  const ChunkHeader* h = r.read_header();
  REQUIRE(h != nullptr);
  CHECK(*h == c.header);
  std::vector<Row> got;
  Row row;
  while (r.next(row)) got.push_back(row);
  REQUIRE(got.size() == c.rows.size());
  std::set<RowKind> kinds;
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK_MESSAGE(same_row(got[i], c.rows[i]), "row " << i);
    kinds.insert(got[i].kind);
  }
  CHECK(kinds.size() == 9);  // join, leave, track_started, track_stopped, rtp, rtcp, data, pause, resume
  st = r.stats();
  CHECK(st.magic_ok);
  CHECK(st.format_version == 1);
  CHECK(st.header_ok);
  CHECK(st.trailer_seen);
  CHECK(st.trailer_row_count == c.rows.size());
  CHECK(st.trailer_last_ts == c.rows.back().ts);
  CHECK(st.bad_regions == 0);
  CHECK(st.skipped_bytes == 0);
  CHECK(st.complete());
  (void)header_ok;
}

TEST_CASE("hand-encoded rows are byte-identical to protobuf's encoding") {
  std::mt19937 rng(5);
  for (size_t n : {0u, 1u, 12u, 127u, 128u, 1200u, 70000u}) {
    for (uint32_t track : {0u, 1u, 300u}) {
      std::vector<uint8_t> payload(n);
      for (auto& b : payload) b = static_cast<uint8_t>(rng());
      uint64_t ts = 1731132577151ULL + n;
      Buffer mine;
      format::write_bytes_row(mine, ts, track, format::kRowRtp, payload.data(), n);
      record::Row row;
      row.set_ts(ts);
      row.set_track_id(track);
      row.set_rtp(std::string(payload.begin(), payload.end()));
      std::string theirs = row.SerializeAsString();
      REQUIRE(mine.size() == theirs.size() + format::kFrameOverhead);
      CHECK(std::memcmp(theirs.data(), mine.data() + format::kFramePrefixBytes, theirs.size()) == 0);
      CHECK(format::bytes_row_frame_size(ts, track, n) == mine.size());
    }
  }
  Buffer mine;
  std::string text = "a message";
  format::write_data_row(mine, 99, "label\xC3\xA9", true, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  record::Row row;
  row.set_ts(99);
  row.mutable_data()->set_label("label\xC3\xA9");
  row.mutable_data()->set_binary(true);
  row.mutable_data()->set_bytes(text);
  std::string theirs = row.SerializeAsString();
  CHECK(std::string(reinterpret_cast<const char*>(mine.data()) + format::kFramePrefixBytes, theirs.size()) == theirs);
}

TEST_CASE("large and empty payloads, empty data messages") {
  ChunkHeader h = sample_header();
  h.tracks.clear();
  ChunkWriter w(h);
  std::vector<uint8_t> big(1 << 20, 0xAB), none;
  CHECK(w.add_data(5, "file", true, big.data(), big.size()));
  CHECK(w.add_data(6, "", false, none.data(), 0));
  CHECK(w.add_rtcp(7, none.data(), 0));
  std::vector<uint8_t> too_big(ChunkWriter::kMaxPayloadBytes + 1);
  CHECK_FALSE(w.add_data(8, "x", true, too_big.data(), too_big.size()));
  CHECK(w.row_count() == 3);
  auto bytes = w.finish().to_vector();
  CHECK_FALSE(w.add_join(9));
  ChunkReadStats st;
  auto rows = read_all(bytes, &st);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].payload == big);
  CHECK(rows[1].payload.empty());
  CHECK(rows[1].label.empty());
  CHECK(rows[2].kind == RowKind::rtcp);
  CHECK(st.complete());
}

TEST_CASE("flipped bytes lose only the rows they touch") {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    BuiltChunk c = build_chunk(seed, 60);
    std::mt19937 rng(seed * 977);
    std::vector<uint8_t> bytes = c.bytes;
    std::set<size_t> flipped;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      size_t at = rng() % bytes.size();
      bytes[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      flipped.insert(at);
    }
    ChunkReadStats st;
    auto got = read_all(bytes, &st);
    // Every row whose frame is untouched must come back, in order.
    std::vector<size_t> expected;
    for (size_t i = 0; i < c.rows.size(); ++i) {
      auto [b, e] = c.spans[i];
      auto it = flipped.lower_bound(b);
      if (it == flipped.end() || *it >= e) expected.push_back(i);
    }
    size_t g = 0;
    for (size_t i : expected) {
      while (g < got.size() && !same_row(got[g], c.rows[i])) ++g;
      REQUIRE_MESSAGE(g < got.size(), "seed " << seed << ": intact row " << i << " was lost");
      ++g;
    }
    // And nothing comes back that was not written.
    for (const Row& r : got) {
      bool known = std::any_of(c.rows.begin(), c.rows.end(), [&](const Row& o) { return same_row(r, o); });
      CHECK_MESSAGE(known, "seed " << seed << ": a row that was never written");
    }
    CHECK(got.size() <= c.rows.size());
    if (expected.size() < c.rows.size()) CHECK(st.bad_regions >= 1);
    CHECK_FALSE(st.complete());
  }
}

TEST_CASE("a chunk truncated at every byte offset reads back its complete rows") {
  BuiltChunk c = build_chunk(99, 12, 60);
  for (size_t cut = 0; cut <= c.bytes.size(); ++cut) {
    std::vector<uint8_t> part(c.bytes.begin(), c.bytes.begin() + static_cast<long>(cut));
    ChunkReadStats st;
    bool header_ok = false;
    auto got = read_all(part, &st, &header_ok);
    size_t whole = 0;
    while (whole < c.spans.size() && c.spans[whole].second <= cut) ++whole;
    REQUIRE_MESSAGE(got.size() == whole, "cut at " << cut);
    for (size_t i = 0; i < whole; ++i) REQUIRE(same_row(got[i], c.rows[i]));
    CHECK(header_ok == (cut >= c.header_end));
    CHECK(st.trailer_seen == (cut == c.bytes.size()));
    CHECK(st.complete() == (cut == c.bytes.size()));
  }
}

namespace {
// Records the largest read the reader asks for.
class WatchedSource : public ByteSource {
 public:
  WatchedSource(const std::vector<uint8_t>& b) : b_(b) {}
  Result<size_t> read(uint8_t* dst, size_t max) override {
    largest = std::max(largest, max);
    size_t k = std::min(max, b_.size() - off_);
    std::copy_n(b_.data() + off_, k, dst);
    off_ += k;
    return k;
  }
  size_t largest = 0;

 private:
  const std::vector<uint8_t>& b_;
  size_t off_ = 0;
};
}  // namespace

TEST_CASE("an absurd length prefix never allocates beyond the frame cap") {
  BuiltChunk c = build_chunk(4, 20);
  for (uint32_t bogus : {0xFFFFFFFFu, 0x7FFFFFF0u, static_cast<uint32_t>(format::kMaxFrameBytes + 1),
                         static_cast<uint32_t>(format::kMaxFrameBytes), 100000u}) {
    std::vector<uint8_t> bytes = c.bytes;
    size_t row = 5;
    size_t at = c.spans[row].first + 2;  // the length field of row 5
    bytes[at] = static_cast<uint8_t>(bogus);
    bytes[at + 1] = static_cast<uint8_t>(bogus >> 8);
    bytes[at + 2] = static_cast<uint8_t>(bogus >> 16);
    bytes[at + 3] = static_cast<uint8_t>(bogus >> 24);
    auto* src = new WatchedSource(bytes);
    ChunkReader r{std::unique_ptr<ByteSource>(src)};
    std::vector<Row> got;
    Row x;
    while (r.next(x)) got.push_back(x);
    CHECK(got.size() == c.rows.size() - 1);
    CHECK(src->largest <= format::kMaxFrameBytes + format::kFrameOverhead + 64 * 1024);
    CHECK(r.stats().bad_regions == 1);
    CHECK(r.stats().trailer_seen);
  }
}

TEST_CASE("garbage, empty input and a wrong magic are reported, not fatal") {
  std::vector<uint8_t> empty;
  ChunkReadStats st;
  CHECK(read_all(empty, &st).empty());
  CHECK_FALSE(st.magic_ok);
  CHECK_FALSE(st.complete());

  std::mt19937 rng(1);
  std::vector<uint8_t> noise(100000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  CHECK(read_all(noise, &st).empty());
  CHECK(st.skipped_bytes == noise.size());

  BuiltChunk c = build_chunk(8, 10);
  std::vector<uint8_t> bytes = c.bytes;
  bytes[0] = 'X';
  auto got = read_all(bytes, &st);
  CHECK(got.size() == c.rows.size());
  CHECK_FALSE(st.magic_ok);
  CHECK(st.header_ok);
  CHECK_FALSE(st.complete());
}

TEST_CASE("a failing byte source ends the read with its error") {
  class Failing : public ByteSource {
   public:
    explicit Failing(std::vector<uint8_t> b) : b_(std::move(b)) {}
    Result<size_t> read(uint8_t* dst, size_t max) override {
      if (off_ >= b_.size() / 2) return Status::error(ErrorCode::io, "connection reset");
      size_t k = std::min({max, b_.size() / 2 - off_, size_t{100}});
      std::copy_n(b_.data() + off_, k, dst);
      off_ += k;
      return k;
    }
   private:
    std::vector<uint8_t> b_;
    size_t off_ = 0;
  };
  BuiltChunk c = build_chunk(12, 30);
  ChunkReader r(std::make_unique<Failing>(c.bytes));
  Row x;
  size_t n = 0;
  while (r.next(x)) ++n;
  CHECK(n > 0);
  CHECK(n < c.rows.size());
  CHECK(r.stats().source_error.code() == ErrorCode::io);
  CHECK_FALSE(r.stats().complete());
}

TEST_CASE("a chunk file is read in pieces from disk") {
  BuiltChunk c = build_chunk(21, 300);
  std::string path = "test_chunk_file.rec";
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(c.bytes.data(), 1, c.bytes.size(), f);
  std::fclose(f);
  auto src = file_source(path);
  REQUIRE(src.is_ok());
  ChunkReader r(std::move(src.value()));
  REQUIRE(r.read_header());
  Row x;
  size_t n = 0;
  while (r.next(x)) REQUIRE(same_row(x, c.rows[n++]));
  CHECK(n == c.rows.size());
  CHECK(r.stats().complete());
  std::remove(path.c_str());
  CHECK_FALSE(file_source("/nonexistent/x.rec").is_ok());
}

// Issue 21 item 7: frame markers each claiming 4 MiB, 5.4 MB of them (68 s of
// CRC before). The work spent on candidates that are not frames is bounded by
// 16 MiB + 16x the bytes read, and the good rows after the bait are found.
TEST_CASE("resynchronisation costs at most a fixed multiple of the chunk size") {
  for (uint32_t claim : {4u << 20, 64u << 10, 1000u}) {
    std::vector<uint8_t> bytes;
    const uint8_t frame[6] = {format::kFrameMarker, format::kFrameRow, static_cast<uint8_t>(claim),
                              static_cast<uint8_t>(claim >> 8), static_cast<uint8_t>(claim >> 16),
                              static_cast<uint8_t>(claim >> 24)};
    while (bytes.size() < 5'400'000) bytes.insert(bytes.end(), frame, frame + sizeof frame);
    // Then an intact chunk: its rows must still be read.
    ChunkWriter w(sample_header());
    for (uint64_t i = 0; i < 50; ++i) w.add_data(1000 + i, "chat", false, reinterpret_cast<const uint8_t*>("hi"), 2);
    const auto tail = w.finish().to_vector();
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    ChunkReader r(memory_source(bytes));
    Row row;
    uint64_t rows = 0;
    while (r.next(row)) rows++;
    INFO("claim " << claim);
    CHECK(rows == 50);
    CHECK(r.stats().crc_bytes_failed <= (16u << 20) + 16 * bytes.size());
  }
}

TEST_CASE("pause state in the header round trips; a row kind newer than the reader is skipped") {
  ChunkHeader h = sample_header();
  h.paused = true;
  h.tracks[0].paused = true;
  ChunkWriter w(h);
  std::vector<uint8_t> pkt(20, 0x80);
  CHECK(w.add_pause(10, 0));
  // What a reader from before pause rows sees of one: a Row with a field it does not know (13 here
  // stands for it, as 11/12 did for those readers): intact, skipped, the rows around it still read.
  Buffer raw;
  format::write_empty_row(raw, 11, 0, static_cast<format::RowField>(13));
  CHECK(w.add_resume(12, 0));
  CHECK(w.add_rtp(13, 1, pkt.data(), pkt.size()));
  auto bytes = w.finish().to_vector();
  // Splice the unknown row after the pause row (the frame after the header and the pause frame).
  ChunkReader probe(memory_source(bytes.data(), bytes.size()));
  REQUIRE(probe.read_header() != nullptr);
  CHECK(probe.header()->paused);
  REQUIRE(probe.header()->tracks.size() == 1);
  CHECK(probe.header()->tracks[0].paused);
  Buffer pause_only;
  format::write_empty_row(pause_only, 10, 0, format::kRowPause);
  auto at = std::search(bytes.begin(), bytes.end(), pause_only.data(), pause_only.data() + pause_only.size());
  REQUIRE(at != bytes.end());
  bytes.insert(at + static_cast<std::ptrdiff_t>(pause_only.size()), raw.data(), raw.data() + raw.size());
  ChunkReadStats st;
  auto rows = read_all(bytes, &st);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].kind == RowKind::pause);
  CHECK(rows[0].track_id == 0);
  CHECK(rows[1].kind == RowKind::resume);
  CHECK(rows[2].kind == RowKind::rtp);
  CHECK(st.bad_regions == 0);
  // The wire form of the pause rows is protobuf's.
  record::Row pr;
  pr.set_ts(10);
  pr.mutable_pause();
  std::string theirs = pr.SerializeAsString();
  CHECK(std::string(reinterpret_cast<const char*>(pause_only.data()) + format::kFramePrefixBytes, theirs.size()) ==
        theirs);
}
