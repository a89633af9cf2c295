/*
 * roomrec C ABI, conversion half (libroomrec-convert): transmux and compose a
 * recorded room, replay a recorded peer session as live RTP. Links the codecs
 * (libvpx, libopus, OpenH264, libyuv, libwebm, FFmpeg's libavformat); a program that only records
 * needs roomrec.h and libroomrec alone.
 *
 * Conventions (return codes, strings, threads, roomrec_last_error,
 * roomrec_free_string) are those of roomrec.h, which this header includes.
 * Link with -lroomrec-convert -lroomrec (pkg-config roomrec-convert).
 */
#ifndef ROOMREC_CONVERT_H
#define ROOMREC_CONVERT_H

#include "roomrec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- conversion ------------------------------------------------------------ */

/*
 * job_json:
 * {"input": "<S3 URI of the room's recording path | local folder | file:// | .mjr folder>",
 *  "transmux": {"output": "<folder | S3 URI prefix>", "temp_dir": "", "threads": 0,
 *               "speakers": false (true: who spoke when, speakers.json beside summary.json),
 *               "format": "auto" | "webm" | "mkv" | "mp4" (container of the files; auto: mp4 for H264
 *                         and AV1, webm for VP8, VP9 and Opus; a codec the asked container cannot
 *                         hold goes to the nearest one that can, listed in "problems"),
 *               "mp4_mode": "faststart" | "fragmented",
 *               "pause_mode": "cut" (default: recording pauses cut out) | "keep" (kept as a gap)} | null,
 *  "compose": {"output": "<file | S3 URI | presigned PUT URL>", "audio": true, "video": true,
 *              "width": 1280, "height": 720, "fps": 15, "video_codec": "vp8" | "vp9" | "h264" (MP4),
 *              "audio_codec": "opus" | "aac" (default aac with h264, else opus; aac: MP4),
 *              "video_bitrate": 1500000, "audio_bitrate": 64000, "threads": 2,
 *              "keyframe_interval_s": 10, "cpu_used": 8, "temp_dir": "",
 *              "thumbnail_interval_s": 0 (N: thumbnails every N s, local outputs),
 *              "layout": "grid" | "speaker" | "single-speaker" | "presentation" |
 *                        {"regions": [{"x", "y", "w", "h", "z", "role" | "peer"}],
 *                         "changes": [{"at": "10:02" | seconds, "layout" | "regions"}]}
 *                        (a custom layout; README "Layouts"),
 *              "speaker_hold_ms": 2000, "speaker_lead_ms": 300,
 *              "names": false (peer names on the tiles), "speaker_border": false,
 *              "pause_mode": "cut" (default: the times every present peer is paused cut out) | "keep"} | null,
 *  "participants": {"output": "<folder | S3 URI prefix>", "temp_dir": "", "threads": 0, "speaker_audio": true,
 *                   "multichannel": false} | null,
 *  (participants: one file per peer on the room's timeline, see roomrec/participants.h)
 *  "selection": {"include_peers": ["alice"], "exclude_peers": ["bob"],
 *                "exclude_tracks": ["carol/video_main", "video_main"]} (consent: peers and tracks
 *                left out appear in no output, not even the mix; default: everyone) | null}
 * At least one of transmux, compose and participants. Bit rates in bit/s. Values are checked
 * by the library's one validation (roomrec::validate), the same words as the
 * CLI, the worker and Python give: e.g. "compose.fps must be 1..120".
 * Result (every field; tests/python checks the list against what is returned):
 *   {"input", "app", "room", "room_record_id",
 *    "transmux": {"duration_ms",
 *                 "files": [{"path", "uri", "peer", "session", "track", "codec", "container", "start", "end",
 *                            "width", "height", "frames", "paused_ms", "bytes"}],
 *                 "data_files": [{"path", "uri", "peer", "session", "label", "start", "end",
 *                                 "messages", "bytes"}],
 *                 "summary": {...summary.json...},
 *                 "speakers": {...speakers.json: "peers": [{"peer", "speaking_ms", "audio_ms",
 *                              "spans": [{"start", "end"}]}], "timeline": [...]...} | null} | null,
 *    "compose": {"media_uri", "container", "duration_ms", "paused_ms", "bytes", "thumbnails", "thumbnails_vtt"} | null,
 *    "participants": {"output", "start", "end", "duration_ms",
 *                     "files": [{"path", "uri", "kind" ("av" | "audio" | "multichannel"), "peer", "sessions",
 *                                "video" ("remuxed" | "reencoded" | "none"), "video_reason", "video_codec",
 *                                "width", "height", "audio", "audio_frames", "silence_frames", "video_frames",
 *                                "pauses": [{"start", "end"}], "duration_ms", "bytes"}],
 *                     "channels": [{"channel", "peer"}], "problems"} | null,
 *    "problems": [...]}
 */

/* Runs a job on the calling thread. */
ROOMREC_C_API int roomrec_convert(const char* job_json, char** result_json);

typedef struct roomrec_convert_job roomrec_convert_job;

/* Progress of an asynchronous job: runs on one of the job's threads, one call
 * at a time. `phase` is "transmux", "compose" or "participants" (valid during the call);
 * done_ms / total_ms are media times within the phase; fraction is of the
 * whole job, 0..1. It may call roomrec_convert_job_cancel() on its job, but
 * not _wait, _result or _free of that job. */
typedef void (*roomrec_progress_cb)(const char* phase, uint64_t done_ms, uint64_t total_ms, double fraction,
                                    void* user);

/* Validates the job and starts it on a thread of its own. progress may be NULL. */
ROOMREC_C_API int roomrec_convert_job_start(const char* job_json, roomrec_progress_cb progress, void* user,
                                            roomrec_convert_job** out);
/* Asks the job to stop; it then ends with ROOMREC_ERR_CANCELLED (unless it had already finished). */
ROOMREC_C_API int roomrec_convert_job_cancel(roomrec_convert_job* job);
/* Waits for the job: 1 when finished, 0 if still running after timeout_ms
 * (a negative timeout waits for ever), a negative code for a bad handle. */
ROOMREC_C_API int roomrec_convert_job_wait(roomrec_convert_job* job, int64_t timeout_ms);
/* Waits until the job finishes, then gives its code; on ROOMREC_OK
 * *result_json (may be NULL) gets the result, on failure roomrec_last_error()
 * the job's message. May be called several times. */
ROOMREC_C_API int roomrec_convert_job_result(roomrec_convert_job* job, char** result_json);
/* Cancels the job if running, waits for its thread and releases it. */
ROOMREC_C_API void roomrec_convert_job_free(roomrec_convert_job* job);

/* ---- replay ------------------------------------------------------------------- */

/* Plays one recorded peer session back as live RTP without transcoding (see
 * include/roomrec/replayer.h): each stored RTP packet with its due time,
 * sequence numbers and timestamps rewritten to be continuous, SSRC and
 * payload type mapped, RTCP sender reports regenerated, data-channel messages
 * with their due times. The replayer has no thread of its own: pull items
 * with roomrec_replayer_next() and send each at its due time, or let
 * roomrec_replayer_run() pace them on the calling thread. One thread at a
 * time uses a replayer (roomrec_replayer_stop() excepted).
 *
 * config_json:
 * {"input": "<S3 URI of the room's recording path | local folder | file:// | .mjr folder>",  (required)
 *  "peer": "alice",                    (required)
 *  "session": 1,                       default: the peer's first session
 *  "tracks": ["audio_main", "2"],      names or track ids; default: every track
 *  "data": true,                       yield data-channel messages
 *  "seek_ms": 0,                       from the session's first row; video starts at the
 *                                      nearest earlier keyframe
 *  "speed": 1.0,                       0: as fast as possible (every due time 0)
 *  "rtcp": true, "rtcp_interval_ms": 1000, "cname": "", "ntp_origin_ms": 0 (0: now),
 *  "map": {"<track name or id>": {"ssrc": 1234, "payload_type": 96,
 *                                  "first_seq": 0, "first_timestamp": 0}},
 *  "srtp": {"sdes": "1 AES_CM_128_HMAC_SHA1_80 inline:BASE64"}
 *        | {"profile": "AES_CM_128_HMAC_SHA1_80", "inline": "BASE64"}
 *        | {"profile": "AEAD_AES_128_GCM", "key_hex": "00ff..."}}   protect the output
 * Opening reads the session once (tracks, keyframes). */
typedef struct roomrec_replayer roomrec_replayer;

ROOMREC_C_API int roomrec_replayer_open(const char* config_json, roomrec_replayer** out);

/* {"peer", "session", "cname", "duration_ms", "start_ms",
 *  "tracks": [{"id", "name", "kind": "audio" | "video", "codec", "clock_rate", "channels", "fmtp",
 *              "ssrc", "payload_type", "packets", "keyframes"}]} */
ROOMREC_C_API int roomrec_replayer_info(roomrec_replayer* r, char** info_json);

/* An SDP describing the output for a receiver at `address`: track i on port
 * first_port + 2*i, its RTCP on the next port; RTP/SAVP and a=crypto with SRTP. */
ROOMREC_C_API int roomrec_replayer_sdp(roomrec_replayer* r, const char* address, uint16_t first_port, char** sdp);

#define ROOMREC_REPLAY_RTP 0
#define ROOMREC_REPLAY_RTCP 1
#define ROOMREC_REPLAY_DATA 2

/* One item. Pointers are valid until the next call on the replayer.
 * struct_size: set it to sizeof(roomrec_replay_item) before
 * roomrec_replayer_next() (ROOMREC_REPLAY_ITEM_INIT does); the library fills
 * only the fields that fit in it, so fields added at the end in a later
 * version leave older programs working. Items handed to a roomrec_replay_cb
 * carry the library's own struct_size. */
typedef struct roomrec_replay_item {
  size_t struct_size;
  int kind;               /* ROOMREC_REPLAY_* */
  uint32_t track_id;      /* rtp, rtcp */
  uint64_t due_ms;        /* from the replay's start instant */
  uint64_t media_ms;      /* position in the recording from the start point */
  uint64_t recorded_ms;   /* unix ms the row was recorded */
  int keyframe;           /* rtp: first packet of a video keyframe */
  int binary;             /* data: binary message */
  const char* label;      /* data: channel label (NUL-terminated); "" otherwise */
  const uint8_t* bytes;   /* rtp/rtcp packet as it goes on the wire; data payload */
  size_t size;
} roomrec_replay_item;

#define ROOMREC_REPLAY_ITEM_INIT {sizeof(roomrec_replay_item), 0, 0, 0, 0, 0, 0, 0, NULL, NULL, 0}

/* 1 with *item filled, 0 at the end, or a negative code when the replay
 * failed; ROOMREC_ERR_INVALID_ARGUMENT when item->struct_size is smaller than
 * the first version of the struct (this one). */
ROOMREC_C_API int roomrec_replayer_next(roomrec_replayer* r, roomrec_replay_item* item);

/* Runs on the thread calling roomrec_replayer_run(), once per item at its due
 * time. Return 0 to go on, anything else to stop. It may call
 * roomrec_replayer_stop() and _stats on its replayer, nothing else of it. */
typedef int (*roomrec_replay_cb)(const roomrec_replay_item* item, void* user);

/* Paces the replay on this thread, sleeping between items: ROOMREC_OK at the
 * end, ROOMREC_ERR_CANCELLED when the callback or roomrec_replayer_stop()
 * stopped it, another code on failure. */
ROOMREC_C_API int roomrec_replayer_run(roomrec_replayer* r, roomrec_replay_cb cb, void* user);

/* Makes a running roomrec_replayer_run() return within 50 ms. Any thread. */
ROOMREC_C_API int roomrec_replayer_stop(roomrec_replayer* r);

/* {"rtp_packets", "rtp_bytes", "rtcp_packets", "data_messages", "duplicates_dropped",
 *  "skipped_before_start", "segments", "malformed", "protect_failures", "problems": [...]} */
ROOMREC_C_API int roomrec_replayer_stats(roomrec_replayer* r, char** stats_json);

/* Releases the replayer (not while roomrec_replayer_run is running on it). NULL is ignored. */
ROOMREC_C_API void roomrec_replayer_free(roomrec_replayer* r);

#ifdef __cplusplus
}
#endif

#endif /* ROOMREC_CONVERT_H */
