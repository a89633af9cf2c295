#include "convert/layout.h"
#include "convert/layout_check.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "util/text.h"
#include "util/utf8.h"

namespace roomrec::convert {

namespace {

using nlohmann::json;

constexpr size_t kMaxRegions = 64;
constexpr size_t kMaxChanges = 10'000;
constexpr uint64_t kMaxAtMs = 7ull * 24 * 3600 * 1000;
constexpr const char* kNames = "grid, speaker, single-speaker or presentation";

Status invalid(std::string m) { return Status::error(ErrorCode::invalid_argument, std::move(m)); }

uint32_t even_down(double v) { return static_cast<uint32_t>(std::max(0.0, v)) & ~1u; }

bool builtin(std::string_view name, SceneKind& kind) {
  if (name == "grid") kind = SceneKind::grid;
  else if (name == "speaker") kind = SceneKind::speaker;
  else if (name == "single-speaker") kind = SceneKind::single_speaker;
  else if (name == "presentation") kind = SceneKind::presentation;
  else return false;
  return true;
}

Status check_fields(const json& o, const std::string& where, std::initializer_list<const char*> known) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return invalid(where + " has an unknown field \"" + util::printable_text(it.key(), 64) + "\"");
  }
  return Status::ok();
}

Status fraction(const json& r, const char* key, double def, const std::string& where, double& out) {
  auto it = r.find(key);
  if (it == r.end()) {
    out = def;
    return Status::ok();
  }
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0 || it->get<double>() > 1)
    return invalid(where + "." + key + " must be a number from 0 to 1 (a fraction of the frame)");
  out = it->get<double>();
  return Status::ok();
}

Status parse_region(const json& r, const std::string& where, Region& out) {
  if (!r.is_object()) return invalid(where + " must be an object");
  if (Status s = check_fields(r, where, {"x", "y", "w", "h", "z", "role", "peer"}); !s) return s;
  for (auto [key, def, dst] : {std::tuple{"x", 0.0, &out.x}, std::tuple{"y", 0.0, &out.y},
                               std::tuple{"w", 1.0, &out.w}, std::tuple{"h", 1.0, &out.h}})
    if (Status s = fraction(r, key, def, where, *dst); !s) return s;
  if (out.w <= 0 || out.h <= 0) return invalid(where + ".w and " + where + ".h must be more than 0");
  if (out.x + out.w > 1 + 1e-9) return invalid(where + ".x + " + where + ".w must be at most 1");
  if (out.y + out.h > 1 + 1e-9) return invalid(where + ".y + " + where + ".h must be at most 1");
  if (auto z = r.find("z"); z != r.end()) {
    if (!z->is_number_integer() || z->get<int64_t>() < -100 || z->get<int64_t>() > 100)
      return invalid(where + ".z must be an integer from -100 to 100");
    out.z = static_cast<int>(z->get<int64_t>());
  }
  auto role = r.find("role");
  auto peer = r.find("peer");
  if ((role == r.end()) == (peer == r.end()))
    return invalid(where + " needs either \"role\" (speaker, screen or others) or \"peer\" (a peer id)");
  if (peer != r.end()) {
    if (!peer->is_string() || peer->get<std::string>().empty())
      return invalid(where + ".peer must be a peer id (a non-empty string)");
    out.role = Role::peer;
    out.peer = peer->get<std::string>();
    return Status::ok();
  }
  std::string v = role->is_string() ? role->get<std::string>() : "";
  if (v == "speaker") out.role = Role::speaker;
  else if (v == "screen") out.role = Role::screen;
  else if (v == "others") out.role = Role::others;
  else return invalid(where + ".role must be speaker, screen or others");
  return Status::ok();
}

// A scene: {"layout": NAME} or {"regions": [...]} inside `o` (the top or a change).
Status parse_scene(const json& o, const std::string& where, Scene& out) {
  auto name = o.find("layout");
  auto regions = o.find("regions");
  if ((name == o.end()) == (regions == o.end()))
    return invalid(where + " needs either \"regions\" (a list of regions) or \"layout\" (" + kNames + ")");
  if (name != o.end()) {
    if (!name->is_string() || !builtin(name->get<std::string>(), out.kind))
      return invalid(where + ".layout must be " + kNames);
    return Status::ok();
  }
  if (!regions->is_array() || regions->empty() || regions->size() > kMaxRegions)
    return invalid(where + ".regions must be a list of 1 to " + std::to_string(kMaxRegions) + " regions");
  out.kind = SceneKind::custom;
  for (size_t i = 0; i < regions->size(); ++i) {
    Region r;
    if (Status s = parse_region((*regions)[i], where + ".regions[" + std::to_string(i) + "]", r); !s) return s;
    out.regions.push_back(std::move(r));
  }
  return Status::ok();
}

// Seconds (a number) or "[h:]mm:ss[.fff]" / "ss[.fff]".
bool parse_at(const json& v, uint64_t& ms) {
  double sec = -1;
  if (v.is_number()) {
    sec = v.get<double>();
  } else if (v.is_string()) {
    std::string s = v.get<std::string>();
    std::vector<std::string> parts;
    size_t from = 0;
    for (;;) {
      size_t c = s.find(':', from);
      parts.push_back(s.substr(from, c == std::string::npos ? std::string::npos : c - from));
      if (c == std::string::npos) break;
      from = c + 1;
    }
    if (parts.size() > 3) return false;
    sec = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& p = parts[i];
      bool last = i + 1 == parts.size();
      if (p.empty() || p.size() > 12) return false;
      size_t dots = 0;
      for (char ch : p) {
        if (ch == '.') ++dots;
        else if (ch < '0' || ch > '9') return false;
      }
      if (dots > (last ? 1u : 0u) || p.front() == '.' || p.back() == '.') return false;
      double x = std::stod(p);
      if (i > 0 && x >= 60) return false;  // minutes and seconds after the first field
      sec = sec * 60 + x;
    }
  } else {
    return false;
  }
  if (!std::isfinite(sec) || sec < 0 || sec * 1000 > static_cast<double>(kMaxAtMs)) return false;
  ms = static_cast<uint64_t>(std::llround(sec * 1000));
  return true;
}

// The tiles of an "others" region: n tiles of 16:9, as large as fit, the block centred.
void tiles(const Rect& r, size_t n, std::vector<Rect>& out) {
  out.clear();
  if (n == 0 || r.w < 2 || r.h < 2) return;
  size_t best_cols = 1;
  double best = -1;
  for (size_t cols = 1; cols <= n; ++cols) {
    size_t rows = (n + cols - 1) / cols;
    double tw = static_cast<double>(r.w) / cols, th = static_cast<double>(r.h) / rows;
    double scale = std::min(tw / 16, th / 9);
    if (scale > best + 1e-9) {
      best = scale;
      best_cols = cols;
    }
  }
  const size_t cols = best_cols, rows = (n + cols - 1) / cols;
  uint32_t tw = std::max(2u, even_down(std::min(best * 16, static_cast<double>(r.w) / cols)));
  uint32_t th = std::max(2u, even_down(std::min(best * 9, static_cast<double>(r.h) / rows)));
  const size_t used_cols = std::min(cols, n);
  uint32_t bx = r.x + even_down((r.w - std::min<uint32_t>(r.w, static_cast<uint32_t>(used_cols * tw))) / 2.0);
  uint32_t by = r.y + even_down((r.h - std::min<uint32_t>(r.h, static_cast<uint32_t>(rows * th))) / 2.0);
  for (size_t i = 0; i < n; ++i)
    out.push_back({bx + static_cast<uint32_t>(i % cols) * tw, by + static_cast<uint32_t>(i / cols) * th, tw, th});
}

Rect to_pixels(const Region& g, uint32_t width, uint32_t height) {
  auto edge = [](double f, uint32_t size) { return f >= 1 - 1e-9 ? size : std::min(size, even_down(f * size)); };
  uint32_t x0 = edge(g.x, width), x1 = edge(g.x + g.w, width), y0 = edge(g.y, height), y1 = edge(g.y + g.h, height);
  return {x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
}

Region region(double x, double y, double w, double h, Role role) {
  Region r;
  r.x = x;
  r.y = y;
  r.w = w;
  r.h = h;
  r.role = role;
  return r;
}

constexpr double kMain = 0.8;  // the large region's share of the width in the built-in layouts

}  // namespace

bool LayoutPlan::needs_speaker() const {
  for (auto& c : changes) {
    if (c.scene.kind == SceneKind::speaker || c.scene.kind == SceneKind::single_speaker ||
        c.scene.kind == SceneKind::presentation)
      return true;
    for (auto& r : c.scene.regions)
      if (r.role == Role::speaker) return true;
  }
  return false;
}

bool LayoutPlan::grid_only() const {
  return std::all_of(changes.begin(), changes.end(), [](const Change& c) { return c.scene.kind == SceneKind::grid; });
}

const Scene& LayoutPlan::at(uint64_t rel_ms) const {
  static const Scene grid;
  // The last change at or before rel_ms (changes ascend; up to 10,000 of them, looked up every frame).
  auto it = std::upper_bound(changes.begin(), changes.end(), rel_ms,
                             [](uint64_t t, const Change& c) { return t < c.at_ms; });
  return it == changes.begin() ? grid : std::prev(it)->scene;
}

Result<LayoutPlan> parse_layout(std::string_view text) {
  LayoutPlan plan;
  LayoutPlan::Change first;
  size_t lead = text.find_first_not_of(" \t\r\n");
  if (lead == std::string_view::npos || text[lead] != '{') {
    if (!builtin(text, first.scene.kind))
      return invalid(std::string("compose.layout must be ") + kNames + ", or a JSON layout ({\"regions\": [...]})");
    plan.changes.push_back(std::move(first));
    return plan;
  }
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return invalid("compose.layout is not valid JSON (a custom layout is an object: {\"regions\": [...]})");
  if (Status s = check_fields(j, "compose.layout", {"layout", "regions", "changes"}); !s) return s;
  if (Status s = parse_scene(j, "compose.layout", first.scene); !s) return s;
  plan.changes.push_back(std::move(first));
  if (auto ch = j.find("changes"); ch != j.end()) {
    if (!ch->is_array() || ch->size() > kMaxChanges)
      return invalid("compose.layout.changes must be a list of at most " + std::to_string(kMaxChanges) + " changes");
    for (size_t i = 0; i < ch->size(); ++i) {
      const json& c = (*ch)[i];
      std::string where = "compose.layout.changes[" + std::to_string(i) + "]";
      if (!c.is_object()) return invalid(where + " must be an object");
      if (Status s = check_fields(c, where, {"at", "layout", "regions"}); !s) return s;
      LayoutPlan::Change change;
      auto at = c.find("at");
      if (at == c.end() || !parse_at(*at, change.at_ms))
        return invalid(where + ".at must be the time from the start: seconds, or \"[h:]mm:ss[.fff]\"");
      if (change.at_ms < plan.changes.back().at_ms)
        return invalid(where + ".at is before the change above it (changes are in time order)");
      if (Status s = parse_scene(c, where, change.scene); !s) return s;
      plan.changes.push_back(std::move(change));
    }
  }
  return plan;
}

bool is_screen_track(std::string_view name) { return util::ascii_lowercase(name).find("screen") != std::string::npos; }

std::vector<SpeakerTurn> speaker_turns(const std::vector<PeerSpeech>& peers, uint64_t start_ms, uint64_t hold_ms,
                                       uint64_t lead_ms) {
  // Each peer's spans, moved lead_ms earlier at their start, merged where they now touch.
  std::vector<std::vector<SpeakingSpan>> spans(peers.size());
  std::set<uint64_t> times;
  for (size_t p = 0; p < peers.size(); ++p)
    for (auto s : peers[p].spans) {
      if (s.end_ms <= start_ms) continue;
      s.start_ms = std::max(start_ms, s.start_ms > lead_ms ? s.start_ms - lead_ms : 0);
      if (!spans[p].empty() && s.start_ms <= spans[p].back().end_ms) {
        spans[p].back().end_ms = std::max(spans[p].back().end_ms, s.end_ms);
      } else {
        spans[p].push_back(s);
      }
    }
  for (auto& v : spans)
    for (auto& s : v) {  // the speaking set changes only here
      times.insert(s.start_ms);
      times.insert(s.end_ms);
    }
  // The span of p around t (its start), or none.
  auto speaking = [&](size_t p, uint64_t t, uint64_t& since) {
    auto& v = spans[p];
    auto it = std::upper_bound(v.begin(), v.end(), t, [](uint64_t x, const SpeakingSpan& s) { return x < s.start_ms; });
    if (it == v.begin()) return false;
    --it;
    if (t >= it->end_ms) return false;
    since = it->start_ms;
    return true;
  };
  std::vector<SpeakerTurn> turns;
  size_t cur = SIZE_MAX;
  uint64_t last_switch = 0;
  for (auto it = times.begin(); it != times.end(); ++it) {
    const uint64_t t = *it;
    uint64_t since = 0;
    if (cur != SIZE_MAX && speaking(cur, t, since)) continue;
    size_t best = SIZE_MAX;
    uint64_t best_since = UINT64_MAX;
    for (size_t p = 0; p < peers.size(); ++p)
      if (p != cur && speaking(p, t, since) && since < best_since) {
        best = p;
        best_since = since;
      }
    if (best == SIZE_MAX) continue;  // nobody else speaks: the speaker stays
    if (cur == SIZE_MAX) {
      turns.push_back({start_ms, peers[best].peer});
    } else if (t < last_switch + hold_ms) {
      times.insert(last_switch + hold_ms);  // look again when the hold is over
      continue;
    } else {
      turns.push_back({t, peers[best].peer});
    }
    cur = best;
    last_switch = t;
  }
  return turns;
}

void place(const Scene& scene, const std::vector<LiveSource>& live, int speaker, uint32_t width, uint32_t height,
           std::vector<Placement>& out) {
  out.clear();
  std::vector<Region> builtins;
  const std::vector<Region>* regions = &scene.regions;
  bool any_screen = std::any_of(live.begin(), live.end(), [](const LiveSource& s) { return s.screen; });
  SceneKind kind = scene.kind;
  if (kind == SceneKind::presentation && !any_screen) kind = SceneKind::speaker;
  switch (kind) {
    case SceneKind::grid:  // the compositor's own; here as tiles over the whole frame
      builtins.push_back(region(0, 0, 1, 1, Role::others));
      regions = &builtins;
      break;
    case SceneKind::single_speaker:
      builtins.push_back(region(0, 0, 1, 1, Role::speaker));
      regions = &builtins;
      break;
    case SceneKind::speaker:
    case SceneKind::presentation: {
      Role main = kind == SceneKind::speaker ? Role::speaker : Role::screen;
      if (live.size() <= 1) {
        builtins.push_back(region(0, 0, 1, 1, main));
      } else {
        builtins.push_back(region(0, 0, kMain, 1, main));
        builtins.push_back(region(kMain, 0, 1 - kMain, 1, Role::others));
      }
      regions = &builtins;
      break;
    }
    case SceneKind::custom:
      break;
  }
  std::vector<bool> used(live.size(), false);
  auto put = [&](size_t i, const Region& g) {
    used[i] = true;
    out.push_back({live[i].id, to_pixels(g, width, height), g.z});
  };
  for (Role role : {Role::peer, Role::screen, Role::speaker, Role::others}) {
    for (const Region& g : *regions) {
      if (g.role != role) continue;
      if (role == Role::peer) {
        // The peer's newest camera, else its newest screen share.
        size_t pick = SIZE_MAX;
        for (size_t i = 0; i < live.size(); ++i)
          if (!used[i] && live[i].peer == g.peer && (pick == SIZE_MAX || !live[i].screen || live[pick].screen))
            pick = i;
        if (pick != SIZE_MAX) put(pick, g);
      } else if (role == Role::screen) {
        for (size_t i = live.size(); i-- > 0;)
          if (!used[i] && live[i].screen) {
            put(i, g);
            break;
          }
      } else if (role == Role::speaker) {
        for (size_t i = 0; i < live.size(); ++i)
          if (!used[i] && speaker >= 0 && live[i].id == static_cast<uint32_t>(speaker)) {
            put(i, g);
            break;
          }
      } else {
        std::vector<size_t> rest;
        for (size_t i = 0; i < live.size(); ++i)
          if (!used[i]) rest.push_back(i);
        std::vector<Rect> cells;
        tiles(to_pixels(g, width, height), rest.size(), cells);
        for (size_t k = 0; k < rest.size() && k < cells.size(); ++k) {
          used[rest[k]] = true;
          out.push_back({live[rest[k]].id, cells[k], g.z});
        }
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Placement& a, const Placement& b) { return a.z < b.z; });
}

}  // namespace roomrec::convert

namespace roomrec {

Status check_layout(std::string_view layout) {
  auto plan = convert::parse_layout(layout);
  return plan ? Status::ok() : plan.status();
}

}  // namespace roomrec
