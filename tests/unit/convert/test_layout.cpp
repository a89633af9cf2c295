// Issue 19, layouts: compose.layout parsed and refused with the field named,
// the active speaker's turns (hold, lead), and where place() puts sources.
#include <doctest/doctest.h>

#include "convert/layout.h"

using namespace roomrec;
using namespace roomrec::convert;

namespace {

std::string refusal(std::string_view layout) {
  auto r = parse_layout(layout);
  return r ? std::string("(accepted)") : r.status().message();
}

PeerSpeech speech(std::string peer, std::vector<std::pair<uint64_t, uint64_t>> spans) {
  PeerSpeech p;
  p.peer = std::move(peer);
  for (auto [a, b] : spans) p.spans.push_back({a, b});
  return p;
}

}  // namespace

TEST_CASE("layouts: the built-in names, and a custom layout with changes at times") {
  for (auto [name, kind] : {std::pair{"grid", SceneKind::grid}, std::pair{"speaker", SceneKind::speaker},
                            std::pair{"single-speaker", SceneKind::single_speaker},
                            std::pair{"presentation", SceneKind::presentation}}) {
    auto p = parse_layout(name);
    REQUIRE(p);
    REQUIRE(p->changes.size() == 1);
    CHECK(p->changes[0].scene.kind == kind);
    CHECK(p->grid_only() == (kind == SceneKind::grid));
    CHECK(p->needs_speaker() == (kind != SceneKind::grid));
  }
  auto p = parse_layout(R"({"layout": "grid", "changes": [
      {"at": "10:02", "layout": "presentation"},
      {"at": 905.5, "regions": [{"x": 0, "y": 0, "w": 0.75, "h": 1, "role": "screen"},
                                {"x": 0.75, "w": 0.25, "role": "others"},
                                {"x": 0.02, "y": 0.7, "w": 0.2, "h": 0.28, "z": 3, "peer": "alice"}]},
      {"at": "1:00:00", "layout": "single-speaker"}]})");
  REQUIRE(p);
  REQUIRE(p->changes.size() == 4);
  CHECK(p->changes[1].at_ms == 602'000);
  CHECK(p->changes[2].at_ms == 905'500);
  CHECK(p->changes[3].at_ms == 3'600'000);
  CHECK(p->at(0).kind == SceneKind::grid);
  CHECK(p->at(601'999).kind == SceneKind::grid);
  CHECK(p->at(602'000).kind == SceneKind::presentation);
  const Scene& custom = p->at(905'500);
  REQUIRE(custom.kind == SceneKind::custom);
  REQUIRE(custom.regions.size() == 3);
  CHECK(custom.regions[1].y == 0);
  CHECK(custom.regions[1].h == 1);
  CHECK(custom.regions[2].role == Role::peer);
  CHECK(custom.regions[2].peer == "alice");
  CHECK(custom.regions[2].z == 3);
  CHECK(p->at(4'000'000).kind == SceneKind::single_speaker);
  CHECK_FALSE(p->needs_speaker() == false);
}

TEST_CASE("layouts: bad layouts are refused with the field named") {
  CHECK(refusal("mosaic") ==
        "compose.layout must be grid, speaker, single-speaker or presentation, or a JSON layout ({\"regions\": [...]})");
  CHECK(refusal("{\"regions\": [") ==
        "compose.layout is not valid JSON (a custom layout is an object: {\"regions\": [...]})");
  CHECK(refusal("{}") ==
        "compose.layout needs either \"regions\" (a list of regions) or \"layout\" (grid, speaker, single-speaker or "
        "presentation)");
  CHECK(refusal(R"({"regions": []})") == "compose.layout.regions must be a list of 1 to 64 regions");
  CHECK(refusal(R"({"regions": [{"w": 1.5, "role": "speaker"}]})") ==
        "compose.layout.regions[0].w must be a number from 0 to 1 (a fraction of the frame)");
  CHECK(refusal(R"({"regions": [{"role": "speaker"}, {"x": 0.5, "w": 0.6, "role": "others"}]})") ==
        "compose.layout.regions[1].x + compose.layout.regions[1].w must be at most 1");
  CHECK(refusal(R"({"regions": [{"h": 0, "role": "speaker"}]})") ==
        "compose.layout.regions[0].w and compose.layout.regions[0].h must be more than 0");
  CHECK(refusal(R"({"regions": [{"role": "host"}]})") ==
        "compose.layout.regions[0].role must be speaker, screen or others");
  CHECK(refusal(R"({"regions": [{}]})") ==
        "compose.layout.regions[0] needs either \"role\" (speaker, screen or others) or \"peer\" (a peer id)");
  CHECK(refusal(R"({"regions": [{"role": "speaker", "peer": "a"}]})") ==
        "compose.layout.regions[0] needs either \"role\" (speaker, screen or others) or \"peer\" (a peer id)");
  CHECK(refusal(R"({"regions": [{"peer": ""}]})") == "compose.layout.regions[0].peer must be a peer id (a non-empty string)");
  CHECK(refusal(R"({"regions": [{"role": "speaker", "z": 1.5}]})") ==
        "compose.layout.regions[0].z must be an integer from -100 to 100");
  CHECK(refusal(R"({"regions": [{"role": "speaker", "colour": "red"}]})") ==
        "compose.layout.regions[0] has an unknown field \"colour\"");
  CHECK(refusal(R"({"layout": "speaker", "changes": [{"at": "1:75", "layout": "grid"}]})") ==
        "compose.layout.changes[0].at must be the time from the start: seconds, or \"[h:]mm:ss[.fff]\"");
  CHECK(refusal(R"({"layout": "speaker", "changes": [{"at": -1, "layout": "grid"}]})") ==
        "compose.layout.changes[0].at must be the time from the start: seconds, or \"[h:]mm:ss[.fff]\"");
  CHECK(refusal(R"({"layout": "speaker", "changes": [{"layout": "grid"}]})") ==
        "compose.layout.changes[0].at must be the time from the start: seconds, or \"[h:]mm:ss[.fff]\"");
  CHECK(refusal(R"({"layout": "speaker", "changes": [{"at": 20, "layout": "grid"}, {"at": "0:10", "layout": "speaker"}]})") ==
        "compose.layout.changes[1].at is before the change above it (changes are in time order)");
  CHECK(refusal(R"({"layout": "speaker", "changes": [{"at": 20, "layout": "tiles"}]})") ==
        "compose.layout.changes[0].layout must be grid, speaker, single-speaker or presentation");
  CHECK(refusal(R"({"layout": "speaker", "slides": true})") == "compose.layout has an unknown field \"slides\"");
}

TEST_CASE("speaker turns: a switch comes lead_ms ahead, waits out the hold, and nobody speaking keeps the speaker") {
  // alice 500-2500, bob 2700-3300 (short), carol 3400-6000, alice 6500-9500; lead 300, hold 2000.
  std::vector<PeerSpeech> peers = {speech("alice", {{500, 2500}, {6500, 9500}}), speech("bob", {{2700, 3300}}),
                                   speech("carol", {{3400, 6000}})};
  auto turns = speaker_turns(peers, 0, 2000, 300);
  REQUIRE(turns.size() == 4);
  CHECK(turns[0].from_ms == 0);  // the first to speak is the speaker from the start
  CHECK(turns[0].peer == "alice");
  CHECK(turns[1].from_ms == 2500);  // bob from 2400 (ahead), alice still speaking until 2500
  CHECK(turns[1].peer == "bob");
  CHECK(turns[2].from_ms == 4500);  // carol from 3100, held back until bob's 2 s are over
  CHECK(turns[2].peer == "carol");
  CHECK(turns[3].from_ms == 6500);  // alice from 6200 (ahead), held back until 6500
  CHECK(turns[3].peer == "alice");
  for (size_t i = 1; i < turns.size(); ++i) CHECK(turns[i].from_ms - turns[i - 1].from_ms >= 2000);

  // No hold: switches follow the voices, lead_ms ahead.
  turns = speaker_turns(peers, 0, 0, 300);
  REQUIRE(turns.size() == 4);
  CHECK(turns[1].from_ms == 2500);
  CHECK(turns[2].from_ms == 3300);
  CHECK(turns[2].peer == "carol");
  CHECK(turns[3].from_ms == 6200);

  // Two speak at once: the one who started first keeps it; a newcomer while the speaker talks waits.
  peers = {speech("a", {{1000, 5000}}), speech("b", {{2000, 8000}}), speech("c", {{6000, 7000}})};
  turns = speaker_turns(peers, 0, 1000, 0);
  REQUIRE(turns.size() == 2);
  CHECK(turns[1].from_ms == 5000);
  CHECK(turns[1].peer == "b");
  CHECK(speaker_turns({}, 0, 1000, 0).empty());
  CHECK(speaker_turns({speech("quiet", {})}, 0, 1000, 0).empty());
}

TEST_CASE("place: speaker, single-speaker, presentation and a custom scene") {
  std::vector<LiveSource> live = {{0, "alice", false}, {1, "bob", false}, {2, "carol", false}};
  std::vector<Placement> out;
  Scene speaker{SceneKind::speaker, {}};
  place(speaker, live, 1, 1280, 720, out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].id == 1);  // the speaker first, in the large region
  CHECK(out[0].rect == Rect{0, 0, 1024, 720});
  for (size_t i = 1; i < 3; ++i) {  // the others: 16:9 tiles in the strip on the right
    CHECK(out[i].rect.x >= 1024);
    CHECK(out[i].rect.w == 256);
    CHECK(out[i].rect.h == 144);
  }
  CHECK(out[1].id == 0);
  CHECK(out[2].id == 2);
  CHECK(out[2].rect.y == out[1].rect.y + 144);

  place(Scene{SceneKind::single_speaker, {}}, live, 2, 1280, 720, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 2);
  CHECK(out[0].rect == Rect{0, 0, 1280, 720});

  place(speaker, {{5, "alone", false}}, 5, 1280, 720, out);  // alone: the whole frame
  REQUIRE(out.size() == 1);
  CHECK(out[0].rect == Rect{0, 0, 1280, 720});

  // Presentation: the newest screen share large, every camera in the strip.
  auto with_screen = live;
  with_screen.push_back({3, "bob", true});
  place(Scene{SceneKind::presentation, {}}, with_screen, 1, 1280, 720, out);
  REQUIRE(out.size() == 4);
  CHECK(out[0].id == 3);
  CHECK(out[0].rect == Rect{0, 0, 1024, 720});
  // Without a screen share: as speaker.
  place(Scene{SceneKind::presentation, {}}, live, 1, 1280, 720, out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].id == 1);

  // Custom: bob full frame, alice on top in the corner, the rest nowhere (no "others" region).
  auto custom = parse_layout(R"({"regions": [{"x": 0.75, "y": 0.75, "w": 0.25, "h": 0.25, "z": 1, "peer": "alice"},
                                             {"peer": "bob"}]})");
  REQUIRE(custom);
  place(custom->changes[0].scene, live, 2, 1280, 720, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].id == 1);  // z 0 drawn first
  CHECK(out[0].rect == Rect{0, 0, 1280, 720});
  CHECK(out[1].id == 0);
  CHECK(out[1].rect == Rect{960, 540, 320, 180});
  CHECK(is_screen_track("screen"));
  CHECK(is_screen_track("ScreenShare"));
  CHECK(is_screen_track("video_screen_1"));
  CHECK_FALSE(is_screen_track("video_main"));
}
