#include <roomrec/chunk_writer.h>
#include <roomrec/log.h>
#include <roomrec/recorder.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

#include "format/row_codec.h"
#include "record/recorder_impl.h"
#include "rtp/rtp_packet.h"

namespace roomrec {
namespace {

constexpr const char* kComponent = "recorder";
constexpr uint64_t kKeyframeRequestIntervalMs = 1000;
constexpr size_t kMaxPacketBytes = 65536;  // largest packet SRTP input is copied for

inline uint64_t elapsed(uint64_t now, uint64_t since) { return now > since ? now - since : 0; }

struct TrackState {
  uint32_t id = 0;
  TrackInfo info;
  uint64_t started_ts = 0;
  bool have_seq = false;
  uint16_t last_seq = 0;
  bool keyframe_requested = false;
  uint64_t last_keyframe_request = 0;
  bool paused = false;  // on its own (pause_track)
};

// Relaxed atomic counter: one writer thread (the session's), any reader.
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

}  // namespace

const char* record_result_name(RecordResult r) noexcept {
  switch (r) {
    case RecordResult::ok: return "ok";
    case RecordResult::malformed: return "malformed";
    case RecordResult::decrypt_failed: return "decrypt_failed";
    case RecordResult::unknown_track: return "unknown_track";
    case RecordResult::too_large: return "too_large";
    case RecordResult::closed: return "closed";
    case RecordResult::invalid: return "invalid";
    case RecordResult::paused: return "paused";
  }
  return "?";
}

struct ROOMREC_HIDDEN SessionRecorder::Impl {
  std::shared_ptr<Recorder::Impl> rec;
  SessionRecorder* self = nullptr;
  std::string app, room, peer, ip, user_agent, record_id;
  void* user_data = nullptr;  // the host's, never touched here
  uint64_t session_id = 0;
  std::vector<TrackState> tracks;
  size_t last_track = 0;  // index of the last track hit (packets come in runs)
  std::optional<ChunkWriter> writer;
  uint32_t next_index = 0;
  std::atomic<bool> closed{false};
  bool paused = false;  // the whole session (the session's thread; the hot path reads it)
  // What stats readers on other threads see: a mirror of `paused`, and the ids of the tracks paused
  // on their own (changed only by pause/resume/stop calls, never on the packet path).
  std::atomic<bool> paused_seen{false};
  mutable std::mutex paused_mu;
  std::vector<uint32_t> paused_ids;
  std::unique_ptr<SrtpSession> srtp;
  std::vector<uint8_t> scratch;

  Counter rtp_accepted, rtp_malformed, rtp_decrypt_failed, rtp_unknown_track, rtcp_accepted, rtcp_malformed,
      rtcp_decrypt_failed, data_messages, bytes_recorded, chunks_closed, chunks_refused, keyframe_requests,
      lost_packets, rtp_paused, data_paused, bytes_paused, pauses;

  TrackState* find_track(uint32_t id) {
    if (last_track < tracks.size() && tracks[last_track].id == id) return &tracks[last_track];
    for (size_t i = 0; i < tracks.size(); ++i)
      if (tracks[i].id == id) {
        last_track = i;
        return &tracks[i];
      }
    return nullptr;
  }

  ChunkKey key_for(const ChunkWriter& w) const {
    ChunkKey k;
    k.prefix = rec->cfg.key_prefix;
    k.app = app;
    k.room = room;
    k.room_record_id = record_id;
    k.peer = peer;
    k.session = session_id;
    k.index = w.header().index;
    k.from_ts = w.first_ts();
    k.to_ts = w.last_ts();
    return k;
  }

  void close_chunk() {
    if (!writer) return;
    ChunkKey key = key_for(*writer);
    Buffer bytes = writer->finish();
    writer.reset();
    Status s = rec->store->put(key, std::move(bytes));
    // A refusal is logged and reported to on_error by the store.
    if (s)
      chunks_closed.add();
    else
      chunks_refused.add();
  }

  // Closes the open chunk when adding `frame_bytes` at `now` would break a limit.
  void rotate_if_needed(uint64_t now, size_t frame_bytes) {
    if (!writer) return;
    if (writer->size_bytes() + frame_bytes > rec->cfg.max_chunk_bytes ||
        elapsed(now, writer->first_ts()) >= rec->cfg.max_chunk_ms)
      close_chunk();
  }

  ChunkWriter& chunk(uint64_t now) {
    if (!writer) {
      ChunkHeader h;
      h.app = app;
      h.room = room;
      h.room_record_id = record_id;
      h.peer = peer;
      h.session = session_id;
      h.index = next_index++;
      h.first_ts = now;
      h.ip = ip;
      h.user_agent = user_agent;
      h.tracks.reserve(tracks.size());
      for (const auto& t : tracks) h.tracks.push_back({t.id, t.started_ts, t.info, t.paused});
      h.paused = paused;
      // Start small and double: heap pages freed by closed chunks are reused
      // (reserving the whole chunk up front measured 2.5x slower: every chunk
      // became a fresh mapping, faulted in page by page).
      size_t reserve = static_cast<size_t>(std::min<uint64_t>(rec->cfg.max_chunk_bytes, 64 * 1024));
      writer.emplace(h, reserve);
      // Each later chunk starts with a keyframe request per video track, so
      // it decodes on its own even if an earlier chunk is lost or damaged.
      if (h.index > 0)
        for (auto& t : tracks) maybe_request_keyframe(t, now);
    }
    return *writer;
  }

  void maybe_request_keyframe(TrackState& t, uint64_t now) {
    if (t.info.kind != TrackKind::video || !rec->cfg.request_keyframe) return;
    if (t.keyframe_requested && elapsed(now, t.last_keyframe_request) < kKeyframeRequestIntervalMs &&
        now >= t.last_keyframe_request)
      return;
    t.keyframe_requested = true;
    t.last_keyframe_request = now;
    keyframe_requests.add();
    try {
      rec->cfg.request_keyframe(*self, t.id);
    } catch (...) {
      // a throwing host callback must not break recording
    }
  }

  // Writes a pause or resume row for `track_id` (0: the session).
  void pause_row(bool pause, uint32_t track_id, uint64_t now) {
    rotate_if_needed(now, 32);
    if (pause) {
      chunk(now).add_pause(now, track_id);
      pauses.add();
    } else {
      chunk(now).add_resume(now, track_id);
    }
  }

  void note_track_paused(uint32_t id, bool paused_now) {
    std::lock_guard lock(paused_mu);
    auto it = std::find(paused_ids.begin(), paused_ids.end(), id);
    if (paused_now && it == paused_ids.end()) paused_ids.push_back(id);
    if (!paused_now && it != paused_ids.end()) paused_ids.erase(it);
  }

  // After a resume: the track's sequence starts afresh (the packets dropped while paused are no
  // loss) and a video track asks for a key frame.
  void resumed(TrackState& t, uint64_t now) {
    t.have_seq = false;
    t.keyframe_requested = false;
    maybe_request_keyframe(t, now);
  }

  void log_malformed(const char* what, const char* why, uint64_t now) {
    uint64_t held = 0;
    if (!rec->malformed_log.allow(now, &held)) return;
    std::string m = std::string("dropped malformed ") + what + " (" + why + ") from " + app + "/" + room + "/" +
                    peer + "/" + std::to_string(session_id);
    if (held) m += " (+" + std::to_string(held) + " more not logged)";
    log_message(LogLevel::warn, kComponent, m);
  }

  void finish_session(uint64_t now, bool leave_row) {
    if (closed.exchange(true)) return;
    if (leave_row) {
      rotate_if_needed(now, 32);
      chunk(now).add_leave(now);
    }
    close_chunk();
    rec->session_closed(app, room, peer, session_id);
  }
};

SessionRecorder::SessionRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }

SessionRecorder::~SessionRecorder() {
  if (impl_ && !impl_->closed.load()) {
    uint64_t last = impl_->writer ? impl_->writer->last_ts() : 0;
    impl_->finish_session(last, false);
  }
}

RecordResult SessionRecorder::track_started(uint32_t track_id, TrackKind kind, std::string_view name,
                                            std::string_view codec, uint32_t clock_rate, uint32_t channels,
                                            std::string_view fmtp, uint32_t ssrc, std::string_view rid,
                                            uint64_t now) {
  TrackInfo info;
  info.kind = kind;
  info.name = name;
  info.codec = codec;
  info.clock_rate = clock_rate;
  info.channels = channels;
  info.fmtp = fmtp;
  info.ssrc = ssrc;
  info.rid = rid;
  return track_started(track_id, info, now);
}

RecordResult SessionRecorder::track_started(uint32_t track_id, const TrackInfo& info, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (m.find_track(track_id)) return RecordResult::invalid;
  size_t ext_bytes = 0;
  for (const auto& e : info.extensions) ext_bytes += 8 + e.uri.size();
  m.rotate_if_needed(now, 256 + info.name.size() + info.codec.size() + info.fmtp.size() + info.rid.size() + ext_bytes);
  m.chunk(now).add_track_started(now, track_id, info);
  TrackState t;
  t.id = track_id;
  t.info = info;
  t.started_ts = now;
  m.tracks.push_back(std::move(t));
  m.maybe_request_keyframe(m.tracks.back(), now);
  return RecordResult::ok;
}

RecordResult SessionRecorder::rtp(uint32_t track_id, const uint8_t* packet, size_t n, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  TrackState* t = m.find_track(track_id);
  if (!t) {
    m.rtp_unknown_track.add();
    return RecordResult::unknown_track;
  }
  if (m.srtp) {
    if (n > kMaxPacketBytes || packet == nullptr) {
      m.rtp_malformed.add();
      m.log_malformed("SRTP packet", "too large", now);
      return RecordResult::malformed;
    }
    std::memcpy(m.scratch.data(), packet, n);
    Status s = m.srtp->unprotect_rtp(m.scratch.data(), n);
    if (!s) {
      m.rtp_decrypt_failed.add();
      return RecordResult::decrypt_failed;
    }
    packet = m.scratch.data();
  }
  rtp::RtpHeader h;
  rtp::RtpError why = rtp::RtpError::none;
  if (packet == nullptr || !rtp::parse_rtp(packet, n, h, &why)) {
    m.rtp_malformed.add();
    m.log_malformed("RTP packet", rtp::rtp_error_name(why), now);
    return RecordResult::malformed;
  }
  if (n > ChunkWriter::kMaxPayloadBytes) return RecordResult::too_large;
  if (m.paused || t->paused) {
    m.rtp_paused.add();
    m.bytes_paused.add(n);
    return RecordResult::paused;
  }
  if (t->info.kind == TrackKind::video) {
    if (t->have_seq) {
      int32_t d = rtp::seq_delta(t->last_seq, h.seq);
      if (d > 0) {
        if (d > 1) {
          m.lost_packets.add(static_cast<uint64_t>(d - 1));
          m.maybe_request_keyframe(*t, now);
        }
        t->last_seq = h.seq;
      }
    } else {
      t->have_seq = true;
      t->last_seq = h.seq;
    }
  }
  m.rotate_if_needed(now, format::bytes_row_frame_size(now, track_id, n));
  m.chunk(now).add_rtp(now, track_id, packet, n);
  m.rtp_accepted.add();
  m.bytes_recorded.add(n);
  return RecordResult::ok;
}

RecordResult SessionRecorder::rtcp(const uint8_t* packet, size_t n, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (m.srtp) {
    if (n > kMaxPacketBytes || packet == nullptr) {
      m.rtcp_malformed.add();
      return RecordResult::malformed;
    }
    std::memcpy(m.scratch.data(), packet, n);
    Status s = m.srtp->unprotect_rtcp(m.scratch.data(), n);
    if (!s) {
      m.rtcp_decrypt_failed.add();
      return RecordResult::decrypt_failed;
    }
    packet = m.scratch.data();
  }
  rtp::RtpError why = rtp::RtpError::none;
  if (packet == nullptr || !rtp::validate_rtcp_compound(packet, n, &why)) {
    m.rtcp_malformed.add();
    m.log_malformed("RTCP packet", rtp::rtp_error_name(why), now);
    return RecordResult::malformed;
  }
  if (n > ChunkWriter::kMaxPayloadBytes) return RecordResult::too_large;
  m.rotate_if_needed(now, format::bytes_row_frame_size(now, 0, n));
  m.chunk(now).add_rtcp(now, packet, n);
  m.rtcp_accepted.add();
  m.bytes_recorded.add(n);
  return RecordResult::ok;
}

RecordResult SessionRecorder::data(std::string_view label, bool binary, const uint8_t* bytes, size_t n, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (n > ChunkWriter::kMaxPayloadBytes || label.size() > 65535) return RecordResult::too_large;
  if (bytes == nullptr && n > 0) return RecordResult::invalid;
  if (m.paused) {
    m.data_paused.add();
    m.bytes_paused.add(n);
    return RecordResult::paused;
  }
  m.rotate_if_needed(now, format::kFrameOverhead + 32 + label.size() + n);
  m.chunk(now).add_data(now, label, binary, bytes, n);
  m.data_messages.add();
  m.bytes_recorded.add(n);
  return RecordResult::ok;
}

RecordResult SessionRecorder::track_stopped(uint32_t track_id, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  TrackState* t = m.find_track(track_id);
  if (!t) return RecordResult::unknown_track;
  if (t->paused) m.note_track_paused(track_id, false);  // a stopped track is no longer paused
  m.tracks.erase(m.tracks.begin() + (t - m.tracks.data()));
  m.last_track = 0;
  m.rotate_if_needed(now, 32);
  m.chunk(now).add_track_stopped(now, track_id);
  return RecordResult::ok;
}

RecordResult SessionRecorder::pause(uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (m.paused) return RecordResult::invalid;
  m.paused = true;
  m.paused_seen.store(true);
  m.pause_row(true, 0, now);
  return RecordResult::ok;
}

RecordResult SessionRecorder::resume(uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (!m.paused) return RecordResult::invalid;
  m.paused = false;
  m.paused_seen.store(false);
  m.pause_row(false, 0, now);
  for (auto& t : m.tracks)
    if (!t.paused) m.resumed(t, now);
  return RecordResult::ok;
}

RecordResult SessionRecorder::pause_track(uint32_t track_id, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (track_id == 0) return RecordResult::invalid;
  TrackState* t = m.find_track(track_id);
  if (!t) return RecordResult::unknown_track;
  if (t->paused) return RecordResult::invalid;
  t->paused = true;
  m.note_track_paused(track_id, true);
  m.pause_row(true, track_id, now);
  return RecordResult::ok;
}

RecordResult SessionRecorder::resume_track(uint32_t track_id, uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed)) return RecordResult::closed;
  if (track_id == 0) return RecordResult::invalid;
  TrackState* t = m.find_track(track_id);
  if (!t) return RecordResult::unknown_track;
  if (!t->paused) return RecordResult::invalid;
  t->paused = false;
  m.note_track_paused(track_id, false);
  m.pause_row(false, track_id, now);
  if (!m.paused) m.resumed(*t, now);
  return RecordResult::ok;
}

bool SessionRecorder::paused() const { return impl_->paused_seen.load(); }

bool SessionRecorder::track_paused(uint32_t track_id) const {
  std::lock_guard lock(impl_->paused_mu);
  return std::find(impl_->paused_ids.begin(), impl_->paused_ids.end(), track_id) != impl_->paused_ids.end();
}

std::vector<uint32_t> SessionRecorder::paused_tracks() const {
  std::lock_guard lock(impl_->paused_mu);
  return impl_->paused_ids;
}

RecordResult SessionRecorder::leave(uint64_t now) {
  if (impl_->closed.load()) return RecordResult::closed;
  impl_->finish_session(now, true);
  return RecordResult::ok;
}

RecordResult SessionRecorder::close(uint64_t now) {
  if (impl_->closed.load()) return RecordResult::closed;
  impl_->finish_session(now, false);
  return RecordResult::ok;
}

void SessionRecorder::tick(uint64_t now) {
  Impl& m = *impl_;
  if (m.closed.load(std::memory_order_relaxed) || !m.writer) return;
  if (elapsed(now, m.writer->first_ts()) >= m.rec->cfg.max_chunk_ms ||
      elapsed(now, m.writer->last_ts()) >= m.rec->cfg.max_chunk_ms)
    m.close_chunk();
}

const std::string& SessionRecorder::app() const { return impl_->app; }
const std::string& SessionRecorder::room() const { return impl_->room; }
const std::string& SessionRecorder::peer() const { return impl_->peer; }
uint64_t SessionRecorder::session_id() const { return impl_->session_id; }
const std::string& SessionRecorder::room_record_id() const { return impl_->record_id; }
bool SessionRecorder::is_closed() const { return impl_->closed.load(); }
void* SessionRecorder::user_data() const { return impl_->user_data; }

std::string SessionRecorder::room_path() const {
  ChunkKey k;
  k.prefix = impl_->rec->cfg.key_prefix;
  k.app = impl_->app;
  k.room = impl_->room;
  k.room_record_id = impl_->record_id;
  return k.room_path();
}

SessionStats SessionRecorder::stats() const {
  const Impl& m = *impl_;
  SessionStats s;
  s.rtp_accepted = m.rtp_accepted.get();
  s.rtp_malformed = m.rtp_malformed.get();
  s.rtp_decrypt_failed = m.rtp_decrypt_failed.get();
  s.rtp_unknown_track = m.rtp_unknown_track.get();
  s.rtcp_accepted = m.rtcp_accepted.get();
  s.rtcp_malformed = m.rtcp_malformed.get();
  s.rtcp_decrypt_failed = m.rtcp_decrypt_failed.get();
  s.data_messages = m.data_messages.get();
  s.bytes_recorded = m.bytes_recorded.get();
  s.chunks_closed = m.chunks_closed.get();
  s.chunks_refused = m.chunks_refused.get();
  s.keyframe_requests = m.keyframe_requests.get();
  s.lost_packets = m.lost_packets.get();
  s.rtp_paused = m.rtp_paused.get();
  s.data_paused = m.data_paused.get();
  s.bytes_paused = m.bytes_paused.get();
  s.pauses = m.pauses.get();
  return s;
}

// ---- Recorder ---------------------------------------------------------------

void Recorder::Impl::session_closed(const std::string& app, const std::string& room, const std::string& peer,
                                    uint64_t id) {
  std::lock_guard lock(mu);
  sessions.erase({app, room, peer, id});
  auto it = rooms.find({app, room});
  if (it != rooms.end() && --it->second.open_sessions == 0) rooms.erase(it);
}

Recorder::Recorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Recorder::~Recorder() {
  if (impl_) close_all(0);
}

Result<std::unique_ptr<Recorder>> Recorder::create(RecorderConfig config) {
  if (config.max_chunk_bytes < 4096)
    return Status::error(ErrorCode::invalid_argument, "max_chunk_bytes must be at least 4096");
  if (config.max_chunk_ms == 0) return Status::error(ErrorCode::invalid_argument, "max_chunk_ms must be positive");
  auto store = ChunkStore::open(config.store);
  if (!store) return store.status();
  auto impl = std::make_unique<Impl>();
  impl->store = std::move(store.value());
  if (config.on_error) impl->store->set_error_callback(config.on_error);
  impl->cfg = std::move(config);
  return std::unique_ptr<Recorder>(new Recorder(std::move(impl)));
}

Result<std::shared_ptr<SessionRecorder>> Recorder::open(std::string_view app, std::string_view room,
                                                        std::string_view peer, uint64_t session_id,
                                                        std::string_view ip, std::string_view user_agent,
                                                        uint64_t now) {
  SessionParams p;
  p.app = app;
  p.room = room;
  p.peer = peer;
  p.session_id = session_id;
  p.ip = ip;
  p.user_agent = user_agent;
  return open(p, now);
}

Result<std::shared_ptr<SessionRecorder>> Recorder::open(const SessionParams& params, uint64_t now) {
  if (params.app.empty() || params.room.empty() || params.peer.empty())
    return Status::error(ErrorCode::invalid_argument, "app, room and peer must not be empty");
  auto impl = std::make_unique<SessionRecorder::Impl>();
  if (params.srtp) {
    auto s = SrtpSession::create(*params.srtp, SrtpSession::Direction::unprotect);
    if (!s) return s.status().with_context("session SRTP key");
    impl->srtp = std::move(s.value());
    impl->scratch.resize(kMaxPacketBytes);
  }
  impl->rec = impl_;
  impl->app = params.app;
  impl->room = params.room;
  impl->peer = params.peer;
  impl->session_id = params.session_id;
  impl->ip = params.ip;
  impl->user_agent = params.user_agent;
  impl->user_data = params.user_data;
  std::shared_ptr<SessionRecorder> session;
  {
    std::lock_guard lock(impl_->mu);
    auto key = std::make_tuple(params.app, params.room, params.peer, params.session_id);
    auto existing = impl_->sessions.find(key);
    if (existing != impl_->sessions.end() && !existing->second.expired())
      return Status::error(ErrorCode::invalid_argument, "session " + params.app + "/" + params.room + "/" +
                                                            params.peer + "/" + std::to_string(params.session_id) +
                                                            " is already open");
    auto& room = impl_->rooms[{params.app, params.room}];
    if (room.open_sessions == 0)
      room.record_id = params.room_record_id.empty() ? std::to_string(now) : params.room_record_id;
    room.open_sessions++;
    impl->record_id = params.room_record_id.empty() ? room.record_id : params.room_record_id;
    session = std::shared_ptr<SessionRecorder>(new SessionRecorder(std::move(impl)));
    impl_->sessions[key] = session;
  }
  session->impl_->chunk(now).add_join(now);
  return session;
}

void Recorder::close_all(uint64_t now) {
  std::vector<std::shared_ptr<SessionRecorder>> open;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [k, w] : impl_->sessions)
      if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) {
    uint64_t t = now;
    if (s->impl_->writer) t = std::max(t, s->impl_->writer->last_ts());
    s->close(t);
  }
}

ChunkStore& Recorder::store() { return *impl_->store; }
const RecorderConfig& Recorder::config() const { return impl_->cfg; }
size_t Recorder::open_sessions() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

}  // namespace roomrec
