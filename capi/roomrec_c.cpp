// The recording half of the C ABI (capi/roomrec.h) over RecordingService and
// the hook sender: JSON to C++ options and back, handles, callbacks. Every
// entry point catches everything: no exception crosses the ABI; failures
// become negative ROOMREC_ERR_* codes with a per-thread message (kept here for
// both libraries: libroomrec-convert sets it through
// roomrec_internal_set_last_error).
#include "roomrec.h"

#include <roomrec/log.h>
#include <roomrec/recorder.h>
#include <roomrec/recording_service.h>
#include <roomrec/s3_upload.h>
#include <roomrec/status.h>
#include <roomrec/upload_queue.h>
#include <roomrec/version.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "capi_common.h"
#include "hooks/hook_event.h"
#include "hooks/hook_sender.h"
#include "s3/s3_uri.h"
#include "s3/sigv4.h"

static_assert(ROOMREC_C_VERSION_MAJOR == ROOMREC_VERSION_MAJOR && ROOMREC_C_VERSION_MINOR == ROOMREC_VERSION_MINOR &&
                  ROOMREC_C_VERSION_PATCH == ROOMREC_VERSION_PATCH,
              "capi/roomrec.h version macros must match the project version");
static_assert(ROOMREC_C_VERSION_NUMBER == ROOMREC_VERSION_MAJOR * 10000 + ROOMREC_VERSION_MINOR * 100 + ROOMREC_VERSION_PATCH);
static_assert(ROOMREC_RECORD_MALFORMED == static_cast<int>(roomrec::RecordResult::malformed) &&
              ROOMREC_RECORD_DECRYPT_FAILED == static_cast<int>(roomrec::RecordResult::decrypt_failed) &&
              ROOMREC_RECORD_UNKNOWN_TRACK == static_cast<int>(roomrec::RecordResult::unknown_track) &&
              ROOMREC_RECORD_TOO_LARGE == static_cast<int>(roomrec::RecordResult::too_large) &&
              ROOMREC_RECORD_CLOSED == static_cast<int>(roomrec::RecordResult::closed) &&
              ROOMREC_RECORD_INVALID == static_cast<int>(roomrec::RecordResult::invalid) &&
              ROOMREC_RECORD_PAUSED == static_cast<int>(roomrec::RecordResult::paused),
              "ROOMREC_RECORD_* must equal RecordResult");
static_assert(ROOMREC_LOG_TRACE == static_cast<int>(roomrec::LogLevel::trace) &&
              ROOMREC_LOG_OFF == static_cast<int>(roomrec::LogLevel::off), "ROOMREC_LOG_* must equal LogLevel");

using namespace roomrec;
using namespace roomrec::capi;

namespace {

thread_local std::string t_last_error;

HookConfig parse_hook_config(const json& j, const std::string& where) {
  Obj o(j, where,
        {"url", "body_type", "headers", "node", "queue_capacity", "retry_initial_ms", "retry_max_ms", "max_attempts",
         "request_timeout_ms"});
  HookConfig c;
  c.url = o.required_str("url");
  std::string bt = o.str("body_type", "protobuf-json");
  auto t = hooks::body_type_from_name(bt);
  if (!t) throw JsonError{o.name("body_type") + " must be \"protobuf-json\" or \"protobuf-binary\""};
  c.body_type = *t == hooks::BodyType::protobuf_binary ? HookBodyType::protobuf_binary : HookBodyType::protobuf_json;
  c.headers = o.headers("headers");
  c.queue_capacity = static_cast<size_t>(o.u64("queue_capacity", c.queue_capacity));
  c.retry_initial_ms = o.u64("retry_initial_ms", c.retry_initial_ms);
  c.retry_max_ms = o.u64("retry_max_ms", c.retry_max_ms);
  c.max_attempts = o.u32("max_attempts", c.max_attempts);
  c.request_timeout_ms = o.u64("request_timeout_ms", c.request_timeout_ms);
  c.node = o.u32("node", 0);
  return c;
}


// ---- recorder callbacks -------------------------------------------------------

// The C callbacks and their user pointers, set between _new and _start. The
// service's std::function callbacks point here; the service guarantees none
// runs after it is destroyed.
struct Callbacks {
  roomrec_keyframe_cb keyframe = nullptr;
  void* keyframe_user = nullptr;
  roomrec_error_cb error = nullptr;
  void* error_user = nullptr;
  roomrec_uploaded_cb uploaded = nullptr;
  void* uploaded_user = nullptr;
  roomrec_url_cb url = nullptr;
  void* url_user = nullptr;
};

}  // namespace

struct roomrec_url_request {
  UrlAnswer answer;
};

struct roomrec_recorder {
  std::shared_ptr<Callbacks> cb = std::make_shared<Callbacks>();
  std::unique_ptr<RecordingService> svc;
  bool callback_sink = false;
  std::mutex mu;  // start / set_*_callback
};

struct roomrec_session {
  std::shared_ptr<SessionRecorder> s;
  void* user = nullptr;  // roomrec_session_set_user_data
};

struct roomrec_hook_sender {
  std::unique_ptr<HookSender> sender;
};

extern "C" {

// ---- versions, errors, strings ------------------------------------------------

const char* roomrec_version(void) { return ROOMREC_VERSION_STRING; }
int roomrec_abi_version(void) { return ROOMREC_ABI_VERSION; }

const char* roomrec_strerror(int code) {
  switch (code) {
    case ROOMREC_OK: return "ok";
    case ROOMREC_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case ROOMREC_ERR_NOT_FOUND: return "not_found";
    case ROOMREC_ERR_CORRUPT: return "corrupt";
    case ROOMREC_ERR_IO: return "io";
    case ROOMREC_ERR_RESOURCE_EXHAUSTED: return "resource_exhausted";
    case ROOMREC_ERR_UNAVAILABLE: return "unavailable";
    case ROOMREC_ERR_PERMISSION_DENIED: return "permission_denied";
    case ROOMREC_ERR_TIMEOUT: return "timeout";
    case ROOMREC_ERR_CANCELLED: return "cancelled";
    case ROOMREC_ERR_UNSUPPORTED: return "unsupported";
    case ROOMREC_ERR_INTERNAL: return "internal";
    case ROOMREC_RECORD_MALFORMED: return "malformed";
    case ROOMREC_RECORD_DECRYPT_FAILED: return "decrypt_failed";
    case ROOMREC_RECORD_UNKNOWN_TRACK: return "unknown_track";
    case ROOMREC_RECORD_TOO_LARGE: return "too_large";
    case ROOMREC_RECORD_CLOSED: return "closed";
    case ROOMREC_RECORD_INVALID: return "invalid";
    case ROOMREC_RECORD_PAUSED: return "paused";
    default: return "unknown";
  }
}

const char* roomrec_last_error(void) { return t_last_error.c_str(); }

void roomrec_internal_set_last_error(const char* message) {
  try {
    t_last_error = message ? message : "";
  } catch (...) {
    t_last_error.clear();
  }
}

void roomrec_free_string(char* s) { std::free(s); }

// ---- logging --------------------------------------------------------------------

int roomrec_set_log_callback(roomrec_log_cb cb, void* user, int min_level) {
  return guarded([&] {
    if (min_level < ROOMREC_LOG_TRACE || min_level > ROOMREC_LOG_OFF)
      return invalid("min_level must be ROOMREC_LOG_TRACE..ROOMREC_LOG_OFF");
    if (!cb) {
      set_log_callback({}, LogLevel::off);
      return ROOMREC_OK;
    }
    set_log_callback(
        [cb, user](LogLevel level, std::string_view component, std::string_view message) {
          std::string c(component), m(message);
          cb(static_cast<int>(level), c.c_str(), m.c_str(), user);
        },
        static_cast<LogLevel>(min_level));
    return ROOMREC_OK;
  });
}

// ---- recorder ----------------------------------------------------------------------

int roomrec_recorder_new(const char* config_json, roomrec_recorder** out) {
  if (out) *out = nullptr;
  return guarded([&] {
    if (!out) return invalid("out is NULL");
    json j = parse_json(config_json, "config_json");
    Obj o(j, "config", {"key_prefix", "max_chunk_bytes", "max_chunk_ms", "store", "upload", "hooks"});
    auto r = std::make_unique<roomrec_recorder>();
    RecordingServiceConfig cfg;
    cfg.key_prefix = o.str("key_prefix");
    cfg.max_chunk_bytes = o.u64("max_chunk_bytes", cfg.max_chunk_bytes);
    cfg.max_chunk_ms = o.u64("max_chunk_ms", cfg.max_chunk_ms);
    if (o.has("store")) {
      Obj s(o.at("store"), "config.store",
            {"memory_budget_bytes", "spill_dir", "disk_budget_bytes", "min_free_disk_bytes", "durable", "durable_background",
             "recover"});
      cfg.store.memory_budget_bytes = s.u64("memory_budget_bytes", cfg.store.memory_budget_bytes);
      cfg.store.spill_dir = s.str("spill_dir");
      cfg.store.disk_budget_bytes = s.u64("disk_budget_bytes", cfg.store.disk_budget_bytes);
      cfg.store.min_free_disk_bytes = s.u64("min_free_disk_bytes", cfg.store.min_free_disk_bytes);
      cfg.store.durable = s.boolean("durable", false);
      cfg.store.durable_background = s.boolean("durable_background", false);
      cfg.recover = s.boolean("recover", true);
    }
    if (o.has("hooks")) cfg.hooks = parse_hook_config(o.at("hooks"), "config.hooks");

    std::shared_ptr<Callbacks> cb = r->cb;
    if (o.has("upload")) {
      Obj u(o.at("upload"), "config.upload",
            {"uri", "connector", "callback", "workers", "retry_initial_ms", "retry_max_ms", "url_timeout_ms",
             "connect_timeout_ms", "low_speed_time_s", "ca_file", "presign_expires_s", "path_prefix"});
      int kinds = int(u.has("uri")) + int(u.has("connector")) + int(u.boolean("callback", false));
      if (kinds != 1) return invalid("config.upload needs exactly one of \"uri\", \"connector\", \"callback\": true");
      UploadConfig up;
      up.workers = static_cast<size_t>(u.u64("workers", up.workers, 256));
      up.retry_initial_ms = u.u64("retry_initial_ms", up.retry_initial_ms);
      up.retry_max_ms = u.u64("retry_max_ms", up.retry_max_ms);
      up.url_timeout_ms = u.u64("url_timeout_ms", up.url_timeout_ms);
      up.connect_timeout_ms = u.u64("connect_timeout_ms", up.connect_timeout_ms);
      up.low_speed_time_s = u.u64("low_speed_time_s", up.low_speed_time_s);
      up.ca_file = u.str("ca_file");
      up.path_prefix = u.str("path_prefix");
      up.presign_expires_s = u.u32("presign_expires_s", up.presign_expires_s);
      if (u.has("uri")) {
        up.uri = u.required_str("uri");
      } else if (u.has("connector")) {
        Obj c(u.at("connector"), "config.upload.connector", {"url", "headers", "timeout_ms"});
        ConnectorConfig cc;
        cc.url = c.required_str("url");
        cc.headers = c.headers("headers");
        cc.timeout_ms = c.u64("timeout_ms", cc.timeout_ms);
        up.connector = std::move(cc);
      } else {
        r->callback_sink = true;
        up.url_callback = [cb](const RecordReq& req, const std::string& key, UrlAnswer answer) {
          json body = {{"app", req.app},         {"room", req.room},   {"peer", req.peer},
                       {"session", req.session}, {"index", req.index}, {"from_ts", req.from_ts},
                       {"to_ts", req.to_ts},     {"key", key}};
          std::string text = body.dump();
          auto* handle = new roomrec_url_request{std::move(answer)};
          cb->url(handle, text.c_str(), cb->url_user);
        };
      }
      cfg.upload = std::move(up);
    }

    cfg.request_keyframe = [cb](SessionRecorder& s, uint32_t track_id) {
      if (cb->keyframe) cb->keyframe(static_cast<roomrec_session*>(s.user_data()), track_id, cb->keyframe_user);
    };
    cfg.on_error = [cb](const Status& s) {
      if (cb->error) cb->error(code_of(s.code()), s.message().c_str(), cb->error_user);
    };
    cfg.on_uploaded = [cb](const std::string& key, uint64_t bytes) {
      if (cb->uploaded) cb->uploaded(key.c_str(), bytes, cb->uploaded_user);
    };
    auto svc = RecordingService::create(std::move(cfg));
    if (!svc) {
      Status st = svc.status();
      return fail(st.with_context("config"));
    }
    r->svc = std::move(svc.value());
    *out = r.release();
    return ROOMREC_OK;
  });
}

namespace {
int check_settable(roomrec_recorder* rec) {
  if (!rec) return invalid("recorder is NULL");
  if (rec->svc->started()) return invalid("callbacks are set before roomrec_recorder_start");
  return ROOMREC_OK;
}
}  // namespace

int roomrec_recorder_set_keyframe_callback(roomrec_recorder* rec, roomrec_keyframe_cb cb, void* user) {
  return guarded([&] {
    if (int c = check_settable(rec)) return c;
    std::lock_guard lock(rec->mu);
    rec->cb->keyframe = cb;
    rec->cb->keyframe_user = user;
    return ROOMREC_OK;
  });
}

int roomrec_recorder_set_error_callback(roomrec_recorder* rec, roomrec_error_cb cb, void* user) {
  return guarded([&] {
    if (int c = check_settable(rec)) return c;
    std::lock_guard lock(rec->mu);
    rec->cb->error = cb;
    rec->cb->error_user = user;
    return ROOMREC_OK;
  });
}

int roomrec_recorder_set_uploaded_callback(roomrec_recorder* rec, roomrec_uploaded_cb cb, void* user) {
  return guarded([&] {
    if (int c = check_settable(rec)) return c;
    std::lock_guard lock(rec->mu);
    rec->cb->uploaded = cb;
    rec->cb->uploaded_user = user;
    return ROOMREC_OK;
  });
}

int roomrec_recorder_set_url_callback(roomrec_recorder* rec, roomrec_url_cb cb, void* user) {
  return guarded([&] {
    if (int c = check_settable(rec)) return c;
    if (!rec->callback_sink) return invalid("the recorder's config has no \"upload\": {\"callback\": true}");
    std::lock_guard lock(rec->mu);
    rec->cb->url = cb;
    rec->cb->url_user = user;
    return ROOMREC_OK;
  });
}

int roomrec_url_request_answer(roomrec_url_request* req, const char* url) {
  return guarded([&] {
    if (!req) return invalid("request is NULL");
    std::unique_ptr<roomrec_url_request> owned(req);
    UrlAnswer answer = std::move(owned->answer);
    owned.reset();
    if (!url || !*url) {
      answer(Status::error(ErrorCode::invalid_argument, "the host answered an empty URL"));
      return invalid("url is NULL or empty (the request was answered as failed)");
    }
    answer(std::string(url));
    return ROOMREC_OK;
  });
}

int roomrec_url_request_fail(roomrec_url_request* req, int code, const char* message) {
  return guarded([&] {
    if (!req) return invalid("request is NULL");
    std::unique_ptr<roomrec_url_request> owned(req);
    UrlAnswer answer = std::move(owned->answer);
    owned.reset();
    answer(Status::error(error_code_of(code), message && *message ? message : "the host refused a URL"));
    return ROOMREC_OK;
  });
}

int roomrec_recorder_start(roomrec_recorder* rec) {
  return guarded([&] {
    if (!rec) return invalid("recorder is NULL");
    std::lock_guard lock(rec->mu);
    if (rec->svc->started()) return invalid("the recorder is already started");
    if (rec->svc->is_shutdown()) return invalid("the recorder is shut down");
    if (rec->callback_sink && !rec->cb->url)
      return invalid("\"upload\": {\"callback\": true} needs roomrec_recorder_set_url_callback before start");
    if (Status s = rec->svc->start(); !s) return fail(s);
    return ROOMREC_OK;
  });
}

int roomrec_recorder_flush(roomrec_recorder* rec, uint64_t timeout_ms) {
  return guarded([&] {
    if (!rec) return invalid("recorder is NULL");
    if (!rec->svc->has_upload()) return invalid("the recorder has no \"upload\" configured");
    if (Status s = rec->svc->flush(timeout_ms); !s) return fail(s);
    return ROOMREC_OK;
  });
}

int roomrec_recorder_shutdown(roomrec_recorder* rec, uint64_t timeout_ms, size_t* unsent) {
  if (unsent) *unsent = 0;
  return guarded([&] {
    if (!rec) return invalid("recorder is NULL");
    size_t n = rec->svc->shutdown(timeout_ms);
    if (unsent) *unsent = n;
    return ROOMREC_OK;
  });
}

int roomrec_recorder_close_all(roomrec_recorder* rec, uint64_t now_ms) {
  return guarded([&] {
    if (!rec) return invalid("recorder is NULL");
    rec->svc->close_all(now_ms);
    return ROOMREC_OK;
  });
}

int roomrec_recorder_stats(roomrec_recorder* rec, char** stats_json) {
  if (stats_json) *stats_json = nullptr;
  return guarded([&] {
    if (!rec) return invalid("recorder is NULL");
    if (!stats_json) return invalid("stats_json is NULL");
    RecordingServiceStats st = rec->svc->stats();
    const ChunkStoreStats& s = st.store;
    json j;
    j["open_sessions"] = st.open_sessions;
    j["store"] = {{"chunks_in_memory", s.chunks_in_memory}, {"bytes_in_memory", s.bytes_in_memory},
                  {"chunks_on_disk", s.chunks_on_disk},     {"bytes_on_disk", s.bytes_on_disk},
                  {"chunks_spilling", s.chunks_spilling},   {"bytes_spilling", s.bytes_spilling},
                  {"chunks_uploading", s.chunks_uploading}, {"chunks_pending", s.chunks_pending},
                  {"chunks_accepted", s.chunks_accepted},   {"chunks_uploaded", s.chunks_uploaded},
                  {"bytes_uploaded", s.bytes_uploaded},     {"chunks_refused", s.chunks_refused},
                  {"bytes_refused", s.bytes_refused},       {"chunks_recovered", s.chunks_recovered},
                  {"spill_errors", s.spill_errors}};
    if (st.upload)
      j["upload"] = {{"uploaded", st.upload->uploaded}, {"bytes_uploaded", st.upload->bytes_uploaded},
                     {"failures", st.upload->failures}};
    else
      j["upload"] = nullptr;
    if (st.hooks) {
      const auto& h = *st.hooks;
      j["hooks"] = {{"queued", h.queued},   {"sent", h.sent},         {"failed_attempts", h.failed_attempts},
                    {"dropped", h.dropped}, {"given_up", h.given_up}, {"pending", h.pending}};
    } else {
      j["hooks"] = nullptr;
    }
    *stats_json = dup_string(j.dump());
    return ROOMREC_OK;
  });
}

void roomrec_recorder_free(roomrec_recorder* rec) {
  if (!rec) return;
  guarded([&] {
    rec->svc.reset();  // shutdown(0), spills flushed; no callback runs after this
    return ROOMREC_OK;
  });
  delete rec;
}

// ---- sessions -------------------------------------------------------------------------

int roomrec_session_open(roomrec_recorder* rec, const char* params_json, uint64_t now_ms, roomrec_session** out) {
  if (out) *out = nullptr;
  return guarded([&] {
    if (!rec) return invalid("recorder is NULL");
    if (!out) return invalid("out is NULL");
    json j = parse_json(params_json, "params_json");
    Obj o(j, "params", {"app", "room", "peer", "session_id", "ip", "user_agent", "room_record_id", "srtp"});
    SessionParams p;
    p.app = o.required_str("app");
    p.room = o.required_str("room");
    p.peer = o.required_str("peer");
    p.session_id = o.u64("session_id", 0);
    p.ip = o.str("ip");
    p.user_agent = o.str("user_agent");
    p.room_record_id = o.str("room_record_id");
    if (o.has("srtp")) {
      auto key = srtp_key_from_json(o.at("srtp"), "params.srtp");
      if (!key) return fail(key.status());
      p.srtp = std::move(key.value());
    }
    auto handle = std::make_unique<roomrec_session>();
    p.user_data = handle.get();  // the keyframe callback finds its C handle here
    auto session = rec->svc->open(p, now_ms);
    if (!session) return fail(session.status());
    handle->s = std::move(session.value());
    *out = handle.release();
    return ROOMREC_OK;
  });
}

namespace {
int record_code(roomrec_session* s, RecordResult r) {
  if (r == RecordResult::invalid)
    return fail(ROOMREC_RECORD_INVALID, "invalid call on session " + s->s->peer() + "/" + std::to_string(s->s->session_id()));
  return static_cast<int>(r);
}
}  // namespace

int roomrec_session_track_started(roomrec_session* s, uint32_t track_id, const char* track_json, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    json j = parse_json(track_json, "track_json");
    Obj o(j, "track",
          {"kind", "name", "codec", "clock_rate", "channels", "fmtp", "ssrc", "rid", "cvo_extension_id", "extensions"});
    TrackInfo t;
    std::string kind = o.required_str("kind");
    if (kind == "audio") t.kind = TrackKind::audio;
    else if (kind == "video") t.kind = TrackKind::video;
    else return invalid("track.kind must be \"audio\" or \"video\"");
    t.name = o.str("name", kind == "audio" ? "audio_main" : "video_main");
    t.codec = util::ascii_lowercase(o.required_str("codec"));
    t.clock_rate = o.u32("clock_rate", t.kind == TrackKind::audio ? 48000 : 90000);
    t.channels = o.u32("channels", t.kind == TrackKind::audio ? 2 : 0);
    t.fmtp = o.str("fmtp");
    t.ssrc = o.u32("ssrc", 0);
    t.rid = o.str("rid");
    t.cvo_extension_id = static_cast<uint8_t>(o.u64("cvo_extension_id", 0, 255));
    if (o.has("extensions")) {
      const json& xs = o.at("extensions");
      if (!xs.is_array() || xs.size() > TrackInfo::kMaxExtensions)
        return invalid("track.extensions must be an array of at most " + std::to_string(TrackInfo::kMaxExtensions) +
                       " {\"id\", \"uri\"} objects");
      for (size_t i = 0; i < xs.size(); ++i) {
        Obj x(xs[i], "track.extensions[" + std::to_string(i) + "]", {"id", "uri"});
        uint64_t id = x.u64("id", 0, 255);
        std::string uri = x.required_str("uri");
        if (id == 0) return invalid(x.name("id") + " must be 1..255");
        if (uri.size() > TrackInfo::kMaxExtensionUriBytes)
          return invalid(x.name("uri") + " is longer than " + std::to_string(TrackInfo::kMaxExtensionUriBytes) + " bytes");
        for (const auto& e : t.extensions)
          if (e.id == id) return invalid(x.name("id") + " " + std::to_string(id) + " is used twice");
        t.extensions.push_back({static_cast<uint8_t>(id), std::move(uri)});
      }
    }
    return record_code(s, s->s->track_started(track_id, t, now_ms));
  });
}

int roomrec_session_rtp(roomrec_session* s, uint32_t track_id, const uint8_t* packet, size_t n, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    if (!packet && n) return invalid("packet is NULL");
    return record_code(s, s->s->rtp(track_id, packet, n, now_ms));
  });
}

int roomrec_session_rtcp(roomrec_session* s, const uint8_t* packet, size_t n, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    if (!packet && n) return invalid("packet is NULL");
    return record_code(s, s->s->rtcp(packet, n, now_ms));
  });
}

int roomrec_session_data(roomrec_session* s, const char* label, int binary, const uint8_t* bytes, size_t n,
                         uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    if (!label) return invalid("label is NULL");
    if (!bytes && n) return invalid("bytes is NULL");
    static const uint8_t empty = 0;
    return record_code(s, s->s->data(label, binary != 0, bytes ? bytes : &empty, n, now_ms));
  });
}

int roomrec_session_track_stopped(roomrec_session* s, uint32_t track_id, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    return record_code(s, s->s->track_stopped(track_id, now_ms));
  });
}

int roomrec_session_leave(roomrec_session* s, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    return record_code(s, s->s->leave(now_ms));
  });
}

int roomrec_session_close(roomrec_session* s, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    return record_code(s, s->s->close(now_ms));
  });
}

namespace {
// Pause/resume with the reason of a refusal in roomrec_last_error().
int pause_call(roomrec_session* s, bool pause, uint32_t track_id, bool track, uint64_t now_ms) {
  if (!s) return invalid("session is NULL");
  SessionRecorder& r = *s->s;
  const std::string who = "session " + r.peer() + "/" + std::to_string(r.session_id());
  RecordResult res = track ? (pause ? r.pause_track(track_id, now_ms) : r.resume_track(track_id, now_ms))
                           : (pause ? r.pause(now_ms) : r.resume(now_ms));
  if (res != RecordResult::invalid) return static_cast<int>(res);
  std::string what;
  if (track && track_id == 0) what = "track id 0 names the whole session: use roomrec_session_" +
                                     std::string(pause ? "pause" : "resume");
  else if (track) what = "track " + std::to_string(track_id) + " of " + who + (pause ? " is already paused" : " is not paused");
  else what = who + (pause ? " is already paused" : " is not paused");
  return fail(ROOMREC_RECORD_INVALID, what);
}
}  // namespace

int roomrec_session_pause(roomrec_session* s, uint64_t now_ms) {
  return guarded([&] { return pause_call(s, true, 0, false, now_ms); });
}

int roomrec_session_resume(roomrec_session* s, uint64_t now_ms) {
  return guarded([&] { return pause_call(s, false, 0, false, now_ms); });
}

int roomrec_session_pause_track(roomrec_session* s, uint32_t track_id, uint64_t now_ms) {
  return guarded([&] { return pause_call(s, true, track_id, true, now_ms); });
}

int roomrec_session_resume_track(roomrec_session* s, uint32_t track_id, uint64_t now_ms) {
  return guarded([&] { return pause_call(s, false, track_id, true, now_ms); });
}

int roomrec_session_tick(roomrec_session* s, uint64_t now_ms) {
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    s->s->tick(now_ms);
    return ROOMREC_OK;
  });
}

int roomrec_session_stats(roomrec_session* s, char** stats_json) {
  if (stats_json) *stats_json = nullptr;
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    if (!stats_json) return invalid("stats_json is NULL");
    SessionStats st = s->s->stats();
    json j = {{"app", s->s->app()},
              {"room", s->s->room()},
              {"peer", s->s->peer()},
              {"session_id", s->s->session_id()},
              {"room_record_id", s->s->room_record_id()},
              {"room_path", s->s->room_path()},
              {"closed", s->s->is_closed()},
              {"rtp_accepted", st.rtp_accepted},
              {"rtp_malformed", st.rtp_malformed},
              {"rtp_decrypt_failed", st.rtp_decrypt_failed},
              {"rtp_unknown_track", st.rtp_unknown_track},
              {"rtcp_accepted", st.rtcp_accepted},
              {"rtcp_malformed", st.rtcp_malformed},
              {"rtcp_decrypt_failed", st.rtcp_decrypt_failed},
              {"data_messages", st.data_messages},
              {"bytes_recorded", st.bytes_recorded},
              {"chunks_closed", st.chunks_closed},
              {"chunks_refused", st.chunks_refused},
              {"keyframe_requests", st.keyframe_requests},
              {"lost_packets", st.lost_packets},
              {"paused", s->s->paused()},
              {"paused_tracks", s->s->paused_tracks()},
              {"rtp_paused", st.rtp_paused},
              {"data_paused", st.data_paused},
              {"bytes_paused", st.bytes_paused},
              {"pauses", st.pauses}};
    *stats_json = dup_string(j.dump());
    return ROOMREC_OK;
  });
}

int roomrec_session_room_path(roomrec_session* s, char** path) {
  if (path) *path = nullptr;
  return guarded([&] {
    if (!s) return invalid("session is NULL");
    if (!path) return invalid("path is NULL");
    *path = dup_string(s->s->room_path());
    return ROOMREC_OK;
  });
}

int roomrec_session_set_user_data(roomrec_session* s, void* user_data) {
  if (!s) return invalid("session is NULL");
  s->user = user_data;
  return ROOMREC_OK;
}

void* roomrec_session_user_data(roomrec_session* s) { return s ? s->user : nullptr; }

void roomrec_session_free(roomrec_session* s) {
  if (!s) return;
  guarded([&] {
    s->s.reset();  // the last reference closes the session (SessionRecorder's destructor)
    return ROOMREC_OK;
  });
  delete s;
}

// ---- presigning ----------------------------------------------------------------------------

int roomrec_s3_presign(const char* method, const char* s3_uri, const char* key, uint32_t expiry_s,
                       int64_t unix_time_s, char** url) {
  if (url) *url = nullptr;
  return guarded([&] {
    if (!url) return invalid("url is NULL");
    if (!method || !s3_uri || !key) return invalid("method, s3_uri and key must not be NULL");
    std::string m = method;
    if (m != "PUT" && m != "GET" && m != "HEAD" && m != "DELETE")
      return invalid("method must be PUT, GET, HEAD or DELETE");
    if (!*key) return invalid("key must not be empty");
    if (expiry_s < 1 || expiry_s > 604800) return invalid("expiry_s must be 1..604800");
    if (unix_time_s < 0) return invalid("unix_time_s must not be negative");
    auto uri = s3::S3Uri::parse(s3_uri);
    if (!uri) return fail(uri.status());
    if (uri->presigned) return invalid("s3_uri is already a presigned URL; give an S3 URI with credentials");
    int64_t now = unix_time_s ? unix_time_s : static_cast<int64_t>(SystemClock::instance().now_ms() / 1000);
    auto signed_url = s3::presign_url(*uri, m, key, now, expiry_s);
    if (!signed_url) return fail(signed_url.status());
    *url = dup_string(signed_url.value());
    return ROOMREC_OK;
  });
}

// ---- hook sender ------------------------------------------------------------------------------

int roomrec_hook_sender_new(const char* config_json, roomrec_hook_sender** out) {
  if (out) *out = nullptr;
  return guarded([&] {
    if (!out) return invalid("out is NULL");
    json j = parse_json(config_json, "config_json");
    auto sender = HookSender::create(parse_hook_config(j, "config"));
    if (!sender) return fail(sender.status());
    *out = new roomrec_hook_sender{std::move(sender.value())};
    return ROOMREC_OK;
  });
}

int roomrec_hook_sender_send_json(roomrec_hook_sender* h, const char* json_body) {
  return guarded([&] {
    if (!h) return invalid("hook sender is NULL");
    if (!json_body) return invalid("json_body is NULL");
    return fail_or_ok(h->sender->send_json(json_body));
  });
}

static_assert(ROOMREC_HOOK_RECORD_STARTED == static_cast<int>(RecordHookKind::started) &&
              ROOMREC_HOOK_RECORD_PEER_JOINED == static_cast<int>(RecordHookKind::peer_joined));
static_assert(ROOMREC_HOOK_ROOM_STARTED == static_cast<int>(RoomHookKind::started) &&
              ROOMREC_HOOK_ROOM_PEER_JOINED == static_cast<int>(RoomHookKind::peer_joined) &&
              ROOMREC_HOOK_ROOM_PEER_LEAVED == static_cast<int>(RoomHookKind::peer_leaved) &&
              ROOMREC_HOOK_ROOM_ALL_PEERS_LEAVED == static_cast<int>(RoomHookKind::all_peers_leaved) &&
              ROOMREC_HOOK_ROOM_STOPPED == static_cast<int>(RoomHookKind::stopped));

int roomrec_hook_sender_record_event(roomrec_hook_sender* h, int kind, const char* app, const char* room,
                                     const char* peer, const char* path, uint64_t ts_ms) {
  return guarded([&] {
    if (!h) return invalid("hook sender is NULL");
    if (!app || !room || !path) return invalid("app, room and path are required");
    if (kind != ROOMREC_HOOK_RECORD_STARTED && kind != ROOMREC_HOOK_RECORD_PEER_JOINED)
      return invalid("kind must be ROOMREC_HOOK_RECORD_STARTED or ROOMREC_HOOK_RECORD_PEER_JOINED");
    return fail_or_ok(h->sender->record_event(static_cast<RecordHookKind>(kind), app, room, peer ? peer : "", path,
                                              ts_ms));
  });
}

int roomrec_hook_sender_room_event(roomrec_hook_sender* h, int kind, const char* app, const char* room,
                                   const char* peer, uint64_t ts_ms) {
  return guarded([&] {
    if (!h) return invalid("hook sender is NULL");
    if (!app || !room) return invalid("app and room are required");
    if (kind < ROOMREC_HOOK_ROOM_STARTED || kind > ROOMREC_HOOK_ROOM_STOPPED)
      return invalid("kind must be one of ROOMREC_HOOK_ROOM_*");
    return fail_or_ok(h->sender->room_event(static_cast<RoomHookKind>(kind), app, room, peer ? peer : "", ts_ms));
  });
}

int roomrec_hook_sender_flush(roomrec_hook_sender* h, uint64_t timeout_ms) {
  return guarded([&] {
    if (!h) return invalid("hook sender is NULL");
    if (!h->sender->flush(timeout_ms))
      return fail(ROOMREC_ERR_TIMEOUT, "hook events still queued after " + std::to_string(timeout_ms) + " ms");
    return ROOMREC_OK;
  });
}

int roomrec_hook_sender_stats(roomrec_hook_sender* h, char** stats_json) {
  if (stats_json) *stats_json = nullptr;
  return guarded([&] {
    if (!h) return invalid("hook sender is NULL");
    if (!stats_json) return invalid("stats_json is NULL");
    HookSenderStats s = h->sender->stats();
    json j = {{"queued", s.queued},   {"sent", s.sent},         {"failed_attempts", s.failed_attempts},
              {"dropped", s.dropped}, {"given_up", s.given_up}, {"pending", s.pending}};
    *stats_json = dup_string(j.dump());
    return ROOMREC_OK;
  });
}

void roomrec_hook_sender_free(roomrec_hook_sender* h) {
  if (!h) return;
  guarded([&] {
    h->sender.reset();
    return ROOMREC_OK;
  });
  delete h;
}

}  // extern "C"
