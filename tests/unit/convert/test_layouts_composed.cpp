// Issue 19, layouts on composed rooms: synthetic rooms where one peer at a time
// makes a tone while its camera shows its colour (real VP8 and Opus through
// the real Recorder); the composed WebM is decoded by ffmpeg and its pixels
// are checked: the large region shows the speaking peer and never switches
// faster than the hold time, a screen share fills the main region, a custom
// layout changes at the asked time, names are drawn, the speaker is framed.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/composer.h>
#include <roomrec/recording_source.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "room_builder.h"

using namespace roomrec;
using namespace roomrec::testing;

namespace {

struct Colour {
  int y, u, v;
};
const Colour kColours[] = {{82, 90, 240}, {145, 54, 34}, {41, 240, 110}};  // alice, bob, carol
const Colour kScreen = {180, 128, 128};
const Colour kYellow = {210, 16, 146};  // the speaker's frame
constexpr uint32_t kFps = 15;

// Every frame of a composed WebM, as I420.
struct Frames {
  uint32_t w = 0, h = 0;
  std::vector<uint8_t> data;
  size_t count() const { return data.size() / (size_t{w} * h * 3 / 2); }
  Colour at(size_t k, uint32_t x, uint32_t y) const {
    const size_t fs = size_t{w} * h * 3 / 2, base = k * fs;
    const size_t cw = w / 2, ch = h / 2;
    return {data[base + size_t{y} * w + x], data[base + size_t{w} * h + (y / 2) * cw + x / 2],
            data[base + size_t{w} * h + cw * ch + (y / 2) * cw + x / 2]};
  }
  size_t frame_at(uint64_t ms) const { return static_cast<size_t>(ms * kFps / 1000); }
};

Frames decode(const std::string& webm, uint32_t w, uint32_t h) {
  Frames f;
  f.w = w;
  f.h = h;
  std::string raw = webm + ".yuv";
  run_capture("ffmpeg -nostdin -v error -i '" + webm + "' -fps_mode passthrough -f rawvideo -pix_fmt yuv420p '" + raw +
              "'");
  std::ifstream in(raw, std::ios::binary);
  f.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return f;
}

bool near(const Colour& a, const Colour& b, int tol = 20) {
  return std::abs(a.y - b.y) < tol && std::abs(a.u - b.u) < tol && std::abs(a.v - b.v) < tol;
}

// Which peer's colour (index into kColours), or -1.
int who(const Colour& c) {
  for (int i = 0; i < 3; ++i)
    if (near(c, kColours[i])) return i;
  return -1;
}

ComposeResult compose_room(const BuiltRoom& room, const std::string& out, ComposeOptions o) {
  auto src = RecordingSource::open(room.room_dir());
  REQUIRE(src.is_ok());
  o.output = out;
  o.fps = kFps;
  auto r = compose(**src, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  // To look at: ROOMREC_KEEP_LAYOUTS=DIR keeps each composed file and the room it came from.
  if (const char* keep = std::getenv("ROOMREC_KEEP_LAYOUTS")) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const std::string name = fs::path(out).stem().string();
    fs::create_directories(fs::path(keep) / "rooms" / name, ec);
    fs::copy(room.root, fs::path(keep) / "rooms" / name, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    fs::copy_file(out, fs::path(keep) / (name + ".webm"), fs::copy_options::overwrite_existing, ec);
  }
  return *r;
}

PeerPlan peer(std::string name, int colour, uint64_t leave_ms, std::vector<std::pair<uint64_t, uint64_t>> speaking) {
  PeerPlan p;
  p.peer = std::move(name);
  p.leave_ms = leave_ms;
  p.width = 320;
  p.height = 180;
  p.colour_y = kColours[colour].y;
  p.colour_u = static_cast<uint8_t>(kColours[colour].u);
  p.colour_v = static_cast<uint8_t>(kColours[colour].v);
  p.tone_hz = 440 + 220 * colour;
  p.speaking = std::move(speaking);
  if (p.speaking.empty()) p.audio = false;  // a silent peer
  return p;
}

// Three peers in turns: alice 0.5-2.5 s, bob 2.7-3.3 s (short), carol 3.4-6 s, alice 6.5-9.5 s.
BuiltRoom turns_room(const std::string& dir) {
  return record_room(dir, {peer("alice", 0, 10000, {{500, 2500}, {6500, 9500}}), peer("bob", 1, 10000, {{2700, 3300}}),
                           peer("carol", 2, 10000, {{3400, 6000}})});
}

}  // namespace

TEST_CASE("speaker layout: the large region shows who speaks, never switching faster than the hold time") {
  TempDir dir, out;
  auto room = turns_room(dir.str());
  ComposeOptions o;
  o.width = 320;
  o.height = 180;
  o.layout = "speaker";
  o.speaker_hold_ms = 2000;
  o.speaker_lead_ms = 300;
  auto r = compose_room(room, out.str() + "/speaker.webm", o);
  auto f = decode(r.media_uri, 320, 180);
  REQUIRE(f.count() >= 145);
  // The large region is the left 80 % (256 px); its centre tells who is shown.
  std::vector<int> main(f.count());
  for (size_t k = 0; k < f.count(); ++k) main[k] = who(f.at(k, 128, 90));
  std::vector<std::pair<size_t, int>> switches;  // (frame, peer) where the large region changes
  for (size_t k = 0; k < f.count(); ++k) {
    if (k > 2 && k + 2 < f.count()) {  // the room's first and last frames may be before or after every camera
      INFO("frame " << k);
      CHECK(main[k] >= 0);  // always some peer's camera
    }
    if (main[k] >= 0 && (switches.empty() || switches.back().second != main[k])) switches.emplace_back(k, main[k]);
  }
  // alice, bob at 2.5 s (alice's voice ends), carol at 4.5 s (bob's 2 s hold over), alice at 6.5 s (carol's hold).
  REQUIRE(switches.size() == 4);
  CHECK(switches[0].second == 0);
  CHECK(switches[1].second == 1);
  CHECK(switches[2].second == 2);
  CHECK(switches[3].second == 0);
  for (size_t i = 1; i < switches.size(); ++i) {
    const uint64_t gap_ms = (switches[i].first - switches[i - 1].first) * 1000 / kFps;
    INFO("switch " << i << " at frame " << switches[i].first << ", " << gap_ms << " ms after the one before");
    CHECK(gap_ms + 1000 / kFps >= o.speaker_hold_ms);  // frame times are 66.7 ms apart
  }
  // At sampled times, the peer whose voice is on (or the one held) is large.
  CHECK(main[f.frame_at(1500)] == 0);
  CHECK(main[f.frame_at(3000)] == 1);
  CHECK(main[f.frame_at(4200)] == 1);  // carol speaks but bob's hold runs to 4.5 s
  CHECK(main[f.frame_at(5500)] == 2);
  CHECK(main[f.frame_at(8000)] == 0);
  // The strip on the right holds the two others, one above the other.
  const size_t k = f.frame_at(1500);
  std::set<int> strip = {who(f.at(k, 288, 72)), who(f.at(k, 288, 108))};
  CHECK(strip == std::set<int>{1, 2});
}

TEST_CASE("single-speaker layout: only the active speaker, full frame; grid with a frame on the speaker; names") {
  TempDir dir, out;
  auto room = turns_room(dir.str());
  ComposeOptions o;
  o.width = 320;
  o.height = 180;
  o.layout = "single-speaker";
  auto r = compose_room(room, out.str() + "/single.webm", o);
  auto f = decode(r.media_uri, 320, 180);
  REQUIRE(f.count() >= 145);
  for (auto [ms, peer] : {std::pair{1500, 0}, std::pair{3000, 1}, std::pair{5500, 2}, std::pair{8000, 0}}) {
    const size_t k = f.frame_at(ms);
    INFO("at " << ms << " ms");
    int other = 0;  // pixels of another peer's colour anywhere in the frame
    for (uint32_t y = 4; y < 176; y += 8)
      for (uint32_t x = 4; x < 316; x += 8) {
        CHECK(who(f.at(k, x, y)) == peer);
        other += who(f.at(k, x, y)) != peer;
      }
    CHECK(other == 0);
  }

  // Grid with speaker_border: the speaker's cell is framed in yellow, the others are not.
  o.layout = "grid";
  o.speaker_border = true;
  o.width = 640;
  o.height = 360;
  r = compose_room(room, out.str() + "/border.webm", o);
  auto g = decode(r.media_uri, 640, 360);
  REQUIRE(g.count() >= 145);
  // Three peers: a 2x2 grid of 320x180 cells, alice, bob, carol in order of arrival.
  const uint32_t cx[3] = {160, 480, 160}, cy[3] = {0, 0, 180};
  for (auto [ms, peer] : {std::pair{1500, 0}, std::pair{3000, 1}, std::pair{5500, 2}, std::pair{8000, 0}}) {
    const size_t k = g.frame_at(ms);
    for (int p = 0; p < 3; ++p) {
      INFO("at " << ms << " ms, cell of peer " << p << ": Y " << g.at(k, cx[p], cy[p] + 1).y);
      CHECK(who(g.at(k, cx[p], cy[p] + 60)) == p);  // the picture inside
      if (p == peer)
        CHECK(std::abs(g.at(k, cx[p], cy[p] + 1).y - kYellow.y) < 30);
      else
        CHECK(std::abs(g.at(k, cx[p], cy[p] + 1).y - kColours[p].y) < 20);
    }
  }

  // Names: the same grid with and without; in each cell's name box (bottom left) the text's
  // white pixels appear only with names, and the pixels there differ; the cells' centres do not.
  ComposeOptions plain;
  plain.width = 640;
  plain.height = 360;
  ComposeOptions named = plain;
  named.names = true;
  auto a = decode(compose_room(room, out.str() + "/plain.webm", plain).media_uri, 640, 360);
  auto b = decode(compose_room(room, out.str() + "/named.webm", named).media_uri, 640, 360);
  const size_t k = a.frame_at(1500);
  for (int p = 0; p < 3; ++p) {
    INFO("cell of peer " << p);
    int white_a = 0, white_b = 0, differ = 0;
    for (uint32_t y = cy[p] + 150; y < cy[p] + 178; ++y)
      for (uint32_t x = cx[p] - 160 + 2; x < cx[p] - 160 + 80; ++x) {
        white_a += a.at(k, x, y).y > 190;
        white_b += b.at(k, x, y).y > 190;
        differ += std::abs(a.at(k, x, y).y - b.at(k, x, y).y) > 10;
      }
    CHECK(white_a == 0);
    CHECK(white_b >= 20);
    CHECK(differ >= 200);
    CHECK(std::abs(a.at(k, cx[p], cy[p] + 60).y - b.at(k, cx[p], cy[p] + 60).y) < 10);
  }
}

TEST_CASE("presentation layout: a screen share fills the main region while it is live") {
  TempDir dir, out;
  PeerPlan screen;
  screen.peer = "alice";
  screen.session = 2;
  screen.join_ms = 2000;
  screen.leave_ms = 5000;
  screen.audio = false;
  screen.video_name = "screen";
  screen.width = 512;  // the main region's shape at 640x360
  screen.height = 360;
  screen.colour_y = kScreen.y;
  auto room = record_room(dir.str(), {peer("alice", 0, 7000, {{500, 6500}}), peer("bob", 1, 7000, {}), screen});
  ComposeOptions o;
  o.width = 640;
  o.height = 360;
  o.layout = "presentation";
  auto r = compose_room(room, out.str() + "/presentation.webm", o);
  auto f = decode(r.media_uri, 640, 360);
  REQUIRE(f.count() >= 100);
  // Before and after the share: the speaker (alice) large.
  CHECK(who(f.at(f.frame_at(1000), 256, 180)) == 0);
  CHECK(who(f.at(f.frame_at(6000), 256, 180)) == 0);
  // During: the screen fills the left 512x360, corners included; the cameras are in the strip.
  for (uint64_t ms : {2500, 3500, 4500}) {
    const size_t k = f.frame_at(ms);
    INFO("at " << ms << " ms");
    for (auto [x, y] : {std::pair{6u, 6u}, std::pair{505u, 6u}, std::pair{6u, 353u}, std::pair{505u, 353u},
                        std::pair{256u, 180u}})
      CHECK(near(f.at(k, x, y), kScreen));
    std::set<int> strip;
    for (uint32_t y = 2; y < 360; y += 4) strip.insert(who(f.at(k, 576, y)));
    CHECK(strip.count(0) == 1);
    CHECK(strip.count(1) == 1);
  }
}

TEST_CASE("custom layout: a change happens at the asked time") {
  TempDir dir, out;
  auto room = record_room(dir.str(), {peer("alice", 0, 6000, {}), peer("bob", 1, 6000, {})});
  ComposeOptions o;
  o.width = 320;
  o.height = 180;
  o.layout = R"({"layout": "grid", "changes": [{"at": "0:03", "regions": [
      {"peer": "bob"}, {"x": 0.75, "y": 0.75, "w": 0.25, "h": 0.25, "z": 1, "peer": "alice"}]}]})";
  auto r = compose_room(room, out.str() + "/custom.webm", o);
  auto f = decode(r.media_uri, 320, 180);
  REQUIRE(f.count() >= 85);
  // Grid: alice left, bob right. From 3 s: bob full frame, alice in the bottom right corner.
  size_t changed = SIZE_MAX;
  for (size_t k = 3; k < f.count(); ++k) {
    if (who(f.at(k, 80, 90)) == 1) {
      changed = k;
      break;
    }
    INFO("frame " << k);
    CHECK(who(f.at(k, 80, 90)) == 0);
    CHECK(who(f.at(k, 240, 90)) == 1);
  }
  REQUIRE(changed != SIZE_MAX);
  CHECK(changed == 45);  // the first frame at or after 3000 ms (15 fps)
  for (size_t k = changed; k < f.count() - 2; ++k) {
    INFO("frame " << k);
    CHECK(who(f.at(k, 80, 90)) == 1);
    CHECK(who(f.at(k, 160, 60)) == 1);
    CHECK(who(f.at(k, 280, 156)) == 0);
  }
}

TEST_CASE("layouts: bad layout JSON refused by validate() and compose(), with the field named") {
  ComposeOptions o;
  o.output = "/tmp/never.webm";
  o.layout = R"({"regions": [{"x": 0.5, "w": 0.7, "role": "speaker"}]})";
  CHECK(validate(o).message() == "compose.layout.regions[0].x + compose.layout.regions[0].w must be at most 1");
  o.layout = "tiles";
  CHECK(validate(o).message() ==
        "compose.layout must be grid, speaker, single-speaker or presentation, or a JSON layout ({\"regions\": [...]})");
  o.layout = "speaker";
  o.speaker_hold_ms = 60'001;
  CHECK(validate(o).message() == "compose.speaker_hold_ms must be 0..60000");
  o.speaker_hold_ms = 2000;
  o.speaker_lead_ms = 5001;
  CHECK(validate(o).message() == "compose.speaker_lead_ms must be 0..5000");
  o.speaker_lead_ms = 0;
  o.video = false;
  CHECK(validate(o).message() == "compose.layout, compose.names and compose.speaker_border need video");
  o.video = true;
  CHECK(validate(o).is_ok());
}

TEST_CASE("speaker layout: a speaker without a camera leaves the last speaker's camera large, never black") {
  TempDir dir, out;
  PeerPlan dave = peer("dave", 2, 6000, {{2000, 5000}});
  dave.video = false;  // on the phone: a voice only
  auto room = record_room(dir.str(), {peer("alice", 0, 6000, {{300, 1500}}), peer("bob", 1, 6000, {}), dave});
  ComposeOptions o;
  o.width = 320;
  o.height = 180;
  o.layout = "speaker";
  auto r = compose_room(room, out.str() + "/cameraless.webm", o);
  auto f = decode(r.media_uri, 320, 180);
  REQUIRE(f.count() >= 85);
  for (size_t k = 3; k + 2 < f.count(); ++k) {
    INFO("frame " << k);
    CHECK(who(f.at(k, 128, 90)) == 0);  // alice throughout, dave's turn included
  }
}
