// Mp4Writer: codec frames into an MP4 file through FFmpeg's libavformat MP4
// muxer (Debian libavformat), without transcoding.
//
//   video: H264 (avc1 + avcC, AVCC length-prefixed frames as the H264
//          depacketizer makes them), AV1 (av01 + av1C, low-overhead OBUs)
//   audio: Opus (Opus + dOps, from an OpusHead; pre-skip as an edit list),
//          AAC (mp4a + esds, from the encoder's AudioSpecificConfig)
//
// Frames go into the file byte for byte (libavformat converts nothing that
// is already AVCC / av1C / without temporal delimiters).
//
// Modes:
//   faststart   the index (moov) at the front: written last, then moved to
//               the front by libavformat when finish() is called (the file is
//               rewritten once). A cut conversion leaves no playable file.
//   fragmented  fMP4: an empty moov, then a fragment (moof + mdat) at every
//               video key frame and at least every 2 s, written as it goes,
//               so a cut conversion leaves a playable prefix; finish() adds the
//               fragment index (mfra) for seeking.
//
// Time: frames carry microseconds from the file's start. Video is kept at a
// 90 kHz timescale, audio at its sample rate. Each track holds its newest
// frame back until the next one (or finish()), so every sample's duration is
// the real interval; the last one gets the Opus TOC's duration, the AAC frame
// size, or the track's previous interval. Within a track timestamps are made
// strictly increasing (a frame at or before the previous one goes one tick
// after it). The caller interleaves tracks by time.
//
// Rotation: a video track's display matrix (tkhd) from `rotation` (degrees
// clockwise the picture must be turned for display, as WebRTC's video
// orientation says), which players apply.
//
// Logging: the first writer installs an FFmpeg log callback (av_log_set_callback)
// that sends this muxer's warnings and errors to roomrec's log and passes
// every other FFmpeg context's messages to FFmpeg's default callback.
//
// Not thread-safe: one thread at a time.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct AVFormatContext;
struct AVStream;

namespace roomrec::media {

enum class Mp4Mode { faststart, fragmented };

// Sends an FFmpeg context's warnings and errors to roomrec's log (add) or
// stops doing so (before it is freed); see "Logging" above.
void route_ffmpeg_log(const void* ctx, bool add);

struct Mp4VideoParams {
  std::string codec;  // "h264" or "av1" (case-insensitive)
  uint32_t width = 0, height = 0;      // tkhd/sample entry size; 0: from note_video_size()
  std::vector<uint8_t> codec_private;  // avcC (h264) or av1C (av1): required
  int rotation = 0;                    // 0, 90, 180, 270
};

struct Mp4AudioParams {
  std::string codec = "opus";  // "opus" or "aac"
  uint32_t sample_rate = 48000;
  uint32_t channels = 2;
  // Opus: pre-skip in samples at 48 kHz (the OpusHead is built unless given).
  // AAC: the encoder's delay (priming samples), written as an edit list.
  uint32_t initial_padding = 312;
  std::vector<uint8_t> codec_private;  // Opus: an OpusHead or empty; AAC: the AudioSpecificConfig (required)
  uint32_t frame_size = 0;             // samples per frame; 0: 960 for Opus, 1024 for AAC
};

class Mp4Writer {
 public:
  // Opens (creates or truncates) `path`. io error if it cannot be created.
  static Result<std::unique_ptr<Mp4Writer>> create(const std::string& path, Mp4Mode mode);
  ~Mp4Writer();  // if not finished: finishes (best effort)

  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;

  // Track ids 0, 1, ... Before the first frame. invalid_argument for bad params
  // or after the first frame; unsupported for a codec MP4 does not take here.
  Result<uint32_t> add_video_track(const Mp4VideoParams& p);
  Result<uint32_t> add_audio_track(const Mp4AudioParams& p);

  // The file's creation time (unix ms) in its header, so that the same
  // recording always converts to the same bytes. Before the first frame.
  void set_creation_time_ms(uint64_t unix_ms);

  // See above. invalid_argument for an unknown track, an empty frame or after
  // finish(); io when the file cannot be written (then every later call
  // fails the same way).
  Status write_frame(uint32_t track, const uint8_t* data, size_t n, uint64_t timestamp_us, bool keyframe);

  // A video frame size seen in the stream: the track's size is the maximum
  // (width and height each on its own) in faststart mode; in fragmented mode
  // the header is written at the first frame, with the size known then.
  void note_video_size(uint32_t track, uint32_t width, uint32_t height);

  // Writes the held frames and the index, closes the file. invalid_argument if
  // no frame was written (the empty file is removed). Again: the first result.
  Status finish();

  uint64_t frames_written(uint32_t track) const;
  uint64_t bytes_written() const;

 private:
  struct Track;
  Mp4Writer(std::string path, Mp4Mode mode);
  Status start();
  Status emit(Track& t, int64_t duration);
  Status av_status(int err, const char* what);

  std::string path_;
  Mp4Mode mode_;
  AVFormatContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<Track>> tracks_;
  bool started_ = false, finished_ = false;
  Status finish_status_;
  Status sticky_error_;
  uint64_t creation_ms_ = 0;
};

}  // namespace roomrec::media
