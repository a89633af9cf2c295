// WebmWriter: codec frames into a seekable WebM / Matroska file (libwebm's
// mkvmuxer), without transcoding.
//
//   webm: VP8 (V_VP8), VP9 (V_VP9), AV1 (V_AV1 + av1C), Opus (A_OPUS)
//   mkv:  the same plus H264 (V_MPEG4/ISO/AVC + avcC, AVCC length-prefixed frames)
//
// The file gets: writing app "roomrec", timecode scale 1 ms; a new cluster on
// every video key frame and at most every 5 s; cues on the first video track
// (the audio track in audio-only files), each on a key frame; the real
// duration (last frame + its duration: the Opus TOC for Opus, the frame rate
// or the typical frame interval for video); and in every video track header the
// MAXIMUM width/height seen (params and note_video_size), kept up to date while
// writing, so even an unfinished file carries the largest size seen so far.
//
// The DocType is chosen by mkvmuxer from the codecs ("webm" when every track is
// a WebM codec, also in Container::mkv; "matroska" otherwise).
//
// Add every track before the first frame. Not thread-safe: one thread at a time.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mkvmuxer {
class Segment;
}  // namespace mkvmuxer

namespace roomrec::media {

enum class Container { webm, mkv };  // webm: VP8/VP9/AV1/Opus; mkv: anything incl. H264

struct VideoTrackParams {
  std::string codec;  // "vp8", "vp9", "av1", "h264" (case-insensitive)
  uint32_t width = 0, height = 0;     // 0: unknown yet (note_video_size)
  std::vector<uint8_t> codec_private;  // avcC for h264 (required), av1C for av1, optional for vp9
  double frame_rate = 0;               // > 0: written as FrameRate, and the last frame's duration
};

struct AudioTrackParams {
  std::string codec = "opus";  // only Opus
  uint32_t sample_rate = 48000;  // OpusHead input sample rate (the track says 48000, Opus's output rate)
  uint32_t channels = 2;
  uint16_t pre_skip = 312;  // samples at 48 kHz; CodecDelay = pre_skip * 1e9 / 48000 ns
  // Empty: an OpusHead is built (19 bytes, version 1, mapping family 0, which
  // needs channels 1 or 2). Otherwise written as given.
  std::vector<uint8_t> codec_private;
};

// Samples (at 48 kHz) in one Opus packet, from its TOC (RFC 6716 3.1); 0 if malformed.
uint32_t opus_packet_samples(const uint8_t* d, size_t n);
// An OpusHead (RFC 7845 5.1): 19 bytes, version 1, mapping family 0 (channels 1 or 2).
std::vector<uint8_t> opus_head(uint32_t channels, uint16_t pre_skip, uint32_t input_rate);

class WebmWriter {
 public:
  // Opens (creates or truncates) `path` for writing. io error if it cannot be created.
  static Result<std::unique_ptr<WebmWriter>> create(const std::string& path, Container c);
  ~WebmWriter();  // if not finished: finishes (best effort, the status is lost)

  WebmWriter(const WebmWriter&) = delete;
  WebmWriter& operator=(const WebmWriter&) = delete;

  // The segment's DateUTC: when the media started (Unix ms), so that the same
  // recording always converts to the same bytes. Before the first frame;
  // without it mkvmuxer writes the time of writing. Dates before 2001 are ignored.
  void set_date_utc_ms(uint64_t unix_ms);

  // Return the track number (1, 2, ...). invalid_argument for bad params or
  // after the first frame; unsupported for an unknown codec or H264 in webm.
  Result<uint64_t> add_video_track(const VideoTrackParams& p);
  Result<uint64_t> add_audio_track(const AudioTrackParams& p);

  // Frames in non-decreasing timestamp order per file (the caller interleaves
  // tracks by time). timestamp_ns: from the file's start. A frame older than
  // the last one written to the file is written at that last time instead;
  // within a track timecodes (1 ms) stay strictly increasing: a frame at or
  // before its track's previous frame goes 1 ms after it. Audio frames are
  // always marked key frames. invalid_argument
  // for an unknown track, an empty frame or after finish(); io /
  // resource_exhausted when the file cannot be written (then every later call
  // fails the same way).
  Status write_frame(uint64_t track, const uint8_t* data, size_t n, uint64_t timestamp_ns, bool keyframe);

  // A video frame size seen in the stream. The track header ends up with the
  // maximum width and the maximum height (each on its own) over the stream.
  // Ignored for unknown / audio tracks and zero sizes.
  void note_video_size(uint64_t track, uint32_t width, uint32_t height);

  // Writes pending frames, cues, the duration and the final sizes, and closes
  // the file. invalid_argument if no frame was written (the empty file is
  // removed). Calling it again returns the first result.
  Status finish();

  uint64_t frames_written(uint64_t track) const;  // 0 for an unknown track
  uint64_t bytes_written() const;                 // the file's size so far

 private:
  class FileWriter;
  struct Track;

  WebmWriter(std::string path, Container c, std::unique_ptr<FileWriter> file);
  Track* find_track(uint64_t number);
  const Track* find_track(uint64_t number) const;
  Status check_can_add_track() const;
  Status locate_size_fields();
  void patch_size_fields(Track& t);
  uint64_t end_time_ns() const;
  void repair_cues();
  Status io_status(const char* what) const;

  std::string path_;
  Container container_;
  std::unique_ptr<FileWriter> file_;            // outlives segment_ (declared before it)
  std::unique_ptr<mkvmuxer::Segment> segment_;
  std::vector<Track> tracks_;
  bool has_video_ = false;
  bool header_written_ = false;
  bool finished_ = false;
  Status finish_status_;
  Status sticky_error_;               // an I/O failure: the file is broken
  uint64_t last_timestamp_ns_ = 0;    // newest timestamp handed to the muxer
  uint64_t total_frames_ = 0;
  std::vector<int32_t> bad_cues_;     // cue indexes that landed on video delta frames
};

}  // namespace roomrec::media
