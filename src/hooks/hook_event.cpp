#include "hooks/hook_event.h"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

namespace roomrec::hooks {

using nlohmann::ordered_json;
namespace cc = cluster_connector;

std::optional<BodyType> body_type_from_name(std::string_view name) {
  if (name == "protobuf-json" || name == "json") return BodyType::protobuf_json;
  if (name == "protobuf-binary" || name == "binary") return BodyType::protobuf_binary;
  return std::nullopt;
}

const char* body_type_name(BodyType t) {
  return t == BodyType::protobuf_json ? "protobuf-json" : "protobuf-binary";
}

const char* content_type_of(BodyType t) {
  return t == BodyType::protobuf_json ? "application/json" : "application/octet-stream";
}

namespace {

HookEvent envelope(uint32_t node, uint64_t ts) {
  HookEvent e;
  e.set_node(node);
  e.set_ts(ts);
  return e;
}

ordered_json room_json(const cc::RoomEvent& r) {
  ordered_json ev = ordered_json::object();
  switch (r.event_case()) {
    case cc::RoomEvent::kStarted: ev["Started"] = ordered_json::object(); break;
    case cc::RoomEvent::kPeerJoined: ev["PeerJoined"] = {{"peer", r.peer_joined().peer()}}; break;
    case cc::RoomEvent::kPeerLeaved: ev["PeerLeaved"] = {{"peer", r.peer_leaved().peer()}}; break;
    case cc::RoomEvent::kAllPeersLeaved: ev["AllPeersLeaved"] = ordered_json::object(); break;
    case cc::RoomEvent::kStopped: ev["Stopped"] = ordered_json::object(); break;
    case cc::RoomEvent::EVENT_NOT_SET: ev = nullptr; break;
  }
  ordered_json j;  // declaration order of the reference's proto: app, room, event
  j["app"] = r.app();
  j["room"] = r.room();
  j["event"] = ev;
  return j;
}

ordered_json record_json(const cc::RecordEvent& r) {
  ordered_json ev = ordered_json::object();
  switch (r.event_case()) {
    case cc::RecordEvent::kStarted: ev["Started"] = {{"path", r.started().path()}}; break;
    case cc::RecordEvent::kPeerJoined:
      ev["PeerJoined"] = {{"peer", r.peer_joined().peer()}, {"path", r.peer_joined().path()}};
      break;
    case cc::RecordEvent::EVENT_NOT_SET: ev = nullptr; break;
  }
  ordered_json j;
  j["app"] = r.app();
  j["room"] = r.room();
  j["event"] = ev;
  return j;
}

template <class Pauses>
ordered_json pauses_json(const Pauses& ps) {
  ordered_json a = ordered_json::array();
  for (const auto& p : ps) a.push_back({{"start", p.start()}, {"end", p.end()}});
  return a;
}

ordered_json completed_json(const cc::ComposeEvent::RecordJobCompleted& c) {
  ordered_json j = ordered_json::object();
  if (c.has_transmux()) {
    const auto& t = c.transmux();
    ordered_json peers = ordered_json::object();
    // Deterministic output: maps sorted by key.
    std::map<std::string, const cc::ComposeEvent::RecordJobCompleted::PeerSummary*> sorted_peers;
    for (const auto& [k, v] : t.peers()) sorted_peers[k] = &v;
    for (const auto& [peer, ps] : sorted_peers) {
      ordered_json sessions = ordered_json::object();
      std::map<uint64_t, const cc::ComposeEvent::RecordJobCompleted::SessionSummary*> sorted_sessions;
      for (const auto& [k, v] : ps->sessions()) sorted_sessions[k] = &v;
      for (const auto& [sid, ss] : sorted_sessions) {
        ordered_json tracks = ordered_json::object();
        std::map<std::string, const cc::ComposeEvent::RecordJobCompleted::TrackSummary*> sorted_tracks;
        for (const auto& [k, v] : ss->track()) sorted_tracks[k] = &v;
        for (const auto& [name, ts] : sorted_tracks) {
          ordered_json timeline = ordered_json::array();
          for (const auto& tl : ts->timeline()) {
            ordered_json entry = {{"path", tl.path()}, {"start", tl.start()}, {"end", tl.end()}};
            if (tl.pauses_size()) entry["pauses"] = pauses_json(tl.pauses());
            timeline.push_back(std::move(entry));
          }
          tracks[name] = {{"kind", static_cast<int>(ts->kind())}, {"timeline", timeline}};
        }
        ordered_json session = {{"track", tracks}};
        if (ss->pauses_size()) session["pauses"] = pauses_json(ss->pauses());
        sessions[std::to_string(sid)] = std::move(session);
      }
      peers[peer] = {{"sessions", sessions}};
    }
    j["transmux"] = {{"metadata_json", t.metadata_json()}, {"peers", peers}};
  } else {
    j["transmux"] = nullptr;
  }
  if (c.has_compose())
    j["compose"] = {{"media_uri", c.compose().media_uri()}, {"duration_ms", c.compose().duration_ms()}};
  else
    j["compose"] = nullptr;
  if (c.has_participants()) {  // only when made: the reference's shape otherwise
    ordered_json files = ordered_json::array();
    for (const auto& f : c.participants().files())
      files.push_back({{"path", f.path()},
                       {"uri", f.uri()},
                       {"kind", f.kind()},
                       {"peer", f.peer()},
                       {"video", f.video()},
                       {"video_reason", f.video_reason()},
                       {"duration_ms", f.duration_ms()}});
    ordered_json channels = ordered_json::array();
    for (const auto& ch : c.participants().channels()) channels.push_back(ch);
    j["participants"] = {{"files", files}, {"channels", channels}};
  }
  if (c.outputs_size() > 0) {
    ordered_json outputs = ordered_json::array();
    for (const auto& o : c.outputs())
      outputs.push_back({{"kind", o.kind()}, {"uri", o.uri()}, {"peer", o.peer()}, {"bytes", o.bytes()},
                         {"duration_ms", o.duration_ms()}, {"how", o.how()}});
    j["outputs"] = outputs;
  }
  if (c.speakers_size() > 0) {
    ordered_json speakers = ordered_json::object();
    std::map<std::string, const cc::ComposeEvent::RecordJobCompleted::PeerSpeech*> sorted;
    for (const auto& [k, v] : c.speakers()) sorted[k] = &v;
    for (const auto& [peer, speech] : sorted) {
      ordered_json spans = ordered_json::array();
      for (const auto& s : speech->spans()) spans.push_back({{"start", s.start()}, {"end", s.end()}});
      speakers[peer] = {{"spans", spans}};
    }
    j["speakers"] = speakers;
  }
  return j;
}

ordered_json compose_json(const cc::ComposeEvent& c) {
  ordered_json ev = ordered_json::object();
  switch (c.event_case()) {
    case cc::ComposeEvent::kStarted: ev["Started"] = ordered_json::object(); break;
    case cc::ComposeEvent::kFailed: ev["Failed"] = {{"error", c.failed().error()}}; break;
    case cc::ComposeEvent::kCompleted: ev["Completed"] = completed_json(c.completed()); break;
    case cc::ComposeEvent::EVENT_NOT_SET: ev = nullptr; break;
  }
  ordered_json j;
  j["app"] = c.app();
  j["job_id"] = c.job_id();
  j["event"] = ev;
  return j;
}

}  // namespace

HookEvent record_started(uint32_t node, uint64_t ts, std::string_view app, std::string_view room,
                         std::string_view path) {
  HookEvent e = envelope(node, ts);
  auto* r = e.mutable_record();
  r->set_app(std::string(app));
  r->set_room(std::string(room));
  r->mutable_started()->set_path(std::string(path));
  return e;
}

HookEvent record_peer_joined(uint32_t node, uint64_t ts, std::string_view app, std::string_view room,
                             std::string_view peer, std::string_view path) {
  HookEvent e = envelope(node, ts);
  auto* r = e.mutable_record();
  r->set_app(std::string(app));
  r->set_room(std::string(room));
  auto* p = r->mutable_peer_joined();
  p->set_peer(std::string(peer));
  p->set_path(std::string(path));
  return e;
}

HookEvent room_event(uint32_t node, uint64_t ts, std::string_view app, std::string_view room, RoomEventKind kind,
                     std::string_view peer) {
  HookEvent e = envelope(node, ts);
  auto* r = e.mutable_room();
  r->set_app(std::string(app));
  r->set_room(std::string(room));
  switch (kind) {
    case RoomEventKind::started: r->mutable_started(); break;
    case RoomEventKind::peer_joined: r->mutable_peer_joined()->set_peer(std::string(peer)); break;
    case RoomEventKind::peer_leaved: r->mutable_peer_leaved()->set_peer(std::string(peer)); break;
    case RoomEventKind::all_peers_leaved: r->mutable_all_peers_leaved(); break;
    case RoomEventKind::stopped: r->mutable_stopped(); break;
  }
  return e;
}

HookEvent compose_started(uint32_t node, uint64_t ts, std::string_view app, std::string_view job_id) {
  HookEvent e = envelope(node, ts);
  auto* c = e.mutable_compose();
  c->set_app(std::string(app));
  c->set_job_id(std::string(job_id));
  c->mutable_started();
  return e;
}

HookEvent compose_failed(uint32_t node, uint64_t ts, std::string_view app, std::string_view job_id,
                         std::string_view error) {
  HookEvent e = envelope(node, ts);
  auto* c = e.mutable_compose();
  c->set_app(std::string(app));
  c->set_job_id(std::string(job_id));
  c->mutable_failed()->set_error(std::string(error));
  return e;
}

namespace {

// summary.json's "pauses": [{"start", "end"}] (issue 18); entries of the wrong type are skipped.
template <class Out>
void fill_pauses(const nlohmann::json& in, Out add) {
  auto pauses = in.find("pauses");
  if (pauses == in.end() || !pauses->is_array()) return;
  for (const auto& p : *pauses) {
    if (!p.is_object()) continue;
    auto a = p.find("start"), b = p.find("end");
    if (a == p.end() || b == p.end() || !a->is_number_unsigned() || !b->is_number_unsigned()) continue;
    auto* out = add();
    out->set_start(a->get<uint64_t>());
    out->set_end(b->get<uint64_t>());
  }
}

// One track of summary.json -> TrackSummary; false when it is not usable.
bool fill_track(const nlohmann::json& in, cc::ComposeEvent::RecordJobCompleted::TrackSummary& out) {
  if (!in.is_object()) return false;
  auto kind = in.find("kind");
  if (kind == in.end() || !kind->is_number_unsigned() || kind->get<uint64_t>() > 1) return false;
  out.set_kind(kind->get<uint64_t>() == 1 ? cc::VIDEO : cc::AUDIO);
  auto timeline = in.find("timeline");
  if (timeline == in.end() || !timeline->is_array()) return true;
  for (const auto& span : *timeline) {
    if (!span.is_object()) continue;
    auto path = span.find("path");
    auto start = span.find("start");
    if (path == span.end() || !path->is_string() || start == span.end() || !start->is_number_unsigned()) continue;
    auto* tl = out.add_timeline();
    tl->set_path(path->get<std::string>());
    tl->set_start(start->get<uint64_t>());
    auto end = span.find("end");
    if (end != span.end() && end->is_number_unsigned()) tl->set_end(end->get<uint64_t>());
    fill_pauses(span, [tl] { return tl->add_pauses(); });
  }
  return true;
}

void fill_transmux(const std::string& summary_json, cc::ComposeEvent::RecordJobCompleted::TransmuxSummary& out) {
  auto summary = nlohmann::json::parse(summary_json, nullptr, false);
  if (!summary.is_object()) return;
  if (auto meta = summary.find("metadata_json"); meta != summary.end() && meta->is_string())
    out.set_metadata_json(meta->get<std::string>());
  auto peers = summary.find("peers");
  if (peers == summary.end() || !peers->is_object()) return;
  for (const auto& [peer, peer_json] : peers->items()) {
    auto sessions = peer_json.find("sessions");
    if (!peer_json.is_object() || sessions == peer_json.end() || !sessions->is_object()) continue;
    auto& peer_out = (*out.mutable_peers())[peer];
    for (const auto& [session_key, session_json] : sessions->items()) {
      uint64_t session = 0;
      const char* first = session_key.data();
      const char* last = first + session_key.size();
      auto [end, ec] = std::from_chars(first, last, session);
      if (ec != std::errc() || end != last) continue;
      auto tracks = session_json.is_object() ? session_json.find("track") : session_json.end();
      if (tracks == session_json.end() || !tracks->is_object()) continue;
      auto& session_out = (*peer_out.mutable_sessions())[session];
      fill_pauses(session_json, [&session_out] { return session_out.add_pauses(); });
      for (const auto& [track, track_json] : tracks->items()) {
        cc::ComposeEvent::RecordJobCompleted::TrackSummary ts;
        if (fill_track(track_json, ts)) (*session_out.mutable_track())[track] = std::move(ts);
      }
    }
  }
}

}  // namespace

namespace {

// participants.json (ParticipantsResult::to_json) -> ParticipantsSummary; entries of the wrong shape skipped.
void fill_participants(const std::string& participants_json,
                       cc::ComposeEvent::RecordJobCompleted::ParticipantsSummary& out) {
  auto j = nlohmann::json::parse(participants_json, nullptr, false);
  if (!j.is_object()) return;
  auto str = [](const nlohmann::json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto files = j.find("files"); files != j.end() && files->is_array())
    for (const auto& f : *files) {
      if (!f.is_object()) continue;
      auto* o = out.add_files();
      o->set_path(str(f, "path"));
      o->set_uri(str(f, "uri"));
      o->set_kind(str(f, "kind"));
      o->set_peer(str(f, "peer"));
      o->set_video(str(f, "video"));
      o->set_video_reason(str(f, "video_reason"));
      if (auto d = f.find("duration_ms"); d != f.end() && d->is_number_unsigned()) o->set_duration_ms(d->get<uint64_t>());
    }
  if (auto channels = j.find("channels"); channels != j.end() && channels->is_array())
    for (const auto& c : *channels)
      if (c.is_object()) out.add_channels(str(c, "peer"));
}

}  // namespace

HookEvent compose_completed(uint32_t node, uint64_t ts, std::string_view app, std::string_view job_id,
                            const std::string* transmux_summary_json, const ComposeOutput* compose,
                            const std::string* participants_json, const CompletedExtra* extra) {
  HookEvent e = envelope(node, ts);
  auto* c = e.mutable_compose();
  c->set_app(std::string(app));
  c->set_job_id(std::string(job_id));
  auto* done = c->mutable_completed();
  if (transmux_summary_json) fill_transmux(*transmux_summary_json, *done->mutable_transmux());
  if (participants_json) fill_participants(*participants_json, *done->mutable_participants());
  if (compose) {
    done->mutable_compose()->set_media_uri(compose->media_uri);
    done->mutable_compose()->set_duration_ms(compose->duration_ms);
  }
  if (extra) {
    for (const auto& o : extra->outputs) {
      auto* f = done->add_outputs();
      f->set_kind(o.kind);
      f->set_uri(o.uri);
      f->set_peer(o.peer);
      f->set_bytes(o.bytes);
      f->set_duration_ms(o.duration_ms);
      f->set_how(o.how);
    }
    if (extra->has_speakers) {
      // Each peer with audio is listed, with no spans when it never spoke; a room without any audio
      // leaves the map empty, and the JSON form then has no "speakers" key.
      for (const auto& [peer, spans] : extra->speakers) {
        auto& speech = (*done->mutable_speakers())[peer];
        for (const auto& [start, end] : spans) {
          auto* s = speech.add_spans();
          s->set_start(start);
          s->set_end(end);
        }
      }
    }
  }
  return e;
}

std::string to_json(const HookEvent& e) {
  ordered_json j;
  j["node"] = e.node();
  j["ts"] = e.ts();
  ordered_json ev = ordered_json::object();
  switch (e.event_case()) {
    case HookEvent::kRoom: ev["Room"] = room_json(e.room()); break;
    case HookEvent::kPeer: ev["Peer"] = {{"session_id", e.peer().session_id()}}; break;
    case HookEvent::kRecord: ev["Record"] = record_json(e.record()); break;
    case HookEvent::kCompose: ev["Compose"] = compose_json(e.compose()); break;
    case HookEvent::EVENT_NOT_SET: ev = nullptr; break;
  }
  j["event"] = ev;
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);  // never throws on bad UTF-8
}

EncodedHook encode(const HookEvent& e, BodyType type) {
  EncodedHook h;
  h.content_type = content_type_of(type);
  h.body = type == BodyType::protobuf_json ? to_json(e) : e.SerializeAsString();
  switch (e.event_case()) {
    case HookEvent::kRoom: h.order_key = e.room().app() + "/" + e.room().room(); break;
    case HookEvent::kRecord: h.order_key = e.record().app() + "/" + e.record().room(); break;
    case HookEvent::kCompose: h.order_key = e.compose().app() + "/job/" + e.compose().job_id(); break;
    default: break;
  }
  return h;
}

}  // namespace roomrec::hooks
