// Thumbnails of a WebM/MKV video (a composed room, or a transmuxed camera
// track): a JPEG every N seconds of the file's time, one sprite sheet with all
// of them, and a WebVTT thumbnail track (`{name}.vtt`, cues pointing into the
// sprite with #xywh=) for players' seek previews.
//
// Only what is needed is decoded: for each thumbnail time, the frames from
// the key frame before it up to the frame shown at that time; the frames of a
// group of pictures after the last thumbnail in it are never decoded. With
// key frames at the thumbnail times (the composer's keyframe_interval_s equal
// to interval_s, its default 10 s) one frame is decoded per thumbnail.
//
//   roomrec::ThumbnailOptions o;
//   o.output_dir = "/tmp/thumbs";
//   auto t = roomrec::make_thumbnails("/tmp/room.webm", o).value();  // room-0000.jpg ..., room-sprite.jpg, room.vtt
#pragma once

#include <roomrec/export.h>
#include <roomrec/status.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace roomrec {

struct ThumbnailOptions {
  std::string output_dir;       // created when missing
  std::string name;             // file name stem; empty: the media file's name without its extension
  uint32_t interval_s = 10;     // a thumbnail at 0, N, 2N, ... seconds of the file (1..3600)
  uint32_t width = 160;         // thumbnail width (16..1920, even); the height keeps the aspect ratio
  uint32_t quality = 80;        // JPEG quality (1..100)
  uint32_t columns = 10;        // thumbnails per sprite row (1..100)
  const std::atomic<bool>* cancel = nullptr;
};

struct Thumbnail {
  uint64_t time_ms = 0;     // the file time it shows (the frame shown then)
  std::string path;         // its JPEG
  uint32_t x = 0, y = 0;    // its place in the sprite sheet
};

struct ThumbnailsResult {
  std::vector<Thumbnail> thumbnails;
  std::string sprite_path, vtt_path;
  uint32_t width = 0, height = 0;  // of one thumbnail
  uint64_t duration_ms = 0;        // of the video track
  uint64_t frames_in_file = 0;     // video frames in the file
  uint64_t frames_decoded = 0;     // of them, decoded to make the thumbnails
};

// The option checks (the same words wherever the options come from).
ROOMREC_API Status validate(const ThumbnailOptions& options);

// The first video track of a local WebM or MKV file (VP8, VP9, H264).
ROOMREC_API Result<ThumbnailsResult> make_thumbnails(const std::string& media_path, const ThumbnailOptions& options);

}  // namespace roomrec
