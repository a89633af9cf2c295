// Composer: a whole room in one file — every voice mixed, every camera in a
// grid that follows who is live, audio and video on one timeline. WebM (VP8 or
// VP9 + Opus), or MP4 with faststart (H264 from OpenH264 + AAC or Opus,
// written by FFmpeg's libavformat): see compose_container().
#pragma once

#include <roomrec/export.h>
#include <roomrec/recording_source.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace roomrec {

struct ComposeOptions {
  bool audio = true;
  bool video = true;
  // A local file path (or file://), an S3 URI naming the object
  // (http(s)://KEY:SECRET@host/bucket/path/file.webm?path_style=true), or an
  // already presigned PUT URL. S3 outputs above 64 MiB go up in parts.
  std::string output;
  std::string temp_dir;  // staging for S3/presigned outputs; default $TMPDIR or /tmp
  uint32_t width = 1280, height = 720, fps = 15;
  std::string video_codec = "vp8";  // "vp8" or "vp9" (WebM), "h264" (MP4, OpenH264 Constrained Baseline)
  // "opus" or "aac" (FFmpeg's native AAC-LC encoder; MP4 only); empty: aac
  // with video_codec h264, opus otherwise.
  std::string audio_codec;
  uint32_t video_bitrate = 1'500'000;  // bit/s, 50k..50M
  uint32_t audio_bitrate = 64'000;     // bit/s, 6k..510k
  // Threads kept busy. 1: reading, decoding, mixing, layout and encoding
  // take turns on the calling thread. 2 or more: the video encoder runs on a
  // thread of its own, given threads - 1 libvpx threads, while the calling
  // thread reads, decodes, mixes and lays out the next frames.
  uint32_t threads = 2;
  uint32_t keyframe_interval_s = 10;
  int cpu_used = 8;                   // libvpx speed (realtime)
  std::function<void(uint64_t done_ms, uint64_t total_ms)> progress;
  const std::atomic<bool>* cancel = nullptr;  // also ends an upload in progress
  // Outbound requests to the output (S3 or a presigned URL). When
  // output_address_allowed is set (an output a client chose, such as the
  // worker's custom_s3), each connection's peer address ("203.0.113.7",
  // "::1") must pass it and connection failures are reported without detail.
  std::function<bool(const std::string& address)> output_address_allowed;
  uint64_t output_request_timeout_ms = 0;  // total deadline of each request; 0: the low-speed limit only
  // Thumbnails of the composed video every N seconds (0: none): JPEGs, a sprite sheet and a WebVTT
  // track (thumbnails.h) in "{output without its extension}-thumbnails/" — beside a local output, or
  // under that key prefix for an S3 output. Not for a presigned URL (it names one object).
  uint32_t thumbnail_interval_s = 0;
  // How the cameras are laid out: "grid" (every live camera in an adaptive
  // grid), "speaker" (the active speaker large, the others in a strip on the
  // right), "single-speaker" (only the active speaker), "presentation" (a
  // screen share, a video track whose name contains "screen", large; the
  // cameras in the strip), or a custom layout as JSON text: regions of the
  // frame, each showing a peer or a role (speaker, screen, others), and
  // changes at times ({"regions": [...], "changes": [{"at": "10:02", "layout":
  // "presentation"}]}; README "Layouts"). Layouts that follow the active
  // speaker first read the room's audio once (detect_speakers()).
  std::string layout = "grid";
  uint32_t speaker_hold_ms = 2000;  // the active speaker stays at least this long (0..60000)
  uint32_t speaker_lead_ms = 300;   // a switch comes this far ahead of the voice (0..5000)
  bool names = false;               // each tile shows its peer's name (font: Debian fonts-dejavu-core)
  bool speaker_border = false;      // a yellow frame around the active speaker's tile
  // Recording pauses. In either mode a paused peer's audio is silent and its picture leaves the
  // grid at the pause (the others' cells reflow), coming back with its first key frame after the
  // resume. "keep": the file is the room's timeline, paused time included. "cut" (default): the
  // times when every peer present is paused (session pause, or all its open tracks paused) are
  // taken out; output time = room time - start - (such paused time before it). Times when nobody
  // is present are kept.
  std::string pause_mode = "cut";
};

// The composed file's container: "mp4" when video_codec is h264 or the audio
// is AAC, else "webm".
inline std::string compose_container(const ComposeOptions& o) {
  return o.video_codec == "h264" || o.audio_codec == "aac" ? "mp4" : "webm";
}
// The audio codec compose writes: audio_codec, or its default.
inline std::string compose_audio_codec(const ComposeOptions& o) {
  if (!o.audio_codec.empty()) return o.audio_codec;
  return o.video_codec == "h264" ? "aac" : "opus";
}

struct ComposeResult {
  std::string media_uri;   // the local path, the S3 key, or the presigned URL without its query
  uint64_t duration_ms = 0;  // of the file (with pause_mode "cut": without the paused time)
  uint64_t paused_ms = 0;    // room time cut out (pause_mode "cut"), 0 otherwise
  uint64_t bytes = 0;      // the file's size
  std::string container;   // "webm" or "mp4" (compose_container())
  uint64_t source_frames = 0;  // recorded audio and video frames that went in (0: the file is silence only)
  std::string thumbnails_vtt;  // with thumbnail_interval_s: the WebVTT track's path, or its S3 key
  uint64_t thumbnails = 0;     // how many
  std::vector<std::string> problems;
};

// Every setting, and the output only when one is set (the worker picks
// outputs after checking a request). compose() calls it; so do the C ABI,
// Python, the CLI and the worker, for one message per mistake.
ROOMREC_API Status validate(const ComposeOptions& options);

ROOMREC_API Result<ComposeResult> compose(RecordingSource& source, const ComposeOptions& options);

}  // namespace roomrec
