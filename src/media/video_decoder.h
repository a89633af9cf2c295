// VideoDecoder: turns one participant track's codec frames (as the
// depacketizers produce them) into I420 pictures for the compositor.
//
//   "vp8", "vp9"  libvpx (one decoder thread); VP9 4:2:2/4:4:4/4:4:0 and high
//                 bit depth output is converted to 8-bit 4:2:0.
//   "h264"        OpenH264 (DecodeFrameNoDelay). Input is AVCC (NAL length
//                 prefixes, size from avcC, 4 by default); it is rewritten to
//                 Annex B, and the avcC's SPS/PPS are put before every key frame.
//
// Input is outside data: a corrupt or truncated frame makes decode() return
// false and counts an error; it never throws or crashes. Until the first key
// frame, and again after an error, non-key frames are skipped (returning false,
// not counted as errors) so no garbage picture is ever produced from broken
// references. One object per track, used from one thread at a time.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace roomrec::media {

// 8-bit 4:2:0, tightly packed: y is width*height, u and v are
// ((width+1)/2)*((height+1)/2).
struct I420Frame {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> y, u, v;
  uint32_t chroma_width() const { return (width + 1) / 2; }
  uint32_t chroma_height() const { return (height + 1) / 2; }
  // Sizes the planes for w x h (keeps capacity).
  void resize(uint32_t w, uint32_t h);
  // True when the planes hold exactly a w x h picture and w, h > 0.
  bool valid() const;
};

struct VideoDecoderStats {
  uint64_t frames_in = 0;        // decode() calls
  uint64_t pictures_out = 0;     // decode() calls that returned a picture
  uint64_t errors = 0;           // corrupt/undecodable frames
  uint64_t skipped = 0;          // non-key frames dropped while waiting for a key frame
};

class VideoDecoder {
 public:
  // codec: "vp8", "vp9" or "h264" (case-insensitive); codec_private: the H264
  // avcC (may be empty: SPS/PPS then have to come in-band). Unknown codec ->
  // unsupported; a codec library failing to start -> internal.
  static Result<std::unique_ptr<VideoDecoder>> create(std::string_view codec,
                                                      const std::vector<uint8_t>& codec_private = {});
  virtual ~VideoDecoder();

  // Decodes one frame; returns true and fills `out` when a picture is output.
  // Corrupt input -> false (counted in stats().errors), never a crash.
  virtual bool decode(const uint8_t* data, size_t n, bool keyframe, I420Frame& out) = 0;
  // H264: a new avcC (parameter sets changed). Ignored by the other codecs.
  virtual void set_codec_private(const std::vector<uint8_t>& cp) { (void)cp; }
  virtual const char* codec() const = 0;

  const VideoDecoderStats& stats() const { return stats_; }

 protected:
  VideoDecoder() = default;
  VideoDecoderStats stats_;
};

}  // namespace roomrec::media
