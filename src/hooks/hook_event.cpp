#include "hooks/hook_event.h"

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
          for (const auto& tl : ts->timeline())
            timeline.push_back({{"path", tl.path()}, {"start", tl.start()}, {"end", tl.end()}});
          tracks[name] = {{"kind", static_cast<int>(ts->kind())}, {"timeline", timeline}};
        }
        sessions[std::to_string(sid)] = {{"track", tracks}};
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
  return j.dump();
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
