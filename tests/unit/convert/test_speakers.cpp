// Issue 19, who spoke when: rooms where peers make a tone in turns (real Opus
// through the real Recorder); detect_speakers() must find each peer's spans
// within 200 ms of when its tone sounded, and transmux writes speakers.json.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/recording_source.h>
#include <roomrec/speakers.h>
#include <roomrec/transmuxer.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "room_builder.h"

using namespace roomrec;
using namespace roomrec::testing;

namespace {

const PeerSpeech* find_peer(const SpeakersResult& r, const std::string& name) {
  for (const auto& p : r.peers)
    if (p.peer == name) return &p;
  return nullptr;
}

// Each expected span [from, to) (ms from the room start) matches one found span within tolerance_ms.
void check_spans(const PeerSpeech* p, const std::vector<std::pair<uint64_t, uint64_t>>& want, uint64_t offset_ms,
                 uint64_t tolerance_ms = 200) {
  REQUIRE(p);
  INFO("peer " << p->peer);
  REQUIRE(p->spans.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const int64_t start = static_cast<int64_t>(p->spans[i].start_ms - kRoomT0);
    const int64_t end = static_cast<int64_t>(p->spans[i].end_ms - kRoomT0);
    INFO("span " << i << ": found " << start << ".." << end << " ms, sounded "
                 << want[i].first + offset_ms << ".." << want[i].second + offset_ms);
    CHECK(std::llabs(start - static_cast<int64_t>(want[i].first + offset_ms)) <= static_cast<int64_t>(tolerance_ms));
    CHECK(std::llabs(end - static_cast<int64_t>(want[i].second + offset_ms)) <= static_cast<int64_t>(tolerance_ms));
  }
}

}  // namespace

TEST_CASE("speakers: peers speaking in turns are found within 200 ms, pauses between words kept inside a span") {
  TempDir dir;
  std::vector<PeerPlan> plans(3);
  plans[0].peer = "alice";
  plans[0].leave_ms = 8000;
  plans[0].video = false;
  plans[0].speaking = {{500, 2000}, {5000, 5600}};
  plans[1].peer = "bob";
  plans[1].join_ms = 1000;  // joins later: his times are from his join
  plans[1].leave_ms = 8000;
  plans[1].video = false;
  plans[1].tone_hz = 660;
  plans[1].speaking = {{1500, 2500}, {2700, 3500}};  // a 200 ms pause: one span
  plans[2].peer = "carol";
  plans[2].leave_ms = 8000;
  plans[2].video = false;
  plans[2].tone_hz = 880;
  plans[2].speaking = {{6500, 6600}};  // 100 ms: a click, not speech
  auto room = record_room(dir.str(), plans);
  auto src = RecordingSource::open(room.room_dir()).value();
  auto r = detect_speakers(*src);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->peers.size() == 3);
  check_spans(find_peer(*r, "alice"), {{500, 2000}, {5000, 5600}}, 0);
  check_spans(find_peer(*r, "bob"), {{1500, 3500}}, 1000);
  const PeerSpeech* carol = find_peer(*r, "carol");
  REQUIRE(carol);
  CHECK(carol->spans.empty());
  CHECK(carol->audio_ms >= 7500);
  auto alice = find_peer(*r, "alice");
  CHECK(alice->speaking_ms == (alice->spans[0].end_ms - alice->spans[0].start_ms) +
                                  (alice->spans[1].end_ms - alice->spans[1].start_ms));
  auto j = nlohmann::json::parse(r->to_json());
  REQUIRE(j["timeline"].size() == 3);
  CHECK(j["timeline"][0]["peer"] == "alice");
  CHECK(j["timeline"][1]["peer"] == "bob");
  CHECK(j["timeline"][2]["peer"] == "alice");
}

TEST_CASE("speakers: 5% loss and reordering do not split or move a span; a peer's two sessions are merged") {
  TempDir dir;
  std::vector<PeerPlan> plans(3);
  plans[2].peer = "frank";  // keeps the room (one recording) open while dave rejoins; video only: not a speaker
  plans[2].leave_ms = 8000;
  plans[2].audio = false;
  plans[0].peer = "dave";
  plans[0].leave_ms = 4000;
  plans[0].video = false;
  plans[0].loss = 0.05;
  plans[0].reorder = 0.05;
  plans[0].speaking = {{1000, 3000}};
  plans[1].peer = "dave";  // rejoined
  plans[1].session = 2;
  plans[1].join_ms = 5000;
  plans[1].leave_ms = 7000;
  plans[1].video = false;
  plans[1].speaking = {{500, 1500}};
  auto room = record_room(dir.str(), plans, 7);
  auto src = RecordingSource::open(room.room_dir()).value();
  auto r = detect_speakers(*src);
  REQUIRE(r.is_ok());
  REQUIRE(r->peers.size() == 1);
  check_spans(&r->peers[0], {{1000, 3000}, {5500, 6500}}, 0);
}

TEST_CASE("speakers: transmux writes speakers.json beside summary.json; bad options refused") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(1);
  plans[0].peer = "erin";
  plans[0].leave_ms = 3000;
  plans[0].speaking = {{1000, 2000}};
  auto room = record_room(dir.str(), plans);
  auto src = RecordingSource::open(room.room_dir()).value();
  TransmuxOptions o;
  o.output = out.str();
  o.speakers = true;
  auto t = transmux(*src, o);
  REQUIRE_MESSAGE(t.is_ok(), t.status().to_string());
  REQUIRE(t->speakers.has_value());
  std::ifstream f(out.str() + "/speakers.json");
  REQUIRE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str());
  CHECK(j == nlohmann::json::parse(t->speakers->to_json()));
  REQUIRE(j["peers"].size() == 1);
  CHECK(j["peers"][0]["peer"] == "erin");
  REQUIRE(j["peers"][0]["spans"].size() == 1);

  SpeakerOptions bad;
  bad.off_dbfs = -20;  // above on_dbfs
  CHECK(validate(bad).message() == "speakers.off_dbfs must be -100..on_dbfs");
  o.speaker_options = bad;
  CHECK(transmux(*src, o).status().message() == "speakers.off_dbfs must be -100..on_dbfs");
  CHECK(detect_speakers(*src, bad).status().code() == ErrorCode::invalid_argument);
}
