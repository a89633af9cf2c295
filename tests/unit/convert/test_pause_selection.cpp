// Issue 18: recording pauses through transmux and compose (one file per track across a pause, the
// paused time kept or cut), checked with ffprobe and a full ffmpeg decode, and the composed audio's
// spectrum (Goertzel at each peer's tone).
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/composer.h>
#include <roomrec/converter.h>
#include <roomrec/participants.h>
#include <roomrec/recording_source.h>
#include <roomrec/transmuxer.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "room_builder.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;

namespace {

struct Transmuxed {
  TransmuxResult result;
  nlohmann::json summary;
  std::map<std::string, const TransmuxFile*> by_track;  // "peer/track"
};

Transmuxed run_transmux(const BuiltRoom& room, const std::string& out, const std::string& pause_mode) {
  auto src = RecordingSource::open(room.room_dir());
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  TransmuxOptions o;
  o.output = out;
  o.pause_mode = pause_mode;
  auto r = transmux(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  Transmuxed t;
  t.result = std::move(r.value());
  std::ifstream in(out + "/summary.json");
  REQUIRE(in.good());
  t.summary = nlohmann::json::parse(in);
  for (auto& f : t.result.files) t.by_track[f.peer + "/" + f.track] = &f;
  return t;
}

ComposeResult run_compose(const BuiltRoom& room, const std::string& out, const std::string& pause_mode,
                          bool video = true) {
  auto src = RecordingSource::open(room.room_dir());
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  ComposeOptions o;
  o.output = out;
  o.video = video;
  o.width = 320;
  o.height = 240;
  o.video_bitrate = 300'000;
  o.pause_mode = pause_mode;
  auto r = compose(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return r.value();
}

// The file's audio decoded by ffmpeg: mono float samples at 48 kHz.
std::vector<float> decode_audio(const std::string& path) {
  std::string raw = run_capture("ffmpeg -nostdin -v error -i '" + path + "' -vn -ac 1 -ar 48000 -f f32le - 2>/dev/null");
  std::vector<float> s(raw.size() / sizeof(float));
  if (!s.empty()) std::memcpy(s.data(), raw.data(), s.size() * sizeof(float));
  return s;
}

// Amplitude of `hz` in samples [from_s, to_s) (Goertzel, normalised: a full-scale sine gives ~0.5).
double tone_level(const std::vector<float>& s, double hz, double from_s, double to_s) {
  size_t a = static_cast<size_t>(from_s * 48000), b = std::min(s.size(), static_cast<size_t>(to_s * 48000));
  if (b <= a) return 0;
  const double w = 2 * M_PI * hz / 48000, c = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (size_t i = a; i < b; ++i) {
    double s0 = s[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  double power = s1 * s1 + s2 * s2 - c * s1 * s2;
  return std::sqrt(std::max(0.0, power)) / static_cast<double>(b - a);
}

// Mean luma (0..255) of the video frame shown at `at_s`.
double mean_luma_at(const std::string& path, double at_s) {
  std::string raw = run_capture("ffmpeg -nostdin -v error -ss " + std::to_string(at_s) + " -i '" + path +
                                "' -frames:v 1 -f rawvideo -pix_fmt gray - 2>/dev/null");
  if (raw.empty()) return -1;
  double sum = 0;
  for (unsigned char c : raw) sum += c;
  return sum / static_cast<double>(raw.size());
}

}  // namespace

TEST_CASE("pause: one file per track across a pause; keep holds the room timeline, cut takes the pause out") {
  TempDir dir, keep_out, cut_out;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "alice";  // the whole session paused from 2 s to 5 s
  plans[0].leave_ms = 8000;
  plans[0].pauses = {{2000, 5000}};
  plans[1].peer = "bob";  // only his camera paused, 3 s to 5.5 s (its next key frame comes at 6 s)
  plans[1].leave_ms = 8000;
  plans[1].tone_hz = 660;
  plans[1].pauses = {{3000, 5500}};
  plans[1].pause_track = 2;
  auto room = record_room(dir.str(), plans);

  auto keep = run_transmux(room, keep_out.str(), "keep");
  auto cut = run_transmux(room, cut_out.str(), "cut");
  for (auto* t : {&keep, &cut}) {
    const bool cutting = t == &cut;
    INFO((cutting ? "cut" : "keep"));
    CHECK(t->result.problems.empty());
    REQUIRE(t->result.files.size() == 4);  // one per track: the pauses split nothing
    const std::string out = cutting ? cut_out.str() : keep_out.str();
    struct Want {
      std::string key;
      double keep_s, cut_s;
      uint64_t paused_ms;
    };
    for (const Want& w : {Want{"alice/video_main", 8, 5, 3000}, Want{"alice/audio_main", 8, 5, 3000},
                          Want{"bob/video_main", 8, 5.5, 2500}, Want{"bob/audio_main", 8, 8, 0}}) {
      INFO(w.key);
      REQUIRE(t->by_track.count(w.key));
      const TransmuxFile& f = *t->by_track[w.key];
      auto p = probe(out + "/" + f.path);
      CHECK(p.ok);
      // Decoded frame by frame with the file's own times: a cut of 2.5 s moves later frames off the
      // 15 fps grid (times are exact, in ms), which ffmpeg's guessed constant output rate would
      // (and its 1/15 s time base) would otherwise call non-monotonic; the file itself is fine.
      int status = 0;
      std::string errors = run_capture("ffmpeg -nostdin -v error -i '" + out + "/" + f.path +
                                           "' -fps_mode passthrough -enc_time_base -1 -f null - 2>&1",
                                       &status);
      INFO(errors);
      CHECK(status == 0);
      CHECK(errors.empty());
      CHECK(p.duration == doctest::Approx(cutting ? w.cut_s : w.keep_s).epsilon(0.06));
      CHECK(f.paused_ms == w.paused_ms);
    }
    // summary.json: the session's own pauses, and each track's (its session's and its own).
    auto& alice = t->summary["peers"]["alice"]["sessions"]["1"];
    REQUIRE(alice["pauses"].size() == 1);
    CHECK(alice["pauses"][0]["start"] == kRoomT0 + 2000);
    CHECK(alice["pauses"][0]["end"] == kRoomT0 + 5000);
    CHECK(alice["track"]["audio_main"]["timeline"][0]["pauses"] == alice["pauses"]);
    CHECK(alice["track"]["video_main"]["timeline"][0]["paused_ms"] == 3000);
    auto& bob = t->summary["peers"]["bob"]["sessions"]["1"];
    CHECK_FALSE(bob.contains("pauses"));  // his session never paused, only a track
    REQUIRE(bob["track"]["video_main"]["timeline"][0]["pauses"].size() == 1);
    CHECK(bob["track"]["video_main"]["timeline"][0]["pauses"][0]["start"] == kRoomT0 + 3000);
    CHECK_FALSE(bob["track"]["audio_main"]["timeline"][0].contains("pauses"));
  }
  // Keep: alice's audio plays on as silence through her pause, with her tone either side.
  auto a = decode_audio(keep_out.str() + "/" + keep.by_track["alice/audio_main"]->path);
  CHECK(a.size() / 48000.0 == doctest::Approx(8).epsilon(0.06));
  CHECK(tone_level(a, 440, 0.5, 1.5) > 0.05);
  CHECK(tone_level(a, 440, 2.5, 4.5) < 0.002);
  CHECK(tone_level(a, 440, 5.5, 7.5) > 0.05);
  // Cut: the same tone without the gap.
  auto c = decode_audio(cut_out.str() + "/" + cut.by_track["alice/audio_main"]->path);
  CHECK(tone_level(c, 440, 0.5, 1.5) > 0.05);
  CHECK(tone_level(c, 440, 2.5, 4.5) > 0.05);

  // Per-participant files (participants.h) stay on the room's timeline across the pause.
  TempDir people;
  auto src = RecordingSource::open(room.room_dir());
  REQUIRE(src.is_ok());
  ParticipantsOptions po;
  po.output = people.str();
  auto pr = make_participant_files(*src.value(), po);
  REQUIRE_MESSAGE(pr.is_ok(), pr.status().to_string());
  bool found = false;
  for (const auto& f : pr->files) {
    if (f.peer != "alice" || f.kind != "av") continue;
    found = true;
    auto p = probe(f.uri);
    CHECK(p.ok);
    CHECK(p.duration == doctest::Approx(8).epsilon(0.05));
    auto pa = decode_audio(f.uri);
    CHECK(tone_level(pa, 440, 0.5, 1.5) > 0.05);
    CHECK(tone_level(pa, 440, 2.5, 4.5) < 0.002);
    CHECK(tone_level(pa, 440, 5.5, 7.5) > 0.05);
  }
  CHECK(found);
}

TEST_CASE("pause: compose silences a paused peer; cut takes out the time when everyone present is paused") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "alice";
  plans[0].leave_ms = 8000;
  plans[0].pauses = {{2000, 5000}};
  plans[1].peer = "bob";
  plans[1].leave_ms = 8000;
  plans[1].tone_hz = 660;
  plans[1].pauses = {{3000, 6000}};  // both paused from 3 s to 5 s
  auto room = record_room(dir.str(), plans);

  auto keep = run_compose(room, out.str() + "/keep.webm", "keep");
  CHECK(keep.duration_ms == 8000);
  CHECK(keep.paused_ms == 0);
  auto pk = probe(keep.media_uri);
  CHECK(pk.ok);
  CHECK(pk.decode_errors.empty());
  CHECK(pk.duration == doctest::Approx(8).epsilon(0.05));
  auto a = decode_audio(keep.media_uri);
  CHECK(tone_level(a, 440, 0.5, 1.5) > 0.02);
  CHECK(tone_level(a, 440, 2.2, 4.8) < 0.002);  // alice paused: silent in the mix
  CHECK(tone_level(a, 660, 2.2, 2.8) > 0.02);   // bob still heard
  CHECK(tone_level(a, 660, 3.2, 5.8) < 0.002);
  CHECK(tone_level(a, 440, 5.5, 7.5) > 0.02);
  // Pictures: both peers paused at 4 s, so nobody is in the grid (black); at 1 s both are.
  CHECK(mean_luma_at(keep.media_uri, 1.0) > 40);
  CHECK(mean_luma_at(keep.media_uri, 4.0) < 20);

  auto cut = run_compose(room, out.str() + "/cut.webm", "cut");
  CHECK(cut.paused_ms == 2000);
  CHECK(cut.duration_ms == 6000);
  auto pc = probe(cut.media_uri);
  CHECK(pc.ok);
  CHECK(pc.decode_errors.empty());
  CHECK(pc.duration == doctest::Approx(6).epsilon(0.05));
  auto c = decode_audio(cut.media_uri);
  // Room 0-3 s stays, room 5-8 s follows at 3 s: bob's tone until 3 s, alice's from 3 s (room 5 s).
  CHECK(tone_level(c, 660, 2.2, 2.8) > 0.02);
  CHECK(tone_level(c, 440, 2.2, 2.8) < 0.002);
  CHECK(tone_level(c, 440, 3.3, 5.8) > 0.02);
  CHECK(tone_level(c, 660, 3.3, 3.8) < 0.002);  // bob still paused until room 6 s = 4 s here
  CHECK(tone_level(c, 660, 4.3, 5.8) > 0.02);
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("selection: an excluded peer is in no output: no file, no summary or speakers entry, not in the mix") {
  TempDir dir, out;
  std::vector<PeerPlan> plans(3);
  plans[0].peer = "alice";
  plans[0].leave_ms = 5000;
  plans[0].tone_hz = 440;
  plans[1].peer = "bob";  // did not consent
  plans[1].leave_ms = 5000;
  plans[1].tone_hz = 660;
  plans[2].peer = "carol";  // consented to her voice, not her camera
  plans[2].leave_ms = 5000;
  plans[2].tone_hz = 1000;
  auto room = record_room(dir.str(), plans);

  ConvertJob job;
  job.input = room.room_dir();
  job.transmux.emplace();
  job.transmux->output = out.str() + "/t";
  job.transmux->speakers = true;
  job.compose.emplace();
  job.compose->output = out.str() + "/room.webm";
  job.compose->width = 320;
  job.compose->height = 240;
  job.participants.emplace();
  job.participants->output = out.str() + "/people";
  job.selection.exclude_peers = {"bob"};
  job.selection.exclude_tracks = {"carol/video_main"};
  auto r = convert(job);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  std::set<std::string> files;
  for (const auto& f : r->transmux->files) files.insert(f.peer + "/" + f.track);
  CHECK(files == std::set<std::string>{"alice/audio_main", "alice/video_main", "carol/audio_main"});
  for (const auto& e : fs::recursive_directory_iterator(out.str())) {
    CHECK(e.path().filename().string().find("bob") == std::string::npos);
    if (e.is_regular_file() && e.path().extension() == ".json") {
      const std::string text = read_text(e.path().string());
      INFO(e.path().string());
      CHECK(text.find("bob") == std::string::npos);
      CHECK(text.find("carol-1-vp8") == std::string::npos);
    }
  }
  CHECK(r->to_json().find("bob") == std::string::npos);
  REQUIRE(r->participants);
  std::set<std::string> people;
  for (const auto& f : r->participants->files) people.insert(f.peer);
  CHECK(people == std::set<std::string>{"alice", "carol"});
  bool carol_av = false;
  for (const auto& f : r->participants->files)
    if (f.peer == "carol" && f.kind == "av") {
      carol_av = true;
      CHECK(f.video == "none");  // her camera was left out
    }
  CHECK(carol_av);
  REQUIRE(r->transmux->speakers);
  CHECK(r->transmux->speakers->peers.size() == 2);

  // The mix: alice's and carol's tones, not bob's.
  auto p = probe(r->compose->media_uri);
  CHECK(p.ok);
  CHECK(p.decode_errors.empty());
  auto a = decode_audio(r->compose->media_uri);
  const double alice = tone_level(a, 440, 0.5, 4.5), bob = tone_level(a, 660, 0.5, 4.5),
               carol = tone_level(a, 1000, 0.5, 4.5);
  INFO("alice " << alice << " bob " << bob << " carol " << carol);
  CHECK(alice > 0.02);
  CHECK(carol > 0.02);
  CHECK(bob < alice / 100);
  CHECK(bob < carol / 100);

  // The same room without a selection has bob everywhere (the check above can fail).
  job.selection = {};
  job.participants.reset();
  job.transmux->output = out.str() + "/all";
  job.compose->output = out.str() + "/all.webm";
  auto all = convert(job);
  REQUIRE(all.is_ok());
  CHECK(all->transmux->files.size() == 6);
  CHECK(tone_level(decode_audio(all->compose->media_uri), 660, 0.5, 4.5) > 0.02);

  // include_peers: only alice.
  job.participants.reset();
  job.selection.include_peers = {"alice"};
  job.transmux->output = out.str() + "/alice";
  job.compose.reset();
  auto only = convert(job);
  REQUIRE(only.is_ok());
  for (const auto& f : only->transmux->files) CHECK(f.peer == "alice");
  CHECK(only->transmux->files.size() == 2);
}

TEST_CASE("selection: contradictions and bad names are refused with the field's name") {
  auto check = [](RoomSelection s, const std::string& message) {
    ConvertJob job;
    job.input = "/nonexistent";
    job.transmux.emplace();
    job.transmux->output = "/tmp/x";
    job.selection = std::move(s);
    Status st = validate(job);
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(st.message() == message);
  };
  check({{"alice"}, {"alice"}, {}}, "selection: peer \"alice\" is both in include_peers and in exclude_peers");
  check({{""}, {}, {}}, "selection.include_peers[0] is empty");
  check({{}, {"bob", "bob"}, {}}, "selection.exclude_peers[1] repeats \"bob\"");
  check({{}, {}, {"alice/"}}, "selection.exclude_tracks[0] must be \"peer/track\" or \"track\", got \"alice/\"");
  check({{}, {"bob"}, {"bob/video_main"}},
        "selection.exclude_tracks[0] names a track of \"bob\", a peer the selection leaves out already");
  check({{"alice"}, {}, {"carol/audio_main"}},
        "selection.exclude_tracks[0] names a track of \"carol\", a peer the selection leaves out already");
  RoomSelection ok{{}, {"bob"}, {"video_main", "carol/audio_main"}};
  CHECK(validate(ok).is_ok());
  CHECK_FALSE(ok.peer_selected("bob"));
  CHECK(ok.peer_selected("carol"));
  CHECK_FALSE(ok.track_selected("alice", "video_main"));
  CHECK_FALSE(ok.track_selected("carol", "audio_main"));
  CHECK(ok.track_selected("alice", "audio_main"));
  TransmuxOptions t;
  t.pause_mode = "skip";
  CHECK(validate(t).message() == "transmux.pause_mode must be keep or cut");
  ComposeOptions c;
  c.pause_mode = "";
  CHECK(validate(c).message() == "compose.pause_mode must be keep or cut");
}
