// AacEncoder: 48 kHz interleaved float PCM into AAC-LC packets with FFmpeg's
// native "aac" encoder (libavcodec), for the composed MP4.
//
// Samples are buffered into the encoder's 1024-sample frames. Packets come
// out contiguous: packet k starts at sample k * 1024 of the encoder's output,
// which begins `delay()` samples (the encoder's priming) before the first
// input sample; an MP4 writes that delay as its edit list. No threads.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

struct AVCodecContext;
struct AVFrame;
struct AVPacket;

namespace roomrec::media {

struct AacPacket {
  std::vector<uint8_t> data;
  uint64_t index = 0;  // packet number: starts at index * frame_size() samples
};

class AacEncoder {
 public:
  static Result<std::unique_ptr<AacEncoder>> create(uint32_t channels, uint32_t bitrate);
  ~AacEncoder();
  AacEncoder(const AacEncoder&) = delete;
  AacEncoder& operator=(const AacEncoder&) = delete;

  // `frames` samples per channel, interleaved.
  Status push(const float* pcm, size_t frames, std::vector<AacPacket>& out);
  // Pads the last frame and drains the encoder.
  Status finish(std::vector<AacPacket>& out);

  const std::vector<uint8_t>& audio_specific_config() const { return asc_; }
  uint32_t frame_size() const { return frame_size_; }
  uint32_t delay() const { return delay_; }

 private:
  AacEncoder() = default;
  Status encode(AVFrame* frame, std::vector<AacPacket>& out);

  AVCodecContext* ctx_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* pkt_ = nullptr;
  uint32_t channels_ = 2, frame_size_ = 1024, delay_ = 0;
  size_t filled_ = 0;  // samples per channel in frame_
  uint64_t next_index_ = 0, next_pts_ = 0;
  bool finished_ = false;
  std::vector<uint8_t> asc_;
};

}  // namespace roomrec::media
