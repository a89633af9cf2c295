// RoomSelection: a RecordingSource that reads only the peers and tracks selected (issue 18, consent).
#include <roomrec/recording_source.h>

#include <algorithm>
#include <set>
#include <utility>

#include "read/row_stream.h"

namespace roomrec {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The rows of one chunk without those of excluded tracks.
class SelectedRows final : public RowStream {
 public:
  SelectedRows(std::unique_ptr<RowStream> inner, const RoomSelection& sel, std::string peer)
      : inner_(std::move(inner)), sel_(sel), peer_(std::move(peer)) {}

  const ChunkHeader* read_header() override {
    const ChunkHeader* h = inner_->read_header();
    if (!h) return nullptr;
    header_ = *h;
    std::vector<OpenTrack> kept;
    for (auto& t : header_.tracks) {
      if (sel_.track_selected(peer_, t.info.name)) kept.push_back(std::move(t));
      else excluded_.insert(t.track_id);
    }
    header_.tracks = std::move(kept);
    return &header_;
  }

  bool next(Row& row) override {
    while (inner_->next(row)) {
      switch (row.kind) {
        case RowKind::track_started:
          if (!sel_.track_selected(peer_, row.track.name)) {
            excluded_.insert(row.track_id);
            continue;
          }
          excluded_.erase(row.track_id);
          return true;
        case RowKind::rtp:
        case RowKind::track_stopped:
          if (excluded_.count(row.track_id)) continue;
          return true;
        case RowKind::pause:
        case RowKind::resume:
          if (row.track_id != 0 && excluded_.count(row.track_id)) continue;
          return true;
        default:
          return true;
      }
    }
    return false;
  }

  const ChunkReadStats& stats() const override { return inner_->stats(); }

 private:
  std::unique_ptr<RowStream> inner_;
  const RoomSelection& sel_;
  std::string peer_;
  ChunkHeader header_;
  std::set<uint32_t> excluded_;
};

class SelectedSource final : public RecordingSource, public RowStreamProvider {
 public:
  SelectedSource(RecordingSource& inner, RoomSelection sel) : inner_(inner), sel_(std::move(sel)) {}

  Result<RoomListing> list() override {
    auto listing = inner_.list();
    if (!listing) return listing;
    RoomListing out = std::move(listing.value());
    std::vector<std::string> left_out;  // "peer/session" of the sessions not selected
    std::vector<SessionRef> kept;
    for (auto& s : out.sessions) {
      if (sel_.peer_selected(s.peer)) kept.push_back(std::move(s));
      else left_out.push_back(s.peer + "/" + std::to_string(s.session));
    }
    out.sessions = std::move(kept);
    // A problem that names a session left out would name its peer: not said.
    std::vector<std::string> problems;
    for (auto& p : out.problems) {
      bool names = false;
      for (const auto& l : left_out) names = names || p.find(l) != std::string::npos;
      for (const auto& peer : sel_.exclude_peers) names = names || p.find("/" + peer + "/") != std::string::npos;
      if (!names) problems.push_back(std::move(p));
    }
    out.problems = std::move(problems);
    for (const auto& peer : sel_.include_peers) {
      bool found = false;
      for (const auto& s : out.sessions) found = found || s.peer == peer;
      if (!found) out.problems.push_back("selection: peer \"" + peer + "\" is not in the recording");
    }
    if (out.sessions.empty())
      return Status::error(ErrorCode::invalid_argument, "the selection leaves no peer of " + inner_.describe());
    return out;
  }

  Result<std::unique_ptr<ByteSource>> open(const ChunkRef& c) override {
    if (!sel_.peer_selected(c.key.peer)) return Status::error(ErrorCode::not_found, "chunk not selected");
    return inner_.open(c);
  }

  Result<std::unique_ptr<RowStream>> open_rows(const ChunkRef& c) override {
    if (!sel_.peer_selected(c.key.peer)) return Status::error(ErrorCode::not_found, "chunk not selected");
    auto rows = roomrec::open_rows(inner_, c);
    if (!rows) return rows;
    if (sel_.exclude_tracks.empty()) return rows;
    return std::unique_ptr<RowStream>(std::make_unique<SelectedRows>(std::move(rows.value()), sel_, c.key.peer));
  }

  std::string describe() const override { return inner_.describe(); }
  std::vector<std::string> chunk_problems(const ChunkRef& c) override { return inner_.chunk_problems(c); }

 private:
  RecordingSource& inner_;
  const RoomSelection sel_;
};

Status bad(std::string m) { return Status::error(ErrorCode::invalid_argument, std::move(m)); }

}  // namespace

bool RoomSelection::peer_selected(std::string_view peer) const {
  if (contains(exclude_peers, peer)) return false;
  return include_peers.empty() || contains(include_peers, peer);
}

bool RoomSelection::track_selected(std::string_view peer, std::string_view track) const {
  if (!peer_selected(peer)) return false;
  for (const auto& e : exclude_tracks) {
    auto slash = e.rfind('/');
    if (slash == std::string::npos) {
      if (e == track) return false;
    } else if (std::string_view(e).substr(0, slash) == peer && std::string_view(e).substr(slash + 1) == track) {
      return false;
    }
  }
  return true;
}

Status validate(const RoomSelection& s) {
  auto names = [](const std::vector<std::string>& v, const char* field) -> Status {
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string at = std::string("selection.") + field + "[" + std::to_string(i) + "]";
      if (v[i].empty()) return bad(at + " is empty");
      if (v[i].size() > 1024) return bad(at + " is longer than 1024 bytes");
      for (size_t j = 0; j < i; ++j)
        if (v[j] == v[i]) return bad(at + " repeats \"" + v[i] + "\"");
    }
    if (v.size() > 10000) return bad(std::string("selection.") + field + " has more than 10000 names");
    return Status::ok();
  };
  if (Status st = names(s.include_peers, "include_peers"); !st) return st;
  if (Status st = names(s.exclude_peers, "exclude_peers"); !st) return st;
  if (Status st = names(s.exclude_tracks, "exclude_tracks"); !st) return st;
  for (const auto& p : s.include_peers)
    if (contains(s.exclude_peers, p))
      return bad("selection: peer \"" + p + "\" is both in include_peers and in exclude_peers");
  for (size_t i = 0; i < s.exclude_tracks.size(); ++i) {
    const std::string& e = s.exclude_tracks[i];
    auto slash = e.rfind('/');
    const std::string at = "selection.exclude_tracks[" + std::to_string(i) + "]";
    if (slash != std::string::npos && (slash == 0 || slash + 1 == e.size()))
      return bad(at + " must be \"peer/track\" or \"track\", got \"" + e + "\"");
    if (slash != std::string::npos) {
      std::string peer = e.substr(0, slash);
      if (!s.peer_selected(peer))
        return bad(at + " names a track of \"" + peer + "\", a peer the selection leaves out already");
    }
  }
  return Status::ok();
}

std::unique_ptr<RecordingSource> select_from(RecordingSource& inner, RoomSelection selection) {
  return std::make_unique<SelectedSource>(inner, std::move(selection));
}

}  // namespace roomrec
