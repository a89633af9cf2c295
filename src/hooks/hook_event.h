// Hook events, built as the reference media server's cluster_connector.HookEvent
// and encoded either as "protobuf-json" (the reference's JSON shape: every oneof
// an object keyed by its variant's name) or as "protobuf-binary".
#pragma once

#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <utility>
#include <vector>
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

// What a finished compose made: ComposeSummary{media_uri, duration_ms}.
struct ComposeOutput {
  std::string media_uri;
  uint64_t duration_ms = 0;
};

// Compose Completed. `transmux_summary_json` is the transmuxer's summary.json
// (null when the job had no transmux): its metadata_json and its
// peers -> sessions -> track -> {kind, timeline[{path, start, end}]} fill
// TransmuxSummary; every other field of ours is left out, and an entry of the
// wrong type is skipped (so the event is always built). `compose` is null when
// the job had no compose. An absent part is JSON null in protobuf-json.
//
// `extra` (may be null) adds what the reference's event has no field for, as
// "outputs" and "speakers" after "compose" (and "participants"): outputs only when there are any,
// speakers only when `has_speakers` (a job that asked for them) and some peer
// had audio (a silent peer is listed with no spans). Without them the event
// is exactly the reference's.
struct OutputFile {
  std::string kind, uri, peer;
  uint64_t bytes = 0, duration_ms = 0;
  std::string how;  // "remuxed", "reencoded" or empty
};
struct CompletedExtra {
  std::vector<OutputFile> outputs;
  bool has_speakers = false;
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> speakers;  // peer -> [start, end) unix ms
};
// participants_json: ParticipantsResult::to_json() when the job made participant files (then the
// Completed event lists them under "participants"; otherwise the event keeps the reference's shape).
HookEvent compose_completed(uint32_t node, uint64_t ts, std::string_view app, std::string_view job_id,
                            const std::string* transmux_summary_json, const ComposeOutput* compose,
                            const std::string* participants_json = nullptr, const CompletedExtra* extra = nullptr);

// The reference's JSON for an event (fields in declaration order, 64-bit
// integers as numbers, map keys as strings, enums as numbers).
std::string to_json(const HookEvent& e);

EncodedHook encode(const HookEvent& e, BodyType type);

}  // namespace roomrec::hooks
