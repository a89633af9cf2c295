// RTP depacketizers: turn the payloads of one frame (one RTP timestamp) into
// the codec frame a container expects.
//
//   VP8   RFC 7741          VP9  RFC 9628 (flexible and non-flexible mode, SVC)
//   H264  RFC 6184 (packetization-mode 0/1: single NAL, STAP-A, FU-A) -> AVCC
//   AV1   AOM "RTP Payload Format for AV1" -> low overhead bitstream format
//   Opus  RFC 7587, optionally wrapped in RED (RFC 2198)
//
// These parse outside input: they never throw on bad bytes, never abort and
// never read outside the payloads. Bad input makes depacketize() return false
// and the caller drops the frame. One object per stream, used from one thread
// at a time (H264 and AV1 remember the latest parameter sets / sequence header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace roomrec::rtp {

// An RTP payload: after header, CSRCs and extension; padding removed.
struct PayloadView {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

struct DepacketizedFrame {
  // The codec frame as a container expects it: VP8/VP9 frame; H264 in AVCC
  // form (4-byte big-endian NAL lengths, no start codes, SPS/PPS kept in-band
  // too); AV1 as a low-overhead-bitstream temporal unit (every OBU with
  // obu_has_size_field=1, temporal delimiters and tile lists dropped); Opus packet.
  std::vector<uint8_t> data;
  // VP8/VP9 key frame (VP9 SVC: the kept, highest spatial layer is a key frame,
  // or intra-only in a picture holding a key frame); H264: an IDR NAL is
  // present; AV1: a sequence header and a shown KEY_FRAME; audio: always true.
  bool keyframe = false;
  // When the frame carries them (VP8/VP9 key or intra-only header, H264 SPS,
  // AV1 sequence header: max_frame_width/height); 0 otherwise.
  uint32_t width = 0, height = 0;
  void clear();  // keeps capacity
};

class Depacketizer {
 public:
  virtual ~Depacketizer() = default;
  // The payloads of ONE frame (same RTP timestamp), in sequence order, with no
  // sequence gap inside (packets may still be missing at the start). Fills
  // `out` (cleared first) and returns true, or returns false when the payloads
  // do not make a valid frame (out is then unspecified).
  virtual bool depacketize(const PayloadView* payloads, size_t count, DepacketizedFrame& out) = 0;
  // True if this payload starts a frame: VP8 S=1 and PID=0; VP9 B=1; H264 a
  // non-FU packet or an FU with S=1; AV1 Z=0; Opus always. depacketize()
  // returns false whenever this is false for the first payload.
  virtual bool starts_frame(PayloadView p) const = 0;
  // Matroska CodecPrivate: avcC for H264 (latest SPS/PPS), av1C (4 bytes + the
  // sequence header OBU) for AV1; empty otherwise, and until parameter sets
  // have been seen (H264 sprop-parameter-sets count).
  virtual std::vector<uint8_t> codec_private() const { return {}; }
  virtual const char* codec() const = 0;  // "vp8", "vp9", "h264", "av1", "opus"
};

// Codec names are case-insensitive: "vp8", "vp9", "h264", "av1" (also
// "av1x"), "opus", and "red" (RFC 2198 wrapping Opus: the primary encoding is
// returned, redundant blocks dropped; codec() is "opus"). fmtp is the SDP fmtp
// line; for H264 its sprop-parameter-sets seed codec_private(). Returns
// nullptr for an unknown codec.
std::unique_ptr<Depacketizer> make_depacketizer(std::string_view codec, std::string_view fmtp = {});

// ---- internals shared by the codec files (not part of the API) -------------
namespace detail {

std::unique_ptr<Depacketizer> make_vp8_depacketizer();
std::unique_ptr<Depacketizer> make_vp9_depacketizer();
std::unique_ptr<Depacketizer> make_h264_depacketizer(std::string_view fmtp);
std::unique_ptr<Depacketizer> make_av1_depacketizer();
std::unique_ptr<Depacketizer> make_opus_depacketizer(bool red);

// MSB-first bit reader over caller-owned bytes. Reading past the end yields
// zero bits and latches !ok(); callers check ok() once after a run of reads.
class BitReader {
 public:
  BitReader(const uint8_t* p, size_t n) noexcept : p_(p), bits_(n * 8) {}
  bool ok() const noexcept { return ok_; }
  size_t bits_left() const noexcept { return pos_ < bits_ ? bits_ - pos_ : 0; }
  uint32_t bit() noexcept {
    if (pos_ >= bits_) {
      ok_ = false;
      return 0;
    }
    uint32_t b = (p_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u;
    ++pos_;
    return b;
  }
  uint32_t bits(unsigned n) noexcept {  // n <= 32
    uint32_t v = 0;
    for (unsigned i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  void skip(size_t n) noexcept {
    if (n > bits_left()) {
      ok_ = false;
      pos_ = bits_;
    } else {
      pos_ += n;
    }
  }
  // Exp-Golomb ue(v) (H.264 9.1); values needing more than 32 bits fail.
  uint32_t ue() noexcept {
    unsigned zeros = 0;
    while (bit() == 0) {
      if (!ok_ || ++zeros > 31) {
        ok_ = false;
        return 0;
      }
    }
    uint64_t v = (uint64_t{1} << zeros) - 1 + bits(zeros);
    if (v > 0xFFFFFFFEu) {
      ok_ = false;
      return 0;
    }
    return static_cast<uint32_t>(v);
  }
  int32_t se() noexcept {
    uint32_t k = ue();
    return (k & 1) ? static_cast<int32_t>((k + 1) / 2) : -static_cast<int32_t>(k / 2);
  }

 private:
  const uint8_t* p_;
  size_t bits_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// AV1 leb128 (at most 8 bytes, value < 2^32). Returns the bytes read, 0 on
// malformed or truncated input.
size_t read_leb128(const uint8_t* p, size_t n, uint64_t& value) noexcept;
// Appends the minimal leb128 encoding of v.
void write_leb128(std::vector<uint8_t>& out, uint64_t v);

}  // namespace detail
}  // namespace roomrec::rtp
