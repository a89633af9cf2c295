// VP9 (RFC 9628). Payload descriptor:
//
//        0 1 2 3 4 5 6 7
//       |I|P|L|F|B|E|V|Z|   required
//  I:   |M| PICTURE ID  |   (second byte if M)
//  L:   | TID |U| SID |D|
//       |   TL0PICIDX   |   non-flexible mode (F=0) only
//  P,F: | P_DIFF      |N|   flexible mode, up to 3 while N
//  V:   scalability structure: |N_S|Y|G|-|-|-|, (N_S+1) x 16-bit width/height
//       if Y, then if G: N_G and N_G x (|TID|U| R |-|-| + R P_DIFF octets)
//
// A timestamp may hold several layer frames (spatial layers), each starting
// with a B packet. Only the highest spatial layer present is returned; its
// uncompressed header (VP9 bitstream spec 6.2) gives key frame and size.
#include "rtp/depacketizer.h"

namespace roomrec::rtp {
namespace {

struct Vp9Descriptor {
  size_t size = 0;  // bytes before the VP9 data
  bool begin = false;
  uint8_t sid = 0;
};

// False when malformed or when no VP9 data follows the descriptor.
bool vp9_descriptor(const uint8_t* p, size_t n, Vp9Descriptor& d) noexcept {
  if (p == nullptr || n < 1) return false;
  const uint8_t b0 = p[0];
  const bool i = b0 & 0x80, pflag = b0 & 0x40, l = b0 & 0x20, f = b0 & 0x10, v = b0 & 0x02;
  d.begin = (b0 & 0x08) != 0;
  d.sid = 0;
  size_t off = 1;
  if (i) {
    if (off >= n) return false;
    off += (p[off] & 0x80) ? 2 : 1;
  }
  if (l) {
    if (off >= n) return false;
    d.sid = (p[off] >> 1) & 0x07;
    off += f ? 1 : 2;  // non-flexible mode adds TL0PICIDX
  }
  if (pflag && f) {
    for (int k = 0;; ++k) {
      if (k == 3 || off >= n) return false;  // at most 3 reference indices
      const bool more = p[off] & 0x01;
      ++off;
      if (!more) break;
    }
  }
  if (v) {
    if (off >= n) return false;
    const size_t layers = (p[off] >> 5) + 1u;
    const bool y = p[off] & 0x10, g = p[off] & 0x08;
    ++off;
    if (y) off += 4 * layers;
    if (g) {
      if (off >= n) return false;
      const size_t pictures = p[off++];
      for (size_t k = 0; k < pictures; ++k) {
        if (off >= n) return false;
        off += 1 + ((p[off] >> 2) & 0x03);
      }
    }
  }
  if (off >= n) return false;
  d.size = off;
  return true;
}

struct Vp9Header {
  bool key = false;
  bool intra_only = false;
  uint32_t width = 0, height = 0;
};

// VP9 spec 7.2 color_config(); false on a combination libvpx rejects.
bool vp9_color_config(detail::BitReader& br, uint32_t profile) noexcept {
  if (profile >= 2) br.bit();  // ten_or_twelve_bit
  const uint32_t color_space = br.bits(3);
  if (color_space != 7) {  // not CS_RGB
    br.bit();              // color_range
    if (profile == 1 || profile == 3) {
      br.bits(2);  // subsampling_x, subsampling_y
      if (br.bit() != 0) return false;  // reserved_zero
    }
  } else {
    if (profile == 0 || profile == 2) return false;  // RGB needs 4:4:4, profiles 1 and 3
    if (br.bit() != 0) return false;                // reserved_zero
  }
  return br.ok();
}

// The uncompressed header up to the frame size (VP9 spec 6.2).
bool parse_vp9_header(const uint8_t* p, size_t n, Vp9Header& h) noexcept {
  detail::BitReader br(p, n);
  if (br.bits(2) != 2) return false;  // frame_marker
  const uint32_t low = br.bit();
  const uint32_t profile = (br.bit() << 1) | low;
  if (profile == 3 && br.bit() != 0) return false;  // reserved_zero
  if (br.bit()) return br.ok();                     // show_existing_frame: no header follows
  h.key = br.bit() == 0;                            // frame_type: KEY_FRAME is 0
  const bool show_frame = br.bit();
  const bool error_resilient = br.bit();
  const auto sync_code = [&br] { return br.bits(8) == 0x49 && br.bits(8) == 0x83 && br.bits(8) == 0x42; };
  if (h.key) {
    if (!sync_code() || !vp9_color_config(br, profile)) return false;
  } else {
    h.intra_only = show_frame ? false : br.bit();
    if (!error_resilient) br.bits(2);  // reset_frame_context
    if (!h.intra_only) return br.ok();
    if (!sync_code()) return false;
    if (profile > 0 && !vp9_color_config(br, profile)) return false;
    br.bits(8);  // refresh_frame_flags
  }
  h.width = br.bits(16) + 1;
  h.height = br.bits(16) + 1;
  return br.ok();
}

class Vp9Depacketizer final : public Depacketizer {
 public:
  bool depacketize(const PayloadView* payloads, size_t count, DepacketizedFrame& out) override {
    out.clear();
    if (payloads == nullptr || count == 0) return false;
    // Split into layer frames: [first packet, end packet) with their spatial id.
    layers_.clear();
    for (size_t i = 0; i < count; ++i) {
      Vp9Descriptor d;
      if (!vp9_descriptor(payloads[i].data, payloads[i].size, d)) return false;
      if (d.begin) {
        layers_.push_back(Layer{i, i + 1, d.sid, payloads[i].data[d.size]});
      } else {
        if (layers_.empty()) return false;  // the frame's first packet is missing
        layers_.back().end = i + 1;
      }
    }
    // The highest spatial layer; of equal ones, the last.
    size_t best = 0;
    bool key_picture = false;
    for (size_t k = 0; k < layers_.size(); ++k) {
      if (layers_[k].sid >= layers_[best].sid) best = k;
      // frame_marker(2) profile(2) [reserved(1) if profile 3] show_existing(1) frame_type(1)
      const uint8_t b = layers_[k].first_byte;
      const bool profile3 = (b & 0x30) == 0x30;
      const bool show_existing = b & (profile3 ? 0x04 : 0x08);
      const bool frame_type = b & (profile3 ? 0x02 : 0x04);
      if ((b & 0xC0) == 0x80 && !show_existing && !frame_type) key_picture = true;
    }
    const Layer& layer = layers_[best];
    for (size_t i = layer.begin; i < layer.end; ++i) {
      Vp9Descriptor d;
      vp9_descriptor(payloads[i].data, payloads[i].size, d);  // parsed above
      out.data.insert(out.data.end(), payloads[i].data + d.size, payloads[i].data + payloads[i].size);
    }
    Vp9Header h;
    if (!parse_vp9_header(out.data.data(), out.data.size(), h)) return false;
    out.keyframe = h.key || (h.intra_only && key_picture);
    out.width = h.width;
    out.height = h.height;
    return true;
  }

  bool starts_frame(PayloadView p) const override {
    Vp9Descriptor d;
    return vp9_descriptor(p.data, p.size, d) && d.begin;
  }

  const char* codec() const override { return "vp9"; }

 private:
  struct Layer {
    size_t begin, end;
    uint8_t sid;
    uint8_t first_byte;
  };
  std::vector<Layer> layers_;  // scratch, keeps capacity
};

}  // namespace

namespace detail {
std::unique_ptr<Depacketizer> make_vp9_depacketizer() { return std::make_unique<Vp9Depacketizer>(); }
}  // namespace detail
}  // namespace roomrec::rtp
