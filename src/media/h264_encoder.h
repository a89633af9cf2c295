// H264Encoder: I420 pictures into H264 (Constrained Baseline, CAVLC, one slice)
// with Cisco's OpenH264 encoder (Debian libopenh264), for the composed MP4.
//
// Output frames are AVCC (each NAL unit with a 4-byte big-endian length, as an
// MP4 sample holds them); key frames are IDR frames and carry the SPS/PPS
// in-band too. The parameter sets keep constant ids and bytes, so avcc() (built
// from them before the first frame) describes the whole stream. Frame skipping
// is off: every picture gives a frame. No threads of its own beyond OpenH264's.
#pragma once

#include <roomrec/status.h>

#include <cstdint>
#include <memory>
#include <vector>

class ISVCEncoder;

namespace roomrec::media {

struct H264EncoderOptions {
  uint32_t width = 1280, height = 720;  // even
  uint32_t fps = 15;
  uint32_t bitrate = 1'500'000;         // bit/s
  uint32_t keyframe_interval_frames = 150;
  uint32_t threads = 1;
};

class H264Encoder {
 public:
  static Result<std::unique_ptr<H264Encoder>> create(const H264EncoderOptions& o);
  ~H264Encoder();
  H264Encoder(const H264Encoder&) = delete;
  H264Encoder& operator=(const H264Encoder&) = delete;

  // The avcC (ISO/IEC 14496-15 AVCDecoderConfigurationRecord) of the stream.
  const std::vector<uint8_t>& avcc() const { return avcc_; }

  // One tightly packed I420 picture (width x height, chroma (w+1)/2 x (h+1)/2).
  // `out` gets the AVCC frame (empty if the encoder skipped it).
  Status encode(const uint8_t* i420, uint64_t pts_ms, std::vector<uint8_t>& out, bool& keyframe);

 private:
  H264Encoder() = default;
  ISVCEncoder* enc_ = nullptr;
  H264EncoderOptions opt_;
  std::vector<uint8_t> avcc_;
};

// Annex B NAL units (start codes 00 00 01 / 00 00 00 01) -> AVCC (4-byte lengths), appended to `out`.
void annexb_to_avcc(const uint8_t* p, size_t n, std::vector<uint8_t>& out);

}  // namespace roomrec::media
