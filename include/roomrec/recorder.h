// Recorder and SessionRecorder: record raw peer sessions into chunks.
//
// The host media server opens one SessionRecorder per peer session and calls
// it from its own threads, once per packet. A session is used by one thread at
// a time; sessions share no lock on the hot path. rtp() validates the packet
// (and decrypts it when the session has an SRTP key), appends it to the open
// chunk and, when the chunk reaches max_chunk_bytes or spans max_chunk_ms,
// closes it and hands it to the ChunkStore: O(1), no I/O (except in the
// store's durable mode, or when the store's memory budget is full while its
// spill thread is behind), no allocation in the steady state.
#pragma once

#include <roomrec/chunk_key.h>
#include <roomrec/chunk_store.h>
#include <roomrec/chunk_types.h>
#include <roomrec/export.h>
#include <roomrec/srtp.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roomrec {

class SessionRecorder;

// What a call on a session did with its input.
enum class RecordResult : int {
  ok = 0,
  malformed,       // invalid RTP/RTCP: counted and dropped
  decrypt_failed,  // SRTP authentication or replay failure: counted and dropped
  unknown_track,   // rtp() for a track that was not started (or stopped)
  too_large,       // payload over the chunk row limit
  closed,          // the session has left or was closed
  invalid,         // bad arguments (duplicate track id, pausing what is already paused...)
  paused,          // media of a paused session or track: counted (SessionStats::*_paused), not recorded
};
ROOMREC_API const char* record_result_name(RecordResult r) noexcept;

struct RecorderConfig {
  std::string key_prefix;                  // prepended to every chunk key ("" for none)
  uint64_t max_chunk_bytes = 16ull << 20;  // a chunk closes before it would grow past this
  uint64_t max_chunk_ms = 60'000;          // ... or span this long, or sit idle this long
  ChunkStoreConfig store;
  // Fires on the thread calling the session (inside track_started() or rtp())
  // when a video track starts recording and when a sequence gap shows loss,
  // at most once per second per track. It must not call back into the session.
  std::function<void(SessionRecorder& session, uint32_t track_id)> request_keyframe;
  // Reports refusals and store errors (any thread).
  std::function<void(const Status&)> on_error;
};

struct SessionParams {
  std::string app, room, peer;
  uint64_t session_id = 0;
  std::string ip, user_agent;
  std::string room_record_id;  // empty: the recorder assigns one per room recording
  std::optional<SrtpKey> srtp; // set when the host passes SRTP-protected packets
  // The host's pointer for this session, handed back by SessionRecorder::user_data()
  // (e.g. in the keyframe callback); roomrec never dereferences it.
  void* user_data = nullptr;
};

struct SessionStats {
  uint64_t rtp_accepted = 0, rtp_malformed = 0, rtp_decrypt_failed = 0, rtp_unknown_track = 0;
  uint64_t rtcp_accepted = 0, rtcp_malformed = 0, rtcp_decrypt_failed = 0;
  uint64_t data_messages = 0;
  uint64_t bytes_recorded = 0;     // payload bytes accepted
  uint64_t chunks_closed = 0;      // handed to the store and accepted
  uint64_t chunks_refused = 0;     // refused by a full store
  uint64_t keyframe_requests = 0;
  uint64_t lost_packets = 0;       // sequence gaps seen on RTP
  uint64_t rtp_paused = 0;         // RTP packets received while their track or the session was paused
  uint64_t data_paused = 0;        // data-channel messages received while the session was paused
  uint64_t bytes_paused = 0;       // their bytes (none of them recorded)
  uint64_t pauses = 0;             // pause rows written (session and track)
};

class ROOMREC_API SessionRecorder {
 public:
  ~SessionRecorder();
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;

  RecordResult track_started(uint32_t track_id, TrackKind kind, std::string_view name, std::string_view codec,
                             uint32_t clock_rate, uint32_t channels, std::string_view fmtp, uint32_t ssrc,
                             std::string_view rid, uint64_t now);
  RecordResult track_started(uint32_t track_id, const TrackInfo& info, uint64_t now);
  RecordResult rtp(uint32_t track_id, const uint8_t* packet, size_t n, uint64_t now);
  RecordResult rtcp(const uint8_t* packet, size_t n, uint64_t now);
  RecordResult data(std::string_view label, bool binary, const uint8_t* bytes, size_t n, uint64_t now);
  RecordResult track_stopped(uint32_t track_id, uint64_t now);
  // Writes a leave row, closes the open chunk and ends the session.
  RecordResult leave(uint64_t now);
  // Closes the open chunk and ends the session (no leave row).
  RecordResult close(uint64_t now);
  // Pause and resume. While the session is paused, no RTP and no data-channel message is recorded
  // (each is counted in stats() and answered RecordResult::paused); RTCP, track start/stop and leave
  // still are. A paused track drops only its own RTP. A track is recorded when neither it nor the
  // session is paused: the two are independent (resume() leaves a track paused on its own paused).
  // Each call writes a row (Pause/Resume, track_id 0 for the session), so the converter knows the
  // spans. Pausing what is already paused, or resuming what is not paused, writes nothing and
  // returns RecordResult::invalid (a host that repeats a request learns it did); an unknown track
  // gives unknown_track; track id 0 names the session in the rows, so pause_track(0) is invalid.
  // Resuming a video track (or a session with video) asks the keyframe callback for a key frame, so
  // the recording goes on with a picture that decodes.
  RecordResult pause(uint64_t now);
  RecordResult resume(uint64_t now);
  RecordResult pause_track(uint32_t track_id, uint64_t now);
  RecordResult resume_track(uint32_t track_id, uint64_t now);
  // The state now, from any thread (like stats()):
  bool paused() const;                        // the session
  bool track_paused(uint32_t track_id) const; // the track on its own (false for an unknown track)
  std::vector<uint32_t> paused_tracks() const; // the tracks paused on their own, in the order paused

  // Time-based rotation: closes the open chunk when it spans max_chunk_ms or
  // no row arrived for max_chunk_ms. Call it every second or so.
  void tick(uint64_t now);

  const std::string& app() const;
  const std::string& room() const;
  const std::string& peer() const;
  uint64_t session_id() const;
  const std::string& room_record_id() const;
  // "{prefix}/{app}/{room}/{room_record_id}": what the converter takes.
  std::string room_path() const;
  bool is_closed() const;
  void* user_data() const;     // SessionParams::user_data
  SessionStats stats() const;  // any thread

 private:
  friend class Recorder;
  struct Impl;
  ROOMREC_HIDDEN explicit SessionRecorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class ROOMREC_API Recorder {
 public:
  static Result<std::unique_ptr<Recorder>> create(RecorderConfig config);
  ~Recorder();  // closes every open session (their chunks go to the store)
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Opens a peer session; it writes a join row first. Fails on empty
  // app/room/peer, a session id already open, or a bad SRTP key.
  Result<std::shared_ptr<SessionRecorder>> open(const SessionParams& params, uint64_t now);
  Result<std::shared_ptr<SessionRecorder>> open(std::string_view app, std::string_view room, std::string_view peer,
                                                uint64_t session_id, std::string_view ip,
                                                std::string_view user_agent, uint64_t now);

  // Closes every session still open (no leave rows).
  void close_all(uint64_t now);

  ChunkStore& store();
  const RecorderConfig& config() const;
  size_t open_sessions() const;

 private:
  struct Impl;
  ROOMREC_HIDDEN explicit Recorder(std::unique_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
  friend class SessionRecorder;
};

}  // namespace roomrec
