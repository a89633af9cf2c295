/*
 * roomrec C ABI, recording half (libroomrec): record WebRTC rooms into chunks,
 * upload them, send hook events. Links no codec. Converting and replaying
 * recordings is in roomrec_convert.h (libroomrec-convert, which includes this
 * header and links libroomrec).
 *
 * C11, no dependency beyond <stdint.h> and <stddef.h>. Everything is reached
 * through opaque handles created with roomrec_<object>_new (or _open/_start)
 * and released with roomrec_<object>_free (which accepts NULL). Configurations
 * are JSON strings, so the ABI can grow without breaking.
 *
 * Return values
 *   Functions returning int give ROOMREC_OK (0) or a negative ROOMREC_ERR_*
 *   code; roomrec_last_error() then gives a message for this thread. Session
 *   calls may also give a positive ROOMREC_RECORD_* code: the input was
 *   dropped (and counted in the session's stats), recording goes on.
 *   No C++ exception ever leaves the library.
 *
 * Strings
 *   Strings passed in are NUL-terminated UTF-8; NULL is refused unless the
 *   function says otherwise. Strings handed out through a char** are
 *   allocated by the library and released with roomrec_free_string(); on
 *   error the char** is set to NULL. Times are unix milliseconds unless named
 *   otherwise.
 *
 * Threads
 *   Every function may be called from any thread. A session (roomrec_session)
 *   is used by one thread at a time; different sessions may be used
 *   concurrently. Each callback says on which thread it runs and what it may
 *   call. Callbacks must not unwind (longjmp, C++ exceptions) through the
 *   library.
 */
#ifndef ROOMREC_C_H
#define ROOMREC_C_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(ROOMREC_BUILDING)
#    define ROOMREC_C_API __declspec(dllexport)
#  else
#    define ROOMREC_C_API __declspec(dllimport)
#  endif
#else
#  define ROOMREC_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ------------------------------------------------------------ */

/* The library version this header belongs to (also roomrec_version()). */
#define ROOMREC_C_VERSION_MAJOR 0
#define ROOMREC_C_VERSION_MINOR 1
#define ROOMREC_C_VERSION_PATCH 0

/* One comparable number: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define ROOMREC_C_VERSION_NUMBER \
  (ROOMREC_C_VERSION_MAJOR * 10000 + ROOMREC_C_VERSION_MINOR * 100 + ROOMREC_C_VERSION_PATCH)

/* Raised whenever a function or a callback signature of this header (or of
 * roomrec_convert.h) changes incompatibly; it is also the shared libraries'
 * soversion (libroomrec.so.2, libroomrec-convert.so.2). Bindings compare it
 * with roomrec_abi_version() at load time.
 *   2: conversion and replay moved to libroomrec-convert (roomrec_convert.h);
 *      per-session user data (roomrec_session_set_user_data). */
#define ROOMREC_ABI_VERSION 2

/* "0.1.0": a static string. */
ROOMREC_C_API const char* roomrec_version(void);
/* ROOMREC_ABI_VERSION of the library actually loaded. */
ROOMREC_C_API int roomrec_abi_version(void);

/* ---- errors (values are fixed forever) ------------------------------------ */

#define ROOMREC_OK 0
#define ROOMREC_ERR_INVALID_ARGUMENT (-1)   /* malformed argument, JSON or URI */
#define ROOMREC_ERR_NOT_FOUND (-2)
#define ROOMREC_ERR_CORRUPT (-3)            /* damaged input data */
#define ROOMREC_ERR_IO (-4)                 /* file system error */
#define ROOMREC_ERR_RESOURCE_EXHAUSTED (-5) /* budgets full, disk full */
#define ROOMREC_ERR_UNAVAILABLE (-6)        /* network down, server 5xx */
#define ROOMREC_ERR_PERMISSION_DENIED (-7)  /* 401/403, bad signature, expired URL */
#define ROOMREC_ERR_TIMEOUT (-8)
#define ROOMREC_ERR_CANCELLED (-9)
#define ROOMREC_ERR_UNSUPPORTED (-10)
#define ROOMREC_ERR_INTERNAL (-11)          /* a bug, or out of memory */

/* What a session call did with its input, when it did not record it. */
#define ROOMREC_RECORD_MALFORMED 1      /* invalid RTP/RTCP */
#define ROOMREC_RECORD_DECRYPT_FAILED 2 /* SRTP authentication or replay failure */
#define ROOMREC_RECORD_UNKNOWN_TRACK 3  /* rtp for a track not started (or stopped) */
#define ROOMREC_RECORD_TOO_LARGE 4      /* payload over the chunk row limit */
#define ROOMREC_RECORD_CLOSED 5         /* the session has left or was closed */
#define ROOMREC_RECORD_INVALID 6        /* bad arguments (duplicate track id, pausing what is paused...) */
#define ROOMREC_RECORD_PAUSED 7         /* rtp of a paused track or session, data of a paused session */

/* A static name for any code above ("ok", "invalid_argument", "malformed"...);
 * "unknown" for other values. */
ROOMREC_C_API const char* roomrec_strerror(int code);

/* The message of the last call on this thread that returned a negative code
 * (or a positive ROOMREC_RECORD_INVALID); "" if none. Valid until the next
 * roomrec call on this thread. Never NULL. */
ROOMREC_C_API const char* roomrec_last_error(void);

/* Releases a string the library handed out. NULL is ignored. */
ROOMREC_C_API void roomrec_free_string(char* s);

/* ---- logging --------------------------------------------------------------- */

#define ROOMREC_LOG_TRACE 0
#define ROOMREC_LOG_DEBUG 1
#define ROOMREC_LOG_INFO 2
#define ROOMREC_LOG_WARN 3
#define ROOMREC_LOG_ERROR 4
#define ROOMREC_LOG_OFF 5

/* Runs on any library thread (or the caller's), possibly concurrently from
 * several threads. The strings are valid during the call only. It must not
 * call roomrec_set_log_callback; other roomrec calls are allowed. */
typedef void (*roomrec_log_cb)(int level, const char* component, const char* message, void* user);

/* Sets the process-wide log callback and the lowest level passed to it.
 * NULL silences the library (the default). */
ROOMREC_C_API int roomrec_set_log_callback(roomrec_log_cb cb, void* user, int min_level);

/* ---- recorder -------------------------------------------------------------- */

typedef struct roomrec_recorder roomrec_recorder;
typedef struct roomrec_session roomrec_session;
typedef struct roomrec_url_request roomrec_url_request;

/*
 * config_json (every field optional; unknown fields are refused):
 * {
 *   "key_prefix": "",                  prepended to every chunk key
 *   "max_chunk_bytes": 16777216,       a chunk closes before it grows past this
 *   "max_chunk_ms": 60000,             ... or spans this long, or idles this long
 *   "store": {"memory_budget_bytes": 104857600, "spill_dir": "/var/lib/x",
 *             "disk_budget_bytes": 1073741824, "min_free_disk_bytes": 67108864,
 *             "durable": false, "durable_background": false, "recover": true},
 *                                      durable: every closed chunk is on disk before it is
 *                                      uploaded (written by the thread closing it; with
 *                                      durable_background by the store's own thread, so
 *                                      session calls do no I/O while memory has room)
 *   "upload": {                        absent: chunks stay in the store
 *     one of:
 *       "uri": "/local/folder" | "file:///abs" | "http://KEY:SECRET@host:9000/bucket/prefix?path_style=true"
 *              (an S3 URI is presigned locally with SigV4),
 *       "connector": {"url": "http://...", "headers": {"Authorization": "Bearer x"}, "timeout_ms": 10000},
 *       "callback": true               (URLs from roomrec_recorder_set_url_callback)
 *     and optionally:
 *     "workers": 2, "retry_initial_ms": 500, "retry_max_ms": 30000,
 *     "url_timeout_ms": 30000, "connect_timeout_ms": 5000, "low_speed_time_s": 20,
 *     "ca_file": "", "presign_expires_s": 86400,
 *     "path_prefix": ""                prefix of the paths in record hooks (connector/callback)
 *   },
 *   "hooks": {"url": "http://...", "body_type": "protobuf-json" | "protobuf-binary",
 *             "headers": {...}, "node": 0, "queue_capacity": 10000,
 *             "retry_initial_ms": 500, "retry_max_ms": 30000, "max_attempts": 0,
 *             "request_timeout_ms": 10000}
 *                                      Record Started / PeerJoined events, sent when a
 *                                      room's / session's first chunk reaches S3
 *                                      (presigned uploads only, not local folders)
 * }
 * With "store.spill_dir" and "store.recover" (default true), chunks a previous
 * process left there are queued again by roomrec_recorder_start().
 *
 * The recorder does not upload until roomrec_recorder_start(); sessions may be
 * opened before. Callbacks are set between _new and _start.
 */
ROOMREC_C_API int roomrec_recorder_new(const char* config_json, roomrec_recorder** out);

/* Keyframe request: runs on the thread calling the session, inside the
 * session call that causes it (track_started, rtp, or any call that opens a
 * new chunk), when a video track starts recording, when a new chunk starts
 * (so every chunk decodes on its own) and when a sequence gap shows loss (at
 * most once a second per track). `session` is the handle the call was made
 * on: the host finds its own per-session data with
 * roomrec_session_user_data(session) (`user` is the recorder-wide pointer
 * given with the callback). It must not call any roomrec_session_* function
 * on that session except roomrec_session_user_data; it typically asks the
 * sender for a PLI/FIR and returns. */
typedef void (*roomrec_keyframe_cb)(roomrec_session* session, uint32_t track_id, void* user);

/* Errors while recording and uploading: a chunk refused by a full store, a
 * spill failure, a failed upload attempt (retried). Any library thread or the
 * thread calling a session. May call any roomrec function except
 * roomrec_recorder_free / _shutdown on this recorder. `message` is valid
 * during the call only. */
typedef void (*roomrec_error_cb)(int code, const char* message, void* user);

/* A chunk is stored at its destination: runs on an upload worker thread.
 * May call any roomrec function except roomrec_recorder_free / _shutdown on
 * this recorder. `key` is valid during the call only. */
typedef void (*roomrec_uploaded_cb)(const char* key, uint64_t bytes, void* user);

/* Where to PUT a chunk ("upload": {"callback": true}): runs on an upload
 * worker thread. `request_json` is
 *   {"app","room","peer","session","index","from_ts","to_ts","key"}
 * (valid during the call only). The host answers `req` exactly once, now or
 * later, from any thread, with roomrec_url_request_answer() or
 * roomrec_url_request_fail(); either releases `req`. The worker waits up to
 * "url_timeout_ms" and then retries with a new request (a late answer is
 * ignored). An unanswered request keeps its small allocation. */
typedef void (*roomrec_url_cb)(roomrec_url_request* req, const char* request_json, void* user);

ROOMREC_C_API int roomrec_recorder_set_keyframe_callback(roomrec_recorder* rec, roomrec_keyframe_cb cb, void* user);
ROOMREC_C_API int roomrec_recorder_set_error_callback(roomrec_recorder* rec, roomrec_error_cb cb, void* user);
ROOMREC_C_API int roomrec_recorder_set_uploaded_callback(roomrec_recorder* rec, roomrec_uploaded_cb cb, void* user);
ROOMREC_C_API int roomrec_recorder_set_url_callback(roomrec_recorder* rec, roomrec_url_cb cb, void* user);

/* Answers with a presigned PUT URL (releases req). */
ROOMREC_C_API int roomrec_url_request_answer(roomrec_url_request* req, const char* url);
/* Answers with a failure (releases req): the upload attempt fails with `code`
 * (a negative ROOMREC_ERR_*; others count as ROOMREC_ERR_UNAVAILABLE) and is retried. */
ROOMREC_C_API int roomrec_url_request_fail(roomrec_url_request* req, int code, const char* message);

/* Recovers spilled chunks (see "store.recover") and starts the upload workers. */
ROOMREC_C_API int roomrec_recorder_start(roomrec_recorder* rec);

/* Waits until every chunk accepted so far is uploaded: ROOMREC_OK, or
 * ROOMREC_ERR_TIMEOUT. Without "upload", returns ROOMREC_ERR_INVALID_ARGUMENT. */
ROOMREC_C_API int roomrec_recorder_flush(roomrec_recorder* rec, uint64_t timeout_ms);

/* Orderly end: closes every open session (none may be in a call), waits up
 * to timeout_ms for the uploads and the hook events, stops the workers and
 * writes what is left in memory to "store.spill_dir" (if any) for a later run. *unsent (may be NULL) gets the
 * number of chunks not uploaded. The recorder accepts no new session afterwards. */
ROOMREC_C_API int roomrec_recorder_shutdown(roomrec_recorder* rec, uint64_t timeout_ms, size_t* unsent);

/* Closes every session still open (no leave rows); their chunks go to the
 * store. No session of the recorder may be in a call at that moment. */
ROOMREC_C_API int roomrec_recorder_close_all(roomrec_recorder* rec, uint64_t now_ms);

/* {"open_sessions": n,
 *  "store": {"chunks_in_memory", "bytes_in_memory", "chunks_on_disk", "bytes_on_disk",
 *            "chunks_spilling", "bytes_spilling", "chunks_uploading", "chunks_pending",
 *            "chunks_accepted", "chunks_uploaded", "bytes_uploaded", "chunks_refused",
 *            "bytes_refused", "chunks_recovered", "spill_errors"},
 *  "upload": {"uploaded", "bytes_uploaded", "failures"} | null,
 *  "hooks": {"queued", "sent", "failed_attempts", "dropped", "given_up", "pending"} | null} */
ROOMREC_C_API int roomrec_recorder_stats(roomrec_recorder* rec, char** stats_json);

/* Shuts down without waiting (as roomrec_recorder_shutdown(rec, 0, NULL)) and
 * releases the recorder. No session of it may be in a call at that moment;
 * session handles stay valid (their calls give ROOMREC_RECORD_CLOSED) and are
 * freed separately. No callback of this recorder runs after it returns. */
ROOMREC_C_API void roomrec_recorder_free(roomrec_recorder* rec);

/* ---- sessions ------------------------------------------------------------ */

/*
 * Opens a peer session (writes its join row).
 * params_json: {"app": "a", "room": "r", "peer": "p", "session_id": 1,
 *               "ip": "", "user_agent": "", "room_record_id": "",
 *               "srtp": {"sdes": "1 AES_CM_128_HMAC_SHA1_80 inline:BASE64"}
 *                     | {"profile": "AES_CM_128_HMAC_SHA1_80", "inline": "BASE64"}
 *                     | {"profile": "AEAD_AES_128_GCM", "key_hex": "00ff..."}}
 * With "srtp", roomrec_session_rtp/_rtcp take SRTP/SRTCP packets and decrypt them.
 * Fails on empty app/room/peer, a session already open, a bad key.
 */
ROOMREC_C_API int roomrec_session_open(roomrec_recorder* rec, const char* params_json, uint64_t now_ms,
                                       roomrec_session** out);

/* track_json: {"kind": "audio" | "video", "name": "video_main", "codec": "vp8",
 *              "clock_rate": 90000, "channels": 0, "fmtp": "", "ssrc": 0, "rid": "",
 *              "cvo_extension_id": 0,
 *              "extensions": [{"id": 3, "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}]}
 * "extensions": every RTP header extension negotiated for the track (RFC 8285
 * a=extmap id 1..255 and URI, at most 16), kept in the chunks for converters. */
ROOMREC_C_API int roomrec_session_track_started(roomrec_session* s, uint32_t track_id, const char* track_json,
                                                uint64_t now_ms);
/* The hot path: no allocation, no I/O, no lock shared with other sessions. */
ROOMREC_C_API int roomrec_session_rtp(roomrec_session* s, uint32_t track_id, const uint8_t* packet, size_t n,
                                      uint64_t now_ms);
ROOMREC_C_API int roomrec_session_rtcp(roomrec_session* s, const uint8_t* packet, size_t n, uint64_t now_ms);
/* A data-channel message; binary != 0 for a binary message. bytes may be NULL when n == 0. */
ROOMREC_C_API int roomrec_session_data(roomrec_session* s, const char* label, int binary, const uint8_t* bytes,
                                       size_t n, uint64_t now_ms);
ROOMREC_C_API int roomrec_session_track_stopped(roomrec_session* s, uint32_t track_id, uint64_t now_ms);
/* Writes a leave row, closes the open chunk and ends the session. */
ROOMREC_C_API int roomrec_session_leave(roomrec_session* s, uint64_t now_ms);
/* Closes the open chunk and ends the session (no leave row). */
ROOMREC_C_API int roomrec_session_close(roomrec_session* s, uint64_t now_ms);
/* Pause and resume recording of the whole session, or of one track (track_id
 * >= 1). Each call writes a pause/resume row, so conversions know the spans.
 * While paused, roomrec_session_rtp (of the paused track, or any track of a
 * paused session) and roomrec_session_data (paused session) record nothing
 * and return ROOMREC_RECORD_PAUSED; the drops are counted in the stats
 * ("rtp_paused", "data_paused", "bytes_paused"). RTCP, track start/stop and
 * leave are still recorded. Session and track pauses are independent: a track
 * is recorded when neither is paused. Pausing what is already paused, or
 * resuming what is not, writes nothing and returns ROOMREC_RECORD_INVALID
 * (roomrec_last_error() says which); an unknown track gives
 * ROOMREC_RECORD_UNKNOWN_TRACK. Resuming asks the keyframe callback for a key
 * frame of each video track that records again. */
ROOMREC_C_API int roomrec_session_pause(roomrec_session* s, uint64_t now_ms);
ROOMREC_C_API int roomrec_session_resume(roomrec_session* s, uint64_t now_ms);
ROOMREC_C_API int roomrec_session_pause_track(roomrec_session* s, uint32_t track_id, uint64_t now_ms);
ROOMREC_C_API int roomrec_session_resume_track(roomrec_session* s, uint32_t track_id, uint64_t now_ms);
/* Time-based rotation; call it every second or so. */
ROOMREC_C_API int roomrec_session_tick(roomrec_session* s, uint64_t now_ms);

/* {"app", "room", "peer", "session_id", "room_record_id", "room_path", "closed",
 *  "paused" (the session), "paused_tracks" ([track ids paused on their own]),
 *  "rtp_paused", "data_paused", "bytes_paused", "pauses", "rtp_accepted", "rtp_malformed", "rtp_decrypt_failed", "rtp_unknown_track",
 *  "rtcp_accepted", "rtcp_malformed", "rtcp_decrypt_failed", "data_messages",
 *  "bytes_recorded", "chunks_closed", "chunks_refused", "keyframe_requests",
 *  "lost_packets"}. Any thread. */
ROOMREC_C_API int roomrec_session_stats(roomrec_session* s, char** stats_json);
/* "{prefix}/{app}/{room}/{room_record_id}": what the converter takes, below the sink's root. */
ROOMREC_C_API int roomrec_session_room_path(roomrec_session* s, char** path);

/* Attaches the host's pointer to the session (NULL by default): the keyframe
 * callback gets the session handle, and roomrec_session_user_data() gives the
 * pointer back. Set it before the session is used from other threads. */
ROOMREC_C_API int roomrec_session_set_user_data(roomrec_session* s, void* user_data);
/* The pointer set with roomrec_session_set_user_data (NULL for a NULL session).
 * Any thread, also inside the keyframe callback. */
ROOMREC_C_API void* roomrec_session_user_data(roomrec_session* s);

/* Ends the session if still open (as roomrec_session_close with its last
 * time) and releases the handle. */
ROOMREC_C_API void roomrec_session_free(roomrec_session* s);

/* ---- S3 presigning ------------------------------------------------------------ */

/* A presigned URL for METHOD ("PUT", "GET", "HEAD", "DELETE") on the object
 * {s3_uri prefix}/{key}, valid expiry_s seconds (1..604800) from unix_time_s
 * (seconds; 0 = now). s3_uri: http(s)://KEY:SECRET@host[:port]/bucket[/prefix]?path_style=true&region=... */
ROOMREC_C_API int roomrec_s3_presign(const char* method, const char* s3_uri, const char* key, uint32_t expiry_s,
                                     int64_t unix_time_s, char** url);

/* ---- hook sender ------------------------------------------------------------- */

typedef struct roomrec_hook_sender roomrec_hook_sender;

/* config_json: {"url": "http://receiver/hooks", "body_type": "protobuf-json" | "protobuf-binary",
 *               "headers": {"Authorization": "Bearer x"}, "node": 0, "queue_capacity": 10000,
 *               "retry_initial_ms": 500, "retry_max_ms": 30000, "max_attempts": 0 (for ever),
 *               "request_timeout_ms": 10000}
 * Events are POSTed in order from one thread of the sender, each retried until
 * delivered (or max_attempts). */
ROOMREC_C_API int roomrec_hook_sender_new(const char* config_json, roomrec_hook_sender** out);

/* Queues a JSON body as it is (Content-Type application/json). It must parse
 * as JSON. ROOMREC_ERR_RESOURCE_EXHAUSTED when the queue is full. */
ROOMREC_C_API int roomrec_hook_sender_send_json(roomrec_hook_sender* h, const char* json_body);

#define ROOMREC_HOOK_RECORD_STARTED 0     /* path: "{prefix}/{app}/{room}/{record_id}" */
#define ROOMREC_HOOK_RECORD_PEER_JOINED 1 /* path: ".../{peer}/{session}"; peer required */

/* Queues a Record event encoded with the configured body type. ts_ms 0 = now. */
ROOMREC_C_API int roomrec_hook_sender_record_event(roomrec_hook_sender* h, int kind, const char* app,
                                                   const char* room, const char* peer, const char* path,
                                                   uint64_t ts_ms);

#define ROOMREC_HOOK_ROOM_STARTED 0
#define ROOMREC_HOOK_ROOM_PEER_JOINED 1
#define ROOMREC_HOOK_ROOM_PEER_LEAVED 2
#define ROOMREC_HOOK_ROOM_ALL_PEERS_LEAVED 3
#define ROOMREC_HOOK_ROOM_STOPPED 4

/* Queues a Room event; peer may be NULL for room-wide kinds. ts_ms 0 = now. */
ROOMREC_C_API int roomrec_hook_sender_room_event(roomrec_hook_sender* h, int kind, const char* app,
                                                 const char* room, const char* peer, uint64_t ts_ms);

/* Waits until every queued event is delivered (or given up): ROOMREC_OK or ROOMREC_ERR_TIMEOUT. */
ROOMREC_C_API int roomrec_hook_sender_flush(roomrec_hook_sender* h, uint64_t timeout_ms);
/* {"queued", "sent", "failed_attempts", "dropped", "given_up", "pending"} */
ROOMREC_C_API int roomrec_hook_sender_stats(roomrec_hook_sender* h, char** stats_json);
/* Stops (events still queued are dropped) and releases the sender. */
ROOMREC_C_API void roomrec_hook_sender_free(roomrec_hook_sender* h);

#ifdef __cplusplus
}
#endif

#endif /* ROOMREC_C_H */
