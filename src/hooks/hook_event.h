// Hook events, built as the reference media server's cluster_connector.HookEvent
// and encoded either as "protobuf-json" (the reference's JSON shape: every oneof
// an object keyed by its variant's name) or as "protobuf-binary".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hook.pb.h"

namespace roomrec::hooks {

enum class BodyType { protobuf_json, protobuf_binary };

// "protobuf-json" | "protobuf-binary"
std::optional<BodyType> body_type_from_name(std::string_view name);
const char* body_type_name(BodyType t);
const char* content_type_of(BodyType t);

// An event ready to POST. `order_key` groups events whose order must be kept
// (app/room for room and record events, app/job for compose events).
struct EncodedHook {
  std::string body;
  std::string content_type;
  std::string order_key;
};

using cluster_connector::HookEvent;

HookEvent record_started(uint32_t node, uint64_t ts, std::string_view app, std::string_view room,
                         std::string_view path);
HookEvent record_peer_joined(uint32_t node, uint64_t ts, std::string_view app, std::string_view room,
                             std::string_view peer, std::string_view path);

enum class RoomEventKind { started, peer_joined, peer_leaved, all_peers_leaved, stopped };
HookEvent room_event(uint32_t node, uint64_t ts, std::string_view app, std::string_view room, RoomEventKind kind,
                     std::string_view peer = {});

HookEvent compose_started(uint32_t node, uint64_t ts, std::string_view app, std::string_view job_id);
HookEvent compose_failed(uint32_t node, uint64_t ts, std::string_view app, std::string_view job_id,
                         std::string_view error);

// The reference's JSON for an event (fields in declaration order, 64-bit
// integers as numbers, map keys as strings, enums as numbers).
std::string to_json(const HookEvent& e);

EncodedHook encode(const HookEvent& e, BodyType type);

}  // namespace roomrec::hooks
