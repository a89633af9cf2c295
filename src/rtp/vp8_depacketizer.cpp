// VP8 (RFC 7741): strip each packet's payload descriptor and concatenate.
//
//   0 1 2 3 4 5 6 7
//  |X|R|N|S|R| PID |      required
//  |I|L|T|K| RSV   |      if X
//  |M| PictureID   |      if I (second byte of a 15-bit PictureID if M)
//  |   TL0PICIDX   |      if L
//  |TID|Y| KEYIDX  |      if T or K
//
// The frame starts with the 3-byte frame tag (RFC 6386 9.1: P bit, version,
// show_frame, 19-bit first partition size); a key frame adds the start code
// 9d 01 2a and two 16-bit little-endian sizes (14 bits + 2 scaling bits).
#include "rtp/depacketizer.h"

namespace roomrec::rtp {
namespace {

// Descriptor length, or 0 when malformed or when no VP8 data follows it.
size_t vp8_descriptor(const uint8_t* p, size_t n, bool& start, uint8_t& pid) noexcept {
  if (n < 1) return 0;
  start = (p[0] & 0x10) != 0;
  pid = p[0] & 0x07;
  size_t off = 1;
  if (p[0] & 0x80) {
    if (n < 2) return 0;
    const uint8_t x = p[1];
    off = 2;
    if (x & 0x80) {  // I: PictureID, 7 or 15 bits
      if (n <= off) return 0;
      off += (p[off] & 0x80) ? 2 : 1;
    }
    if (x & 0x40) ++off;           // L: TL0PICIDX
    if (x & (0x20 | 0x10)) ++off;  // T or K: TID/Y/KEYIDX
  }
  return off < n ? off : 0;
}

class Vp8Depacketizer final : public Depacketizer {
 public:
  bool depacketize(const PayloadView* payloads, size_t count, DepacketizedFrame& out) override {
    out.clear();
    if (payloads == nullptr || count == 0) return false;
    for (size_t i = 0; i < count; ++i) {
      const PayloadView& pv = payloads[i];
      if (pv.data == nullptr) return false;
      bool start = false;
      uint8_t pid = 0;
      const size_t off = vp8_descriptor(pv.data, pv.size, start, pid);
      if (off == 0) return false;
      const bool frame_start = start && pid == 0;
      if (frame_start != (i == 0)) return false;  // first packet lost, or a second frame inside
      out.data.insert(out.data.end(), pv.data + off, pv.data + pv.size);
    }
    const std::vector<uint8_t>& d = out.data;
    if (d.size() < 3) return false;
    const uint32_t tag = d[0] | (uint32_t{d[1]} << 8) | (uint32_t{d[2]} << 16);
    const bool key = (tag & 1) == 0;
    const uint32_t first_partition = tag >> 5;
    size_t header = 3;
    if (key) {
      if (d.size() < 10 || d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a) return false;
      out.width = (d[6] | (uint32_t{d[7]} << 8)) & 0x3FFF;
      out.height = (d[8] | (uint32_t{d[9]} << 8)) & 0x3FFF;
      if (out.width == 0 || out.height == 0) return false;
      header = 10;
    }
    if (first_partition > d.size() - header) return false;  // truncated partition 0
    out.keyframe = key;
    return true;
  }

  bool starts_frame(PayloadView p) const override {
    if (p.data == nullptr || p.size == 0) return false;
    bool start = false;
    uint8_t pid = 0;
    return vp8_descriptor(p.data, p.size, start, pid) != 0 && start && pid == 0;
  }

  const char* codec() const override { return "vp8"; }
};

}  // namespace

namespace detail {
std::unique_ptr<Depacketizer> make_vp8_depacketizer() { return std::make_unique<Vp8Depacketizer>(); }
}  // namespace detail
}  // namespace roomrec::rtp
