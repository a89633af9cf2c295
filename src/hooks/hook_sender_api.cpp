// roomrec::HookSender (include/roomrec/hook_sender.h): the public sender over
// hooks::HookSender, with the one check of a HookConfig.
#include <roomrec/clock.h>
#include <roomrec/hook_sender.h>

#include <nlohmann/json.hpp>

#include "hooks/hook_event.h"
#include "hooks/hook_sender.h"
#include "util/text.h"

namespace roomrec {
namespace {
static_assert(static_cast<int>(RoomHookKind::started) == static_cast<int>(hooks::RoomEventKind::started) &&
              static_cast<int>(RoomHookKind::peer_joined) == static_cast<int>(hooks::RoomEventKind::peer_joined) &&
              static_cast<int>(RoomHookKind::peer_leaved) == static_cast<int>(hooks::RoomEventKind::peer_leaved) &&
              static_cast<int>(RoomHookKind::all_peers_leaved) ==
                  static_cast<int>(hooks::RoomEventKind::all_peers_leaved) &&
              static_cast<int>(RoomHookKind::stopped) == static_cast<int>(hooks::RoomEventKind::stopped));

Status invalid(std::string message) { return Status::error(ErrorCode::invalid_argument, std::move(message)); }
}  // namespace

Status validate(const HookConfig& h) {
  if (!util::is_http_uri(h.url)) return invalid("hooks.url must be an http:// or https:// URL");
  if (h.queue_capacity == 0 || h.queue_capacity > 10'000'000) return invalid("hooks.queue_capacity must be 1..10000000");
  if (h.request_timeout_ms == 0) return invalid("hooks.request_timeout_ms must be positive");
  if (h.retry_initial_ms == 0 || h.retry_max_ms < h.retry_initial_ms)
    return invalid("hooks: need 0 < retry_initial_ms <= retry_max_ms");
  return Status::ok();
}

struct ROOMREC_HIDDEN HookSender::Impl {
  HookConfig cfg;
  std::unique_ptr<hooks::HookSender> sender;

  Status queue(hooks::EncodedHook hook) {
    if (!sender->send_encoded(std::move(hook)))
      return Status::error(ErrorCode::resource_exhausted, "the hook queue is full (or the sender is stopped)");
    return Status::ok();
  }
  Status queue(const hooks::HookEvent& e) { return queue(hooks::encode(e, sender->config().body_type)); }
  static uint64_t now_or(uint64_t ts) { return ts ? ts : SystemClock::instance().now_ms(); }
};

Result<std::unique_ptr<HookSender>> HookSender::create(const HookConfig& config) {
  if (Status s = validate(config); !s) return s;
  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  hooks::HookSenderConfig hc;
  hc.url = config.url;
  hc.body_type = config.body_type == HookBodyType::protobuf_binary ? hooks::BodyType::protobuf_binary
                                                                    : hooks::BodyType::protobuf_json;
  hc.headers = config.headers;
  hc.queue_capacity = config.queue_capacity;
  hc.retry_initial_ms = config.retry_initial_ms;
  hc.retry_max_ms = config.retry_max_ms;
  hc.max_attempts = config.max_attempts;
  hc.request_timeout_ms = config.request_timeout_ms;
  impl->sender = std::make_unique<hooks::HookSender>(std::move(hc));
  return std::unique_ptr<HookSender>(new HookSender(std::move(impl)));
}

HookSender::HookSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HookSender::~HookSender() = default;

Status HookSender::record_event(RecordHookKind kind, std::string_view app, std::string_view room,
                                std::string_view peer, std::string_view path, uint64_t ts_ms) {
  if (app.empty() || room.empty()) return invalid("app and room are required");
  const uint64_t ts = Impl::now_or(ts_ms);
  if (kind == RecordHookKind::started) return impl_->queue(hooks::record_started(impl_->cfg.node, ts, app, room, path));
  if (peer.empty()) return invalid("a PeerJoined record event needs a peer");
  return impl_->queue(hooks::record_peer_joined(impl_->cfg.node, ts, app, room, peer, path));
}

Status HookSender::room_event(RoomHookKind kind, std::string_view app, std::string_view room, std::string_view peer,
                              uint64_t ts_ms) {
  if (app.empty() || room.empty()) return invalid("app and room are required");
  if (static_cast<int>(kind) < 0 || kind > RoomHookKind::stopped) return invalid("unknown room event kind");
  if ((kind == RoomHookKind::peer_joined || kind == RoomHookKind::peer_leaved) && peer.empty())
    return invalid("a peer room event needs a peer");
  auto k = static_cast<hooks::RoomEventKind>(kind);
  return impl_->queue(hooks::room_event(impl_->cfg.node, Impl::now_or(ts_ms), app, room, k, peer));
}

Status HookSender::send_json(std::string body) {
  if (!nlohmann::json::accept(body)) return invalid("the hook body is not JSON");
  hooks::EncodedHook hook;
  hook.body = std::move(body);
  hook.content_type = "application/json";
  return impl_->queue(std::move(hook));
}

bool HookSender::flush(uint64_t timeout_ms) { return impl_->sender->flush(timeout_ms); }

HookSenderStats HookSender::stats() const {
  hooks::HookSenderStats s = impl_->sender->stats();
  return HookSenderStats{s.queued, s.sent, s.failed_attempts, s.dropped, s.given_up, s.pending};
}

const HookConfig& HookSender::config() const { return impl_->cfg; }

}  // namespace roomrec
