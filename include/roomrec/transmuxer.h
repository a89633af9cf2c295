// Transmuxer: every track of a room recording into its own playable file,
// without transcoding, plus a summary.json timeline.
//
// Files are named {peer}-{session}-{codec}-{track}-{start_ts}.{ext}, one per
// track per start/stop span; ext is the container (TransmuxOptions::format):
// by default mp4 for H264 and AV1, webm for VP8, VP9 and Opus.
// summary.json has the reference's TransmuxSummary shape
//   {"metadata_json": "...", "peers": {peer: {"sessions": {id: {"track": {name:
//     {"kind": 0|1, "timeline": [{"path", "start", "end", ...}]}}}}}}}
// where each timeline entry also carries codec, container, width, height, frames,
// first_keyframe_offset_ms and the packet statistics of its span, and a
// top-level "problems" list says what was missing or damaged.
//
// Each recorded data channel of a session becomes {peer}-{session}-data-{label}.jsonl,
// one JSON object per message in recorded order:
//   {"time": <unix ms>, "binary": false, "text": "..."}       text messages (valid UTF-8)
//   {"time": <unix ms>, "binary": true, "base64": "..."}      binary messages, and text that is not UTF-8
// listed beside the tracks of its session, under a key the track readers ignore:
//   "sessions": {id: {"track": {...}, "data": {label: {"path", "start", "end", "messages"}}}}
//
// Pauses (SessionRecorder::pause/pause_track) never split a file: a track is one file per
// start/stop span, paused or not. Each session lists its own pauses and each timeline entry the
// pauses of its track (the session's and the track's own, merged), in room time:
//   "sessions": {id: {"pauses": [{"start", "end"}], "track": {name: {"timeline": [{...,
//       "pauses": [{"start", "end"}], "paused_ms": <paused time between start and end>}]}}}}
// (a pause still open when the session or track ended ends there). pause_mode says what the file
// does with the paused time:
//   "keep": the file stays on the room timeline: paused time is a gap in the frames (a
//       player holds the last picture; Opus tracks get 20 ms silent frames across it, so audio
//       plays on as silence). File time = room time - start.
//   "cut" (default: one continuous file across pauses): the paused time is taken out: frames after a pause move earlier by the paused time
//       before them, so the file plays without the gaps and lasts (end - start - paused_ms).
//       File time = room time - start - (paused time between start and that moment).
// start, end, the pauses and data-channel times stay in room time in either mode.
#pragma once

#include <roomrec/export.h>
#include <roomrec/recording_source.h>
#include <roomrec/speakers.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace roomrec {

struct TransmuxOptions {
  // A local folder (created), "file://...", or an S3 URI whose prefix the
  // files are uploaded under (local temporaries removed afterwards).
  std::string output;
  std::string temp_dir;  // for S3 output; default: $TMPDIR or /tmp
  // Sessions converted at once (each on its own thread); 0: one per core.
  unsigned threads = 0;
  // Media time converted so far and in all (ms); called from the converting
  // threads, one call at a time.
  std::function<void(uint64_t done_ms, uint64_t total_ms)> progress;
  const std::atomic<bool>* cancel = nullptr;  // set to true to stop early (Status cancelled), uploads included
  // Outbound requests to the output (S3 or a presigned URL). When
  // output_address_allowed is set (an output a client chose, such as the
  // worker's custom_s3), each connection's peer address ("203.0.113.7",
  // "::1") must pass it and connection failures are reported without detail.
  std::function<bool(const std::string& address)> output_address_allowed;
  uint64_t output_request_timeout_ms = 0;  // total deadline of each request; 0: the low-speed limit only
  // The container of each track's file (frames are copied, never transcoded):
  //   "auto"  mp4 for H264 and AV1 video, webm for VP8, VP9 and Opus (the default)
  //   "mp4"   H264, AV1 and Opus in MP4 (libavformat's muxer); VP8 and VP9 go to webm
  //   "webm"  VP8, VP9, AV1 and Opus in WebM; H264 goes to mkv
  //   "mkv"   every codec in Matroska
  // A codec the asked container cannot hold is written in the nearest one that
  // can (the lines above), never dropped: the result's "problems" say which
  // track went where, and each file lists its container.
  std::string format = "auto";
  // MP4 files: "faststart" (the index at the front, written when the file is
  // complete) or "fragmented" (fMP4 written as it goes: a cut conversion still
  // leaves a playable prefix).
  std::string mp4_mode = "faststart";
  // Who spoke when (speakers.h): speakers.json beside summary.json, and in the result.
  bool speakers = false;
  SpeakerOptions speaker_options;
  // What the files do with paused time: "cut" (taken out, the default) or "keep" (a gap on the room
  // timeline; see above).
  std::string pause_mode = "cut";
};

struct TransmuxFile {
  std::string path;     // as listed in summary.json (relative to the output)
  std::string uri;      // where it was written (local path or s3 key)
  std::string peer, track, codec;
  std::string container;  // "mp4", "webm" or "mkv"
  uint64_t session = 0;
  uint64_t start_ms = 0, end_ms = 0;
  uint32_t width = 0, height = 0;
  uint64_t frames = 0;
  uint64_t bytes = 0;   // the file's size
  uint64_t paused_ms = 0;  // paused time between start_ms and end_ms (cut out with pause_mode "cut")
};

struct TransmuxDataFile {
  std::string path;   // as listed in summary.json (relative to the output)
  std::string uri;    // where it was written (local path or s3 key)
  std::string peer, label;  // label as in summary.json (made safe when not UTF-8)
  uint64_t session = 0;
  uint64_t start_ms = 0, end_ms = 0;  // first and last message
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

struct TransmuxResult {
  std::string summary_json;
  std::vector<TransmuxFile> files;
  std::vector<TransmuxDataFile> data_files;  // one per data channel of each session
  std::vector<std::string> problems;
  uint64_t duration_ms = 0;  // from the first to the last media time of the room
  std::optional<SpeakersResult> speakers;  // with TransmuxOptions::speakers (also in speakers.json)
  std::string speakers_uri;                // where speakers.json was written (local path or s3 key)
};

// Every setting, and the output only when one is set. transmux() calls it,
// and so does every front end (see validate(ConvertJob) in converter.h).
ROOMREC_API Status validate(const TransmuxOptions& options);

ROOMREC_API Result<TransmuxResult> transmux(RecordingSource& source, const TransmuxOptions& options);

}  // namespace roomrec
