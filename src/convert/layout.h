// Layouts of the composed video: which source goes where, at each output time.
//
// compose.layout is a name or a JSON layout:
//   "grid"            every live camera in an adaptive grid (VideoCompositor's own)
//   "speaker"         the active speaker large (left 80 %), the others in a strip on
//                     the right; alone, the speaker fills the frame
//   "single-speaker"  only the active speaker, full frame
//   "presentation"    a live screen share large (left 80 %), every camera in the
//                     strip; without a screen share, as "speaker"
//   {"regions": [...], "changes": [...]}   a custom layout (below)
//
// A screen share is a video track whose name contains "screen" (any case:
// "screen", "screen_share", "ScreenShare"); it is the kind the host records.
//
// Custom layout JSON:
//   {"regions": [{"x": 0, "y": 0, "w": 0.75, "h": 1, "z": 0, "role": "screen"},
//                {"x": 0.75, "y": 0, "w": 0.25, "h": 1, "role": "others"},
//                {"x": 0.02, "y": 0.7, "w": 0.2, "h": 0.28, "z": 1, "peer": "alice"}],
//    "changes": [{"at": "10:02", "layout": "presentation"},
//                {"at": 900, "regions": [...]}]}
// Instead of "regions" the start may name a built-in "layout". x, y, w, h are
// fractions of the frame (x + w <= 1, y + h <= 1, w and h > 0); z orders
// overlapping regions (higher on top, default 0). A region shows "peer": that
// peer's camera; or "role": "speaker" (the active speaker's camera), "screen"
// (the newest live screen share), "others" (every live source not shown in
// another region, in order of arrival, as a grid of 16:9 tiles centred in the
// region). Peers are placed first, then screen, then speaker, then others.
// A region with nothing to show stays black. changes[].at is the time from
// the recording's start: seconds (a number) or "[h:]mm:ss[.fff]"; changes are
// in time order and each replaces the whole layout from then on.
#pragma once

#include <roomrec/speakers.h>
#include <roomrec/status.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec::convert {

struct Rect {
  uint32_t x = 0, y = 0, w = 0, h = 0;
  bool operator==(const Rect&) const = default;
};

enum class Role { peer, speaker, screen, others };

struct Region {
  double x = 0, y = 0, w = 1, h = 1;
  int z = 0;
  Role role = Role::speaker;
  std::string peer;  // Role::peer
};

enum class SceneKind { grid, speaker, single_speaker, presentation, custom };

struct Scene {
  SceneKind kind = SceneKind::grid;
  std::vector<Region> regions;  // custom
};

struct LayoutPlan {
  struct Change {
    uint64_t at_ms = 0;  // from the recording's start
    Scene scene;
  };
  std::vector<Change> changes;  // the first at 0, ascending
  // Whether some scene follows the active speaker (then detect_speakers() runs first).
  bool needs_speaker() const;
  bool grid_only() const;
  // The scene shown at `rel_ms` from the start.
  const Scene& at(uint64_t rel_ms) const;
};

// Parses compose.layout (a name or JSON text); errors name the JSON field
// ("compose.layout.regions[1].w must be ...").
Result<LayoutPlan> parse_layout(std::string_view layout);

// A screen share, by track name.
bool is_screen_track(std::string_view track_name);

// Who the layout shows as the active speaker, from `from_ms` on (unix ms).
struct SpeakerTurn {
  uint64_t from_ms = 0;
  std::string peer;
};

// The active speaker over the recording, from every peer's speaking spans:
// a span counts from lead_ms before its start (the switch comes a little
// ahead of the voice); the speaker stays while speaking and while nobody
// speaks; when it has stopped and others speak, the one speaking longest
// takes over; two turns are at least hold_ms apart (a switch that comes too
// soon waits, and is dropped if nobody else speaks by then). The first turn
// is at `start_ms` with the first peer to speak. Empty: nobody speaks.
std::vector<SpeakerTurn> speaker_turns(const std::vector<PeerSpeech>& peers, uint64_t start_ms, uint64_t hold_ms,
                                       uint64_t lead_ms);

// One live source as place() sees it.
struct LiveSource {
  uint32_t id = 0;
  std::string_view peer;
  bool screen = false;
};

struct Placement {
  uint32_t id = 0;
  Rect rect;
  int z = 0;
};

// Where each live source goes in a non-grid scene (in arrival order; `speaker`:
// the id of the active speaker's camera, or -1). Sources not placed are not
// shown. Rectangles are even-aligned within width x height.
void place(const Scene& scene, const std::vector<LiveSource>& live, int speaker, uint32_t width, uint32_t height,
           std::vector<Placement>& out);

}  // namespace roomrec::convert
