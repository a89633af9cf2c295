#include <doctest/doctest.h>

#include <roomrec/chunk_reader.h>
#include <roomrec/log.h>
#include <roomrec/recorder.h>
#include <roomrec/srtp.h>

#include <algorithm>
#include <map>

#include "../rtp_test_util.h"

using namespace roomrec;
using roomrec::testing::make_rtcp_rr;
using roomrec::testing::make_rtp;

namespace {

constexpr uint64_t T0 = 1'731'132'577'000ULL;

struct Taken {
  ChunkKey key;
  ChunkHeader header;
  std::vector<Row> rows;
  ChunkReadStats stats;
};

// Takes every chunk from the store, in order, and reads it back.
std::vector<Taken> take_all(ChunkStore& store) {
  std::vector<Taken> out;
  while (auto c = store.take(0)) {
    auto src = store.open_chunk(c->id);
    REQUIRE(src.is_ok());
    ChunkReader r(std::move(src.value()));
    Taken t;
    t.key = c->key;
    const ChunkHeader* h = r.read_header();
    REQUIRE(h);
    t.header = *h;
    Row row;
    while (r.next(row)) t.rows.push_back(row);
    t.stats = r.stats();
    out.push_back(std::move(t));
    store.complete(c->id);
  }
  return out;
}

RecorderConfig small_config() {
  RecorderConfig c;
  c.key_prefix = "rec";
  c.max_chunk_bytes = 64 * 1024;
  c.max_chunk_ms = 10'000;
  c.store.memory_budget_bytes = 64ull << 20;
  return c;
}

}  // namespace

TEST_CASE("a recorded session reads back row for row") {
  auto rec = Recorder::create(small_config()).value();
  auto s = rec->open("app", "room", "alice", 9, "10.0.0.1", "UA/1", T0).value();
  CHECK(s->room_record_id() == std::to_string(T0));
  CHECK(s->room_path() == "rec/app/room/" + std::to_string(T0));
  REQUIRE(s->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "useinbandfec=1", 111, "", T0 + 1) ==
          RecordResult::ok);
  REQUIRE(s->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 222, "", T0 + 2) ==
          RecordResult::ok);
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 100; ++i) {
    auto p = make_rtp(static_cast<uint16_t>(1000 + i), 960u * i, 111, 80);
    REQUIRE(s->rtp(1, p.data(), p.size(), T0 + 10 + i) == RecordResult::ok);
    sent.push_back(p);
  }
  auto rr = make_rtcp_rr(111);
  CHECK(s->rtcp(rr.data(), rr.size(), T0 + 200) == RecordResult::ok);
  std::string msg = "{\"chat\":\"hi\"}";
  CHECK(s->data("chat", false, reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), T0 + 201) ==
        RecordResult::ok);
  CHECK(s->track_stopped(1, T0 + 300) == RecordResult::ok);
  CHECK(s->leave(T0 + 400) == RecordResult::ok);
  CHECK(s->rtp(2, sent[0].data(), sent[0].size(), T0 + 500) == RecordResult::closed);

  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() == 1);
  auto& c = chunks[0];
  CHECK(c.stats.complete());
  CHECK(c.key.to_string() == "rec/app/room/" + std::to_string(T0) + "/alice/9/000000-" + std::to_string(T0) + "-" +
                                 std::to_string(T0 + 400) + ".rec");
  CHECK(c.header.ip == "10.0.0.1");
  CHECK(c.header.user_agent == "UA/1");
  REQUIRE(c.rows.size() == 1 + 2 + 100 + 1 + 1 + 1 + 1);
  CHECK(c.rows[0].kind == RowKind::join);
  CHECK(c.rows[1].kind == RowKind::track_started);
  CHECK(c.rows[1].track.codec == "opus");
  CHECK(c.rows[1].track.fmtp == "useinbandfec=1");
  CHECK(c.rows[2].track.codec == "vp8");
  for (int i = 0; i < 100; ++i) {
    CHECK(c.rows[3 + i].kind == RowKind::rtp);
    CHECK(c.rows[3 + i].track_id == 1);
    CHECK(c.rows[3 + i].ts == T0 + 10 + i);
    CHECK(c.rows[3 + i].payload == sent[i]);
  }
  CHECK(c.rows[103].kind == RowKind::rtcp);
  CHECK(c.rows[103].payload == rr);
  CHECK(c.rows[104].kind == RowKind::data);
  CHECK(std::string(c.rows[104].payload.begin(), c.rows[104].payload.end()) == msg);
  CHECK(c.rows[105].kind == RowKind::track_stopped);
  CHECK(c.rows[106].kind == RowKind::leave);
  auto st = s->stats();
  CHECK(st.rtp_accepted == 100);
  CHECK(st.chunks_closed == 1);
}

TEST_CASE("rotation by size: chunks stay under the limit, indexes count from 0, keys follow") {
  auto cfg = small_config();
  cfg.max_chunk_bytes = 16 * 1024;
  auto rec = Recorder::create(cfg).value();
  auto s = rec->open("app", "room", "bob", 1, "", "", T0).value();
  s->track_started(5, TrackKind::video, "video_main", "vp8", 90000, 0, "", 1, "", T0);
  size_t packets = 200;
  for (size_t i = 0; i < packets; ++i) {
    auto p = make_rtp(static_cast<uint16_t>(i), 0, 1, 1000);
    REQUIRE(s->rtp(5, p.data(), p.size(), T0 + i) == RecordResult::ok);
  }
  s->close(T0 + packets);
  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() >= 12);
  size_t rtp_rows = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto& c = chunks[i];
    CHECK(c.key.index == i);
    CHECK(c.header.index == i);
    CHECK(c.stats.complete());
    CHECK(c.key.from_ts == c.rows.front().ts);
    CHECK(c.key.to_ts == c.rows.back().ts);
    if (i > 0) CHECK(c.key.from_ts >= chunks[i - 1].key.to_ts);
    // Every chunk carries the open track table, so it reads alone.
    if (i > 0) {
      REQUIRE(c.header.tracks.size() == 1);
      CHECK(c.header.tracks[0].track_id == 5);
      CHECK(c.header.tracks[0].info.codec == "vp8");
    }
    for (auto& r : c.rows) rtp_rows += r.kind == RowKind::rtp;
  }
  CHECK(rtp_rows == packets);
  // Sizes: every chunk under the limit (measured on the store side).
  auto rec2 = Recorder::create(cfg).value();
  auto s2 = rec2->open("app", "room", "bob", 1, "", "", T0).value();
  s2->track_started(5, TrackKind::video, "v", "vp8", 90000, 0, "", 1, "", T0);
  for (size_t i = 0; i < packets; ++i) {
    auto p = make_rtp(static_cast<uint16_t>(i), 0, 1, 1000);
    s2->rtp(5, p.data(), p.size(), T0 + i);
  }
  s2->close(T0 + packets);
  while (auto c = rec2->store().take(0)) {
    CHECK(c->size <= cfg.max_chunk_bytes);
    rec2->store().complete(c->id);
  }
}

TEST_CASE("rotation by time span, by idleness (tick) and on leave") {
  auto cfg = small_config();
  cfg.max_chunk_ms = 1000;
  auto rec = Recorder::create(cfg).value();
  auto s = rec->open("app", "room", "carol", 2, "", "", T0).value();
  s->track_started(1, TrackKind::audio, "a", "opus", 48000, 2, "", 1, "", T0);
  // 2.5 s of packets every 20 ms: span rotation at 1 s boundaries.
  for (uint64_t t = 0; t < 2500; t += 20) {
    auto p = make_rtp(static_cast<uint16_t>(t / 20), 0, 1, 50);
    s->rtp(1, p.data(), p.size(), T0 + t);
  }
  CHECK(rec->store().stats().chunks_accepted == 2);
  // Idle: nothing for a while; tick closes the open chunk.
  s->tick(T0 + 2600);
  CHECK(rec->store().stats().chunks_accepted == 2);
  s->tick(T0 + 2480 + 1000);
  CHECK(rec->store().stats().chunks_accepted == 3);
  s->tick(T0 + 9000);  // nothing open: nothing to close
  CHECK(rec->store().stats().chunks_accepted == 3);
  auto p = make_rtp(999, 0, 1, 50);
  s->rtp(1, p.data(), p.size(), T0 + 10'000);
  s->leave(T0 + 10'010);
  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() == 4);
  for (size_t i = 0; i < 3; ++i) CHECK(chunks[i].key.to_ts - chunks[i].key.from_ts < 1000);
  CHECK(chunks[3].rows.back().kind == RowKind::leave);
  CHECK(chunks[3].key.index == 3);
  CHECK(chunks[3].header.tracks.size() == 1);
}

TEST_CASE("malformed RTP and RTCP of every kind are counted and never stored") {
  auto rec = Recorder::create(small_config()).value();
  std::vector<std::string> logs;
  set_log_callback([&](LogLevel, std::string_view, std::string_view m) { logs.emplace_back(m); }, LogLevel::warn);
  auto s = rec->open("app", "room", "mallory", 3, "", "", T0).value();
  s->track_started(1, TrackKind::video, "v", "vp8", 90000, 0, "", 1, "", T0);
  auto good = make_rtp(1, 0, 1, 40);
  std::vector<std::vector<uint8_t>> bad;
  bad.push_back({});                                      // empty
  bad.push_back(std::vector<uint8_t>(good.begin(), good.begin() + 11));  // shorter than a header
  { auto p = good; p[0] = 0x40; bad.push_back(p); }       // version 1
  { auto p = good; p[0] = 0x00; bad.push_back(p); }       // version 0
  { auto p = good; p[0] = 0x8F; bad.push_back(p); }       // 15 CSRCs, not there
  { auto p = good; p[0] = 0x90; p[12] = 0xBE; p[13] = 0xDE; p[14] = 0x00; p[15] = 0x40; bad.push_back(p); }  // ext too long
  { auto p = good; p[0] = 0x90; bad.push_back(std::vector<uint8_t>(p.begin(), p.begin() + 14)); }  // ext header cut
  { auto p = good; p[0] = 0xA0; p.back() = 0; bad.push_back(p); }     // padding count 0
  { auto p = good; p[0] = 0xA0; p.back() = 200; bad.push_back(p); }   // padding past the payload
  for (auto& p : bad) CHECK(s->rtp(1, p.data(), p.size(), T0 + 1) == RecordResult::malformed);
  CHECK(s->rtp(1, nullptr, 0, T0 + 1) == RecordResult::malformed);
  CHECK(s->rtp(7, good.data(), good.size(), T0 + 1) == RecordResult::unknown_track);
  std::vector<uint8_t> bad_rtcp = {0x80, 201, 0, 5, 0, 0, 0, 1};  // length beyond the packet
  CHECK(s->rtcp(bad_rtcp.data(), bad_rtcp.size(), T0 + 2) == RecordResult::malformed);
  CHECK(s->rtp(1, good.data(), good.size(), T0 + 3) == RecordResult::ok);
  s->close(T0 + 4);
  set_log_callback(nullptr);
  auto st = s->stats();
  CHECK(st.rtp_malformed == bad.size() + 1);
  CHECK(st.rtp_unknown_track == 1);
  CHECK(st.rtcp_malformed == 1);
  CHECK(st.rtp_accepted == 1);
  // Logged, but rate-limited: one line for the burst.
  CHECK(logs.size() == 1);
  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() == 1);
  size_t rtp_rows = 0;
  for (auto& r : chunks[0].rows)
    if (r.kind == RowKind::rtp) {
      ++rtp_rows;
      CHECK(r.payload == good);
    }
  CHECK(rtp_rows == 1);
}

TEST_CASE("SRTP: protected packets are decrypted before they are stored; tampered ones are rejected") {
  auto rec = Recorder::create(small_config()).value();
  std::vector<uint8_t> key_salt(30);
  for (size_t i = 0; i < key_salt.size(); ++i) key_salt[i] = static_cast<uint8_t>(i * 7 + 1);
  auto key = SrtpKey::from_bytes(SrtpProfile::aes_cm_128_hmac_sha1_80, key_salt.data(), key_salt.size()).value();
  SessionParams params;
  params.app = "app";
  params.room = "room";
  params.peer = "sec";
  params.session_id = 4;
  params.srtp = key;
  auto s = rec->open(params, T0).value();
  s->track_started(1, TrackKind::audio, "a", "opus", 48000, 2, "", 0x1234, "", T0);
  auto sender = SrtpSession::create(key, SrtpSession::Direction::protect).value();
  std::vector<std::vector<uint8_t>> plain;
  for (int i = 0; i < 20; ++i) {
    auto p = make_rtp(static_cast<uint16_t>(i), 960u * i, 0x1234, 60);
    plain.push_back(p);
    p.resize(p.size() + 64);
    size_t n = plain.back().size();
    REQUIRE(sender->protect_rtp(p.data(), n, p.size()).is_ok());
    p.resize(n);
    if (i == 5) {
      auto t = p;
      t[20] ^= 1;  // tampered copy first
      CHECK(s->rtp(1, t.data(), t.size(), T0 + i) == RecordResult::decrypt_failed);
    }
    REQUIRE(s->rtp(1, p.data(), p.size(), T0 + i) == RecordResult::ok);
    if (i == 6) CHECK(s->rtp(1, p.data(), p.size(), T0 + i) == RecordResult::decrypt_failed);  // replay
  }
  auto rr = make_rtcp_rr(0x1234);
  rr.resize(rr.size() + 64);
  size_t rn = 8;
  REQUIRE(sender->protect_rtcp(rr.data(), rn, rr.size()).is_ok());
  CHECK(s->rtcp(rr.data(), rn, T0 + 30) == RecordResult::ok);
  s->close(T0 + 40);
  CHECK(s->stats().rtp_decrypt_failed == 2);
  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() == 1);
  std::vector<std::vector<uint8_t>> stored;
  for (auto& r : chunks[0].rows)
    if (r.kind == RowKind::rtp) stored.push_back(r.payload);
  CHECK(stored == plain);
}

TEST_CASE("keyframe requests: each new chunk asks for a keyframe per video track") {
  auto cfg = small_config();
  cfg.max_chunk_ms = 1000;
  std::vector<uint32_t> requests;
  cfg.request_keyframe = [&](SessionRecorder&, uint32_t track) { requests.push_back(track); };
  auto rec = Recorder::create(cfg).value();
  uint64_t now = T0;
  auto s = rec->open("app", "room", "erin", 6, "", "", now).value();
  s->track_started(1, TrackKind::audio, "a", "opus", 48000, 2, "", 1, "", now);
  s->track_started(2, TrackKind::video, "v", "vp8", 90000, 0, "", 2, "", now);
  REQUIRE(requests == std::vector<uint32_t>{2});
  uint16_t seq = 1;
  for (int i = 0; i < 35; ++i, now += 100) {  // 3.5 s without loss: chunks at 0, 1, 2 and 3 s
    auto a = make_rtp(seq, 0, 1, 100);
    auto v = make_rtp(seq++, 0, 2, 100);
    REQUIRE(s->rtp(1, a.data(), a.size(), now) == RecordResult::ok);
    REQUIRE(s->rtp(2, v.data(), v.size(), now) == RecordResult::ok);
  }
  CHECK(s->stats().chunks_closed == 3);
  CHECK(requests == std::vector<uint32_t>{2, 2, 2, 2});  // video only, once per chunk
  CHECK(s->stats().lost_packets == 0);
  s->close(now);
}

TEST_CASE("keyframe requests: on video start and on loss, at most once per second per track") {
  auto cfg = small_config();
  std::vector<std::pair<uint32_t, uint64_t>> requests;
  uint64_t now = T0;
  cfg.request_keyframe = [&](SessionRecorder& s, uint32_t track) {
    CHECK(s.peer() == "dave");
    requests.emplace_back(track, now);
  };
  auto rec = Recorder::create(cfg).value();
  auto s = rec->open("app", "room", "dave", 5, "", "", now).value();
  s->track_started(1, TrackKind::audio, "a", "opus", 48000, 2, "", 1, "", now);
  CHECK(requests.empty());  // audio: no keyframes
  s->track_started(2, TrackKind::video, "v", "vp8", 90000, 0, "", 2, "", now);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].first == 2);
  uint16_t seq = 65530;  // across the wrap
  auto send = [&](uint16_t q) {
    auto p = make_rtp(q, 0, 2, 100);
    return s->rtp(2, p.data(), p.size(), now);
  };
  for (int i = 0; i < 10; ++i) send(seq++);  // no loss across 65535 -> 0
  CHECK(requests.size() == 1);
  now += 100;
  seq += 3;  // loss, but within a second of the start request
  send(seq++);
  CHECK(requests.size() == 1);
  now += 1000;
  seq += 2;  // loss again, a second later
  send(seq++);
  CHECK(requests.size() == 2);
  now += 10;
  seq += 5;
  send(seq++);  // suppressed
  send(static_cast<uint16_t>(seq - 3));  // a late (reordered) packet is not loss
  CHECK(requests.size() == 2);
  CHECK(s->stats().lost_packets == 3 + 2 + 5);
  now += 1000;
  seq += 1;
  send(seq++);
  CHECK(requests.size() == 3);
  CHECK(s->stats().keyframe_requests == 3);
  s->close(now);
}

TEST_CASE("sessions of one room share a record id; a new recording starts after all left") {
  auto rec = Recorder::create(small_config()).value();
  auto a = rec->open("app", "room", "a", 1, "", "", T0).value();
  auto b = rec->open("app", "room", "b", 1, "", "", T0 + 500).value();
  CHECK(a->room_record_id() == b->room_record_id());
  CHECK_FALSE(rec->open("app", "room", "a", 1, "", "", T0).is_ok());  // same session twice
  CHECK_FALSE(rec->open("", "room", "a", 2, "", "", T0).is_ok());
  a->leave(T0 + 1000);
  b->leave(T0 + 1000);
  CHECK(rec->open_sessions() == 0);
  auto c = rec->open("app", "room", "a", 2, "", "", T0 + 5000).value();
  CHECK(c->room_record_id() == std::to_string(T0 + 5000));
  c->close(T0 + 6000);
}

TEST_CASE("a full store refuses chunks; the session goes on and reports it") {
  auto cfg = small_config();
  cfg.max_chunk_bytes = 8 * 1024;
  cfg.store.memory_budget_bytes = 20 * 1024;  // two chunks
  std::vector<Status> errors;
  cfg.on_error = [&](const Status& st) { errors.push_back(st); };
  auto rec = Recorder::create(cfg).value();
  auto s = rec->open("app", "room", "eve", 1, "", "", T0).value();
  s->track_started(1, TrackKind::video, "v", "vp8", 90000, 0, "", 1, "", T0);
  for (int i = 0; i < 60; ++i) {
    auto p = make_rtp(static_cast<uint16_t>(i), 0, 1, 1000);
    CHECK(s->rtp(1, p.data(), p.size(), T0 + i) == RecordResult::ok);
  }
  s->close(T0 + 100);
  auto st = s->stats();
  CHECK(st.chunks_closed >= 2);
  CHECK(st.chunks_refused >= 5);
  CHECK(errors.size() == st.chunks_refused);  // each refusal reported once
  CHECK(rec->store().stats().chunks_refused == st.chunks_refused);
  CHECK(rec->store().stats().bytes_in_memory <= cfg.store.memory_budget_bytes);
  auto chunks = take_all(rec->store());
  CHECK(chunks.size() == st.chunks_closed);  // every accepted chunk is there, intact
  for (auto& c : chunks) CHECK(c.stats.complete());
  // Indexes keep counting across refusals: a gap shows the converter what is missing.
  CHECK(chunks.back().key.index == st.chunks_closed + st.chunks_refused - 1);
}

TEST_CASE("pause and resume: media received while paused is counted and not stored; rows mark the spans") {
  auto cfg = small_config();
  std::vector<uint32_t> requests;
  cfg.request_keyframe = [&](SessionRecorder&, uint32_t track) { requests.push_back(track); };
  auto rec = Recorder::create(cfg).value();
  auto s = rec->open("app", "room", "pia", 3, "", "", T0).value();
  REQUIRE(s->track_started(1, TrackKind::audio, "a", "opus", 48000, 2, "", 11, "", T0) == RecordResult::ok);
  REQUIRE(s->track_started(2, TrackKind::video, "v", "vp8", 90000, 0, "", 22, "", T0) == RecordResult::ok);
  requests.clear();
  uint16_t seq = 0;
  std::map<uint32_t, std::vector<uint64_t>> stored_times;
  auto send = [&](uint64_t now) {
    auto a = make_rtp(seq, 0, 11, 50);
    auto v = make_rtp(seq, 0, 22, 70);
    ++seq;
    return std::pair{s->rtp(1, a.data(), a.size(), now), s->rtp(2, v.data(), v.size(), now)};
  };
  CHECK(send(T0 + 10) == std::pair{RecordResult::ok, RecordResult::ok});
  // The whole session: neither track, nor data, is recorded; RTCP still is.
  CHECK(s->pause(T0 + 20) == RecordResult::ok);
  CHECK(s->paused());
  CHECK(s->pause(T0 + 21) == RecordResult::invalid);  // already paused: nothing written
  for (int i = 0; i < 5; ++i) CHECK(send(T0 + 30 + i) == std::pair{RecordResult::paused, RecordResult::paused});
  std::string msg = "secret";
  CHECK(s->data("chat", false, reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), T0 + 40) ==
        RecordResult::paused);
  auto rr = make_rtcp_rr(11);
  CHECK(s->rtcp(rr.data(), rr.size(), T0 + 41) == RecordResult::ok);
  // A track paused on its own while the session is paused stays paused after the session resumes.
  CHECK(s->pause_track(2, T0 + 45) == RecordResult::ok);
  CHECK(s->resume(T0 + 50) == RecordResult::ok);
  CHECK_FALSE(s->paused());
  CHECK(s->track_paused(2));
  CHECK(requests.empty());  // the video track is still paused: no key frame asked yet
  CHECK(send(T0 + 60) == std::pair{RecordResult::ok, RecordResult::paused});
  CHECK(s->resume(T0 + 61) == RecordResult::invalid);  // not paused
  CHECK(s->resume_track(1, T0 + 62) == RecordResult::invalid);
  CHECK(s->pause_track(0, T0 + 63) == RecordResult::invalid);  // 0 names the session
  CHECK(s->pause_track(9, T0 + 64) == RecordResult::unknown_track);
  CHECK(s->resume_track(2, T0 + 70) == RecordResult::ok);
  CHECK(requests == std::vector<uint32_t>{2});  // the resumed video asks for a key frame
  CHECK(send(T0 + 80) == std::pair{RecordResult::ok, RecordResult::ok});
  auto st = s->stats();
  CHECK(st.rtp_paused == 11);
  CHECK(st.data_paused == 1);
  CHECK(st.bytes_paused == 5 * (62 + 82) + msg.size() + 82);
  CHECK(st.pauses == 2);
  CHECK(st.rtp_accepted == 5);
  CHECK(st.lost_packets == 0);  // packets dropped while paused are no loss
  CHECK(s->leave(T0 + 90) == RecordResult::ok);
  CHECK(s->pause(T0 + 91) == RecordResult::closed);

  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() == 1);
  std::vector<std::tuple<RowKind, uint32_t, uint64_t>> marks;
  for (const Row& r : chunks[0].rows) {
    if (r.kind == RowKind::rtp) stored_times[r.track_id].push_back(r.ts);
    if (r.kind == RowKind::pause || r.kind == RowKind::resume) marks.emplace_back(r.kind, r.track_id, r.ts);
    CHECK(r.kind != RowKind::data);
  }
  CHECK(stored_times[1] == std::vector<uint64_t>{T0 + 10, T0 + 60, T0 + 80});
  CHECK(stored_times[2] == std::vector<uint64_t>{T0 + 10, T0 + 80});
  CHECK(marks == std::vector<std::tuple<RowKind, uint32_t, uint64_t>>{{RowKind::pause, 0, T0 + 20},
                                                                       {RowKind::pause, 2, T0 + 45},
                                                                       {RowKind::resume, 0, T0 + 50},
                                                                       {RowKind::resume, 2, T0 + 70}});
}

TEST_CASE("a chunk that starts while paused says so in its header") {
  auto cfg = small_config();
  cfg.max_chunk_ms = 1000;
  auto rec = Recorder::create(cfg).value();
  auto s = rec->open("app", "room", "quinn", 4, "", "", T0).value();
  s->track_started(1, TrackKind::audio, "a", "opus", 48000, 2, "", 1, "", T0);
  s->track_started(2, TrackKind::audio, "b", "opus", 48000, 2, "", 2, "", T0);
  CHECK(s->pause(T0 + 10) == RecordResult::ok);
  CHECK(s->pause_track(2, T0 + 20) == RecordResult::ok);
  s->tick(T0 + 1500);  // the first chunk closes on its span
  auto rr = make_rtcp_rr(1);
  CHECK(s->rtcp(rr.data(), rr.size(), T0 + 1600) == RecordResult::ok);  // opens chunk 1 while paused
  CHECK(s->resume(T0 + 1700) == RecordResult::ok);
  s->close(T0 + 1800);
  auto chunks = take_all(rec->store());
  REQUIRE(chunks.size() == 2);
  CHECK_FALSE(chunks[0].header.paused);
  CHECK(chunks[1].header.paused);
  REQUIRE(chunks[1].header.tracks.size() == 2);
  CHECK_FALSE(chunks[1].header.tracks[0].paused);
  CHECK(chunks[1].header.tracks[1].paused);
}
