// HookSender: hook events POSTed to one endpoint from one thread of its own,
// in order (a room's events keep their order), each retried with exponential
// back-off until delivered (or max_attempts). The queue is bounded: an event
// that does not fit is refused (resource_exhausted), never blocking the caller.
//
// RecordingService makes one for its Record events (RecordingServiceConfig::
// hooks). A host sending events of its own — Room events when peers join and
// leave, or any JSON body — makes its own:
//
//   roomrec::HookConfig hc;
//   hc.url = "http://hooks.example/roomrec";
//   auto sender = roomrec::HookSender::create(hc);
//   if (!sender) ...;
//   (*sender)->room_event(roomrec::RoomHookKind::peer_joined, "app", "room1", "alice");
//   (*sender)->flush(5000);
//
// Events are encoded as the reference media server's cluster_connector.HookEvent
// ("protobuf-json" or "protobuf-binary"; see interfaces.md).
#pragma once

#include <roomrec/export.h>
#include <roomrec/s3_upload.h>
#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roomrec {

enum class HookBodyType { protobuf_json, protobuf_binary };

struct HookConfig {
  std::string url;                                            // http:// or https://
  HookBodyType body_type = HookBodyType::protobuf_json;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  uint32_t node = 0;                                          // the node id carried in events
  size_t queue_capacity = 10'000;                             // 1..10,000,000
  uint64_t retry_initial_ms = 500;                            // 0 < retry_initial_ms <= retry_max_ms
  uint64_t retry_max_ms = 30'000;
  uint32_t max_attempts = 0;                                  // 0: until delivered
  uint64_t request_timeout_ms = 10'000;                       // > 0
};

// The checks HookSender::create and RecordingService::create make ("hooks.url
// must be an http:// or https:// URL", ...).
ROOMREC_API Status validate(const HookConfig& config);

// RoomEvent kinds of the reference's HookEvent (peer_leaved is its spelling).
enum class RoomHookKind { started, peer_joined, peer_leaved, all_peers_leaved, stopped };

struct HookSenderStats {
  uint64_t queued = 0, sent = 0, failed_attempts = 0, dropped = 0, given_up = 0;
  size_t pending = 0;
};

class HookSender {
 public:
  // invalid_argument on a bad configuration (validate()).
  ROOMREC_API static Result<std::unique_ptr<HookSender>> create(const HookConfig& config);
  // Stops; events still queued are dropped (counted).
  ROOMREC_API ~HookSender();
  HookSender(const HookSender&) = delete;
  HookSender& operator=(const HookSender&) = delete;

  // A Record event; path is "{prefix}/{app}/{room}/{record_id}" for started and
  // ".../{peer}/{session_id}" for peer_joined (which needs a peer). ts_ms 0: now.
  ROOMREC_API Status record_event(RecordHookKind kind, std::string_view app, std::string_view room,
                                  std::string_view peer, std::string_view path, uint64_t ts_ms = 0);
  // A Room event; peer_joined and peer_leaved need a peer. ts_ms 0: now.
  ROOMREC_API Status room_event(RoomHookKind kind, std::string_view app, std::string_view room,
                                std::string_view peer = {}, uint64_t ts_ms = 0);
  // A body of the host's own, sent as it is (application/json); it must parse as JSON.
  ROOMREC_API Status send_json(std::string body);
  // Waits until every queued event is delivered or given up: true, or false at the timeout.
  ROOMREC_API bool flush(uint64_t timeout_ms);
  ROOMREC_API HookSenderStats stats() const;
  ROOMREC_API const HookConfig& config() const;

 private:
  struct Impl;
  explicit HookSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roomrec
