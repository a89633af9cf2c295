#include <doctest/doctest.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rtp/depacketizer.h"
#include "util/base64.h"

using namespace roomrec::rtp;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const char* s) {
  Bytes b;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; s[0] && s[1]; s += 2) b.push_back(static_cast<uint8_t>(nib(s[0]) << 4 | nib(s[1])));
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const auto& p : parts) b.insert(b.end(), p.begin(), p.end());
  return b;
}

Bytes filler(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::vector<PayloadView> views(const std::vector<Bytes>& packets) {
  std::vector<PayloadView> v;
  for (const auto& p : packets) v.push_back(PayloadView{p.data(), p.size()});
  return v;
}

bool run(Depacketizer& d, const std::vector<Bytes>& packets, DepacketizedFrame& out) {
  auto v = views(packets);
  return d.depacketize(v.data(), v.size(), out);
}

bool accepts(Depacketizer& d, const std::vector<Bytes>& packets) {
  DepacketizedFrame f;
  return run(d, packets, f);
}

bool starts(const Depacketizer& d, const Bytes& p) { return d.starts_frame(PayloadView{p.data(), p.size()}); }

// MSB-first bit writer for hand-built headers.
class BitWriter {
 public:
  void put(uint64_t v, unsigned n) {
    for (unsigned i = n; i-- > 0;) bit((v >> i) & 1);
  }
  void bit(unsigned b) {
    if (bits_ % 8 == 0) bytes_.push_back(0);
    if (b) bytes_.back() |= static_cast<uint8_t>(0x80 >> (bits_ % 8));
    ++bits_;
  }
  void ue(uint32_t v) {
    uint64_t x = uint64_t{v} + 1;
    unsigned len = 0;
    while ((x >> len) > 1) ++len;
    put(0, len);
    put(x, len + 1);
  }
  void se(int32_t v) { ue(v > 0 ? static_cast<uint32_t>(2 * v - 1) : static_cast<uint32_t>(-2 * v)); }
  void trailing() {  // rbsp_trailing_bits / AV1 trailing_bits
    bit(1);
    while (bits_ % 8) bit(0);
  }
  Bytes bytes() const { return bytes_; }

 private:
  Bytes bytes_;
  size_t bits_ = 0;
};

// ---- libvpx -----------------------------------------------------------------

struct Encoded {
  Bytes data;
  bool key = false;
};

void fill_image(vpx_image_t& img, unsigned frame) {
  for (int plane = 0; plane < 3; ++plane) {
    const unsigned w = plane == 0 || img.x_chroma_shift == 0 ? img.d_w : (img.d_w + 1) / 2;
    const unsigned h = plane == 0 || img.y_chroma_shift == 0 ? img.d_h : (img.d_h + 1) / 2;
    for (unsigned y = 0; y < h; ++y) {
      uint8_t* row = img.planes[plane] + static_cast<size_t>(y) * img.stride[plane];
      for (unsigned x = 0; x < w; ++x) {
        uint32_t noise = (x * 2654435761u) ^ (y * 40503u) ^ (plane * 97u);
        noise ^= noise >> 13;
        row[x] = static_cast<uint8_t>((x + 3 * frame) * (plane + 1) + y * 2 + (noise & 0x1F));
      }
    }
  }
}

std::vector<Encoded> vpx_encode(bool vp9, unsigned w, unsigned h, unsigned frames, std::set<unsigned> keys,
                                unsigned profile = 0) {
  vpx_codec_iface_t* iface = vp9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();
  vpx_codec_enc_cfg_t cfg;
  REQUIRE(vpx_codec_enc_config_default(iface, &cfg, 0) == VPX_CODEC_OK);
  cfg.g_w = w;
  cfg.g_h = h;
  cfg.g_timebase.num = 1;
  cfg.g_timebase.den = 30;
  cfg.rc_target_bitrate = 1000;
  cfg.g_lag_in_frames = 0;  // real-time: no hidden alt-ref frames, no superframes
  cfg.g_threads = 1;
  cfg.kf_max_dist = 1000;
  cfg.g_profile = profile;
  vpx_codec_ctx_t ctx;
  REQUIRE(vpx_codec_enc_init(&ctx, iface, &cfg, 0) == VPX_CODEC_OK);
  vpx_codec_control(&ctx, VP8E_SET_CPUUSED, vp9 ? 8 : 16);
  vpx_image_t img;
  REQUIRE(vpx_img_alloc(&img, profile == 1 ? VPX_IMG_FMT_I444 : VPX_IMG_FMT_I420, w, h, 16) != nullptr);
  std::vector<Encoded> out;
  auto drain = [&] {
    vpx_codec_iter_t it = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&ctx, &it)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      const auto* b = static_cast<const uint8_t*>(pkt->data.frame.buf);
      out.push_back(Encoded{Bytes(b, b + pkt->data.frame.sz), (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0});
    }
  };
  for (unsigned f = 0; f < frames; ++f) {
    fill_image(img, f);
    const vpx_enc_frame_flags_t flags = keys.count(f) ? VPX_EFLAG_FORCE_KF : 0;
    REQUIRE(vpx_codec_encode(&ctx, &img, f, 1, flags, VPX_DL_REALTIME) == VPX_CODEC_OK);
    drain();
  }
  REQUIRE(vpx_codec_encode(&ctx, nullptr, frames, 1, 0, VPX_DL_REALTIME) == VPX_CODEC_OK);
  drain();
  vpx_img_free(&img);
  vpx_codec_destroy(&ctx);
  REQUIRE(out.size() == frames);
  return out;
}

// ---- VP8 packetizer (RFC 7741) ----------------------------------------------

struct Vp8Desc {
  int picture_id = -1;  // -1: none
  bool long_pid = false;
  int tl0 = -1;
  int tid = -1;
  bool y = false;
  int keyidx = -1;
  bool n = false;
  bool partitions = false;  // split at partition 1 and mark it PID=1
};

Bytes vp8_descriptor(const Vp8Desc& d, bool s, int pid) {
  const bool x = d.picture_id >= 0 || d.tl0 >= 0 || d.tid >= 0 || d.keyidx >= 0;
  Bytes b{static_cast<uint8_t>((x ? 0x80 : 0) | (d.n ? 0x20 : 0) | (s ? 0x10 : 0) | pid)};
  if (!x) return b;
  b.push_back(static_cast<uint8_t>((d.picture_id >= 0 ? 0x80 : 0) | (d.tl0 >= 0 ? 0x40 : 0) |
                                   (d.tid >= 0 ? 0x20 : 0) | (d.keyidx >= 0 ? 0x10 : 0)));
  if (d.picture_id >= 0) {
    if (d.long_pid) {
      b.push_back(static_cast<uint8_t>(0x80 | ((d.picture_id >> 8) & 0x7F)));
      b.push_back(static_cast<uint8_t>(d.picture_id));
    } else {
      b.push_back(static_cast<uint8_t>(d.picture_id & 0x7F));
    }
  }
  if (d.tl0 >= 0) b.push_back(static_cast<uint8_t>(d.tl0));
  if (d.tid >= 0 || d.keyidx >= 0)
    b.push_back(static_cast<uint8_t>(((d.tid >= 0 ? d.tid : 0) << 6) | (d.y ? 0x20 : 0) |
                                     ((d.keyidx >= 0 ? d.keyidx : 0) & 0x1F)));
  return b;
}

std::vector<Bytes> packetize_vp8(const Bytes& frame, const Vp8Desc& d, size_t mtu) {
  struct Part {
    size_t begin, end;
    int pid;
  };
  std::vector<Part> parts{{0, frame.size(), 0}};
  if (d.partitions) {
    const uint32_t tag = frame[0] | (frame[1] << 8) | (frame[2] << 16);
    const size_t p1 = ((tag & 1) ? 3 : 10) + (tag >> 5);
    if (p1 < frame.size()) parts = {{0, p1, 0}, {p1, frame.size(), 1}};
  }
  std::vector<Bytes> out;
  for (const Part& part : parts) {
    bool first = true;
    for (size_t off = part.begin; off < part.end;) {
      Bytes p = vp8_descriptor(d, first, part.pid);
      const size_t take = std::min(mtu - p.size(), part.end - off);
      p.insert(p.end(), frame.begin() + static_cast<long>(off), frame.begin() + static_cast<long>(off + take));
      out.push_back(std::move(p));
      off += take;
      first = false;
    }
  }
  return out;
}

// ---- VP9 packetizer (RFC 9628) ----------------------------------------------

struct Vp9Ss {
  std::vector<std::pair<uint16_t, uint16_t>> sizes;  // Y: one per spatial layer (empty: Y=0)
  unsigned layers = 1;                               // N_S + 1
  struct Pic {
    uint8_t tid;
    bool u;
    std::vector<uint8_t> pdiff;
  };
  std::vector<Pic> pictures;  // G
  bool g = false;
};

struct Vp9Desc {
  int picture_id = -1;  // -1: no I
  bool long_pid = true;
  bool flexible = false;
  bool layer = false;
  uint8_t tid = 0, sid = 0, tl0 = 0;
  bool u = false, d = false;
  bool inter = false;          // P
  std::vector<uint8_t> pdiff{};  // flexible mode
  bool z = false;
  const Vp9Ss* ss = nullptr;  // V, first packet only
};

Bytes vp9_descriptor(const Vp9Desc& d, bool b, bool e, bool first) {
  const bool v = first && d.ss;
  Bytes o{static_cast<uint8_t>((d.picture_id >= 0 ? 0x80 : 0) | (d.inter ? 0x40 : 0) | (d.layer ? 0x20 : 0) |
                               (d.flexible ? 0x10 : 0) | (b ? 0x08 : 0) | (e ? 0x04 : 0) | (v ? 0x02 : 0) |
                               (d.z ? 0x01 : 0))};
  if (d.picture_id >= 0) {
    if (d.long_pid) {
      o.push_back(static_cast<uint8_t>(0x80 | ((d.picture_id >> 8) & 0x7F)));
      o.push_back(static_cast<uint8_t>(d.picture_id));
    } else {
      o.push_back(static_cast<uint8_t>(d.picture_id & 0x7F));
    }
  }
  if (d.layer) {
    o.push_back(static_cast<uint8_t>((d.tid << 5) | (d.u ? 0x10 : 0) | (d.sid << 1) | (d.d ? 1 : 0)));
    if (!d.flexible) o.push_back(d.tl0);
  }
  if (d.inter && d.flexible) {
    for (size_t i = 0; i < d.pdiff.size(); ++i)
      o.push_back(static_cast<uint8_t>((d.pdiff[i] << 1) | (i + 1 < d.pdiff.size() ? 1 : 0)));
  }
  if (v) {
    const Vp9Ss& s = *d.ss;
    o.push_back(static_cast<uint8_t>(((s.layers - 1) << 5) | (s.sizes.empty() ? 0 : 0x10) | (s.g ? 0x08 : 0)));
    for (auto [w, h] : s.sizes) {
      o.push_back(static_cast<uint8_t>(w >> 8));
      o.push_back(static_cast<uint8_t>(w));
      o.push_back(static_cast<uint8_t>(h >> 8));
      o.push_back(static_cast<uint8_t>(h));
    }
    if (s.g) {
      o.push_back(static_cast<uint8_t>(s.pictures.size()));
      for (const auto& pic : s.pictures) {
        o.push_back(static_cast<uint8_t>((pic.tid << 5) | (pic.u ? 0x10 : 0) | (pic.pdiff.size() << 2)));
        o.insert(o.end(), pic.pdiff.begin(), pic.pdiff.end());
      }
    }
  }
  return o;
}

std::vector<Bytes> packetize_vp9(const Bytes& frame, const Vp9Desc& d, size_t mtu) {
  std::vector<Bytes> out;
  for (size_t off = 0; off < frame.size();) {
    const bool first = off == 0;
    const size_t room = mtu - vp9_descriptor(d, first, false, first).size();
    const size_t take = std::min(room, frame.size() - off);
    Bytes p = vp9_descriptor(d, first, off + take == frame.size(), first);
    p.insert(p.end(), frame.begin() + static_cast<long>(off), frame.begin() + static_cast<long>(off + take));
    out.push_back(std::move(p));
    off += take;
  }
  return out;
}

// ---- H264 (RFC 6184) -----------------------------------------------------------

// Parameter sets written by Debian's ffmpeg + libx264, and the avcC its mp4 muxer wrote.
// 1280x720 testsrc (yuv444p: High 4:4:4 Predictive, profile_idc 244, chroma_format_idc 3).
const char* kSps720 = "67f4001f919b280a00b76022000003000200000300781e30632c";
const char* kPps720 = "68ebe3c44844";
const char* kAvcc720 =
    "01f4001fffe1001a67f4001f919b280a00b76022000003000200000300781e30632c01000668ebe3c44844fff8f800";
// 1920x1080 yuv420p, High: coded 1920x1088, cropped.
const char* kSps1080 = "67640028acd940780227e5c044000003000400000300f03c60c658";
const char* kPps1080 = "68ebe3cb22c0";
const char* kAvcc1080 =
    "01640028ffe1001b67640028acd940780227e5c044000003000400000300f03c60c65801000668ebe3cb22c0fdf8f800";
// 640x360 Constrained Baseline: coded 640x368, cropped; avcC without the High extension.
const char* kSps360 = "6742c01ed900a02ff970110000030001000003003c0f162e48";
const char* kPps360 = "68cb83cb20";
const char* kAvcc360 = "0142c01effe100196742c01ed900a02ff970110000030001000003003c0f162e4801000568cb83cb20";
// 1920x1080 interlaced (frame_mbs_only_flag 0): 2 x 34 field map units, cropped.
const char* kSps1080i = "67640028acd94078044fde0220000003002000000783e2c5b2c0";
const char* kPps1080i = "68fba3cb3002c0";
const char* kAvcc1080i =
    "01640028ffe1001a67640028acd94078044fde0220000003002000000783e2c5b2c001000768fba3cb3002c0fdf8f800";

Bytes avcc(const std::vector<Bytes>& nals) {
  Bytes b;
  for (const auto& n : nals) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(n.size() >> s));
    b.insert(b.end(), n.begin(), n.end());
  }
  return b;
}

Bytes stap_a(const std::vector<Bytes>& nals) {
  uint8_t nri = 0;
  for (const auto& n : nals) nri = std::max<uint8_t>(nri, n[0] & 0x60);
  Bytes b{static_cast<uint8_t>(nri | 24)};
  for (const auto& n : nals) {
    b.push_back(static_cast<uint8_t>(n.size() >> 8));
    b.push_back(static_cast<uint8_t>(n.size()));
    b.insert(b.end(), n.begin(), n.end());
  }
  return b;
}

std::vector<Bytes> fu_a(const Bytes& nal, size_t mtu) {
  std::vector<Bytes> out;
  for (size_t off = 1; off < nal.size();) {
    const size_t take = std::min(mtu - 2, nal.size() - off);
    const bool s = off == 1, e = off + take == nal.size();
    Bytes p{static_cast<uint8_t>((nal[0] & 0xE0) | 28),
            static_cast<uint8_t>((s ? 0x80 : 0) | (e ? 0x40 : 0) | (nal[0] & 0x1F))};
    p.insert(p.end(), nal.begin() + static_cast<long>(off), nal.begin() + static_cast<long>(off + take));
    out.push_back(std::move(p));
    off += take;
  }
  return out;
}

Bytes nal_unit(uint8_t header, size_t n, uint32_t seed) {
  Bytes b = filler(n, seed);
  b.insert(b.begin(), header);
  return b;
}

// Adds emulation prevention bytes to an RBSP (H.264 7.4.1).
Bytes escape_rbsp(uint8_t header, const Bytes& rbsp) {
  Bytes b{header};
  int zeros = 0;
  for (uint8_t c : rbsp) {
    if (zeros >= 2 && c <= 3) {
      b.push_back(3);
      zeros = 0;
    }
    b.push_back(c);
    zeros = c == 0 ? zeros + 1 : 0;
  }
  return b;
}

struct SpsShape {
  uint8_t profile = 100;
  uint32_t chroma_format_idc = 1;
  bool separate_colour_plane = false;
  bool scaling = false;
  uint32_t poc_type = 0;
  uint32_t width_mbs = 80, height_map_units = 45;
  bool frame_mbs_only = true;
  uint32_t crop[4] = {0, 0, 0, 0};  // left, right, top, bottom
};

Bytes build_sps(const SpsShape& s) {
  BitWriter w;
  w.put(s.profile, 8);
  w.put(0, 8);
  w.put(40, 8);
  w.ue(0);  // seq_parameter_set_id
  if (s.profile == 100 || s.profile == 122 || s.profile == 244) {
    w.ue(s.chroma_format_idc);
    if (s.chroma_format_idc == 3) w.bit(s.separate_colour_plane);
    w.ue(2);  // bit_depth_luma_minus8
    w.ue(2);  // bit_depth_chroma_minus8
    w.bit(0);
    w.bit(s.scaling);
    if (s.scaling) {
      const int lists = s.chroma_format_idc == 3 ? 12 : 8;
      for (int i = 0; i < lists; ++i) {
        const bool present = i % 3 != 1;
        w.bit(present);
        if (!present) continue;
        const int size = i < 6 ? 16 : 64;
        if (i == 2) {  // useDefaultScalingMatrixFlag: first delta brings nextScale to 0
          w.se(-8);
          continue;
        }
        int last = 8;
        for (int j = 0; j < size; ++j) {
          const int next = 8 + ((j * 7 + i) % 40);
          int delta = next - last;
          if (delta > 127) delta -= 256;
          if (delta < -128) delta += 256;
          w.se(delta);
          last = next;
        }
      }
    }
  }
  w.ue(4);  // log2_max_frame_num_minus4
  w.ue(s.poc_type);
  if (s.poc_type == 0) {
    w.ue(2);
  } else if (s.poc_type == 1) {
    w.bit(0);
    w.se(-2);
    w.se(1);
    w.ue(3);
    w.se(3);
    w.se(-4);
    w.se(100);
  }
  w.ue(3);  // max_num_ref_frames
  w.bit(0);
  w.ue(s.width_mbs - 1);
  w.ue(s.height_map_units - 1);
  w.bit(s.frame_mbs_only);
  if (!s.frame_mbs_only) w.bit(1);
  w.bit(1);  // direct_8x8_inference_flag
  const bool crop = s.crop[0] || s.crop[1] || s.crop[2] || s.crop[3];
  w.bit(crop);
  if (crop)
    for (uint32_t c : s.crop) w.ue(c);
  w.bit(0);  // vui_parameters_present_flag
  w.trailing();
  return escape_rbsp(0x67, w.bytes());
}

// ---- AV1 ---------------------------------------------------------------------

// Sequence header OBUs (with obu_size) from Debian's ffmpeg encoders, and the av1C its mp4 muxer wrote.
struct Av1Oracle {
  const char* obu;
  const char* av1c_prefix;
  uint32_t width, height;
};
const Av1Oracle kAv1Oracles[] = {
    {"0a0b0000002d4cffb3ccaf9004", "81050c00", 1280, 720},              // libaom 8-bit 4:2:0
    {"0a0e000000faabbfc371085640808085", "811f0c00", 1920, 1080},       // rav1e
    {"0a0b00000042abbfc373efe401", "81080c00", 1920, 1080},             // SVT-AV1
    {"0a0b2000000cc4ff6736be5080", "81214000", 640, 360},               // libaom profile 1, 10-bit 4:4:4
};

Bytes leb128(uint64_t v) {
  Bytes b;
  do {
    uint8_t x = v & 0x7F;
    v >>= 7;
    if (v) x |= 0x80;
    b.push_back(x);
  } while (v);
  return b;
}

// An OBU without obu_size (as RTP carries it) -> with obu_size (as the output has it).
Bytes sized(const Bytes& obu) {
  const size_t header = (obu[0] & 0x04) ? 2 : 1;
  Bytes b(obu.begin(), obu.begin() + static_cast<long>(header));
  b[0] |= 0x02;
  const Bytes l = leb128(obu.size() - header);
  b.insert(b.end(), l.begin(), l.end());
  b.insert(b.end(), obu.begin() + static_cast<long>(header), obu.end());
  return b;
}

// A sized OBU -> the RTP form (obu_has_size_field = 0).
Bytes unsized(const Bytes& obu) {
  const size_t header = (obu[0] & 0x04) ? 2 : 1;
  uint64_t v = 0;
  size_t lb = detail::read_leb128(obu.data() + header, obu.size() - header, v);
  REQUIRE(lb > 0);
  Bytes b(obu.begin(), obu.begin() + static_cast<long>(header));
  b[0] &= static_cast<uint8_t>(~0x02);
  b.insert(b.end(), obu.begin() + static_cast<long>(header + lb), obu.end());
  return b;
}

Bytes av1_frame_obu(bool key, size_t n, uint32_t seed, uint8_t type = 6) {
  Bytes b{static_cast<uint8_t>(type << 3), static_cast<uint8_t>(key ? 0x10 : 0x30)};  // show_existing 0, frame_type, show_frame 1
  Bytes f = filler(n, seed);
  b.insert(b.end(), f.begin(), f.end());
  return b;
}

// One packet from explicit elements: W=0 writes every length; W>0 omits the last one's.
Bytes av1_packet(bool z, bool y, unsigned w, bool n, const std::vector<Bytes>& elements) {
  Bytes p{static_cast<uint8_t>((z ? 0x80 : 0) | (y ? 0x40 : 0) | (w << 4) | (n ? 0x08 : 0))};
  for (size_t i = 0; i < elements.size(); ++i) {
    if (w == 0 || i + 1 < elements.size()) {
      const Bytes l = leb128(elements[i].size());
      p.insert(p.end(), l.begin(), l.end());
    }
    p.insert(p.end(), elements[i].begin(), elements[i].end());
  }
  return p;
}

// Packetizes RTP-form OBUs into packets of at most mtu bytes, fragmenting as needed.
// use_w: W = element count when it is 1..3 (last element without a length).
std::vector<Bytes> packetize_av1(const std::vector<Bytes>& obus, size_t mtu, bool use_w, bool n_bit) {
  struct Pkt {
    bool z = false, y = false;
    std::vector<Bytes> elements;
    size_t used = 1;
  };
  std::vector<Pkt> pkts(1);
  for (const Bytes& obu : obus) {
    size_t off = 0;
    while (off < obu.size()) {
      Pkt& p = pkts.back();
      const size_t room = mtu > p.used + 2 ? mtu - p.used - 2 : 0;  // 2: leb128 length (mtu < 16384)
      if (room == 0) {
        pkts.emplace_back();
        continue;
      }
      const size_t take = std::min(room, obu.size() - off);
      p.elements.emplace_back(obu.begin() + static_cast<long>(off), obu.begin() + static_cast<long>(off + take));
      p.used += take + 2;
      off += take;
      if (off < obu.size()) {
        p.y = true;
        pkts.emplace_back();
        pkts.back().z = true;
      }
    }
  }
  std::vector<Bytes> out;
  for (size_t i = 0; i < pkts.size(); ++i) {
    const Pkt& p = pkts[i];
    if (p.elements.empty()) continue;
    const unsigned w = use_w && p.elements.size() <= 3 ? static_cast<unsigned>(p.elements.size()) : 0;
    out.push_back(av1_packet(p.z, p.y, w, n_bit && i == 0, p.elements));
  }
  return out;
}

struct SeqShape {
  uint8_t profile = 0;
  bool reduced = false;
  uint8_t level = 8;
  bool timing = false, decoder_model = false, initial_display_delay = false;
  std::vector<std::pair<uint8_t, uint8_t>> ops{{8, 0}};  // (level, tier) per operating point
  unsigned width_bits = 11, height_bits = 11;
  uint32_t width = 1920, height = 1080;
  bool frame_ids = false, order_hint = true, screen_content_select = true;
  bool high_bitdepth = false, twelve_bit = false, mono = false;
  bool color_description = false;
  uint8_t cp = 2, tc = 2, mc = 2;
  bool ss_x = true, ss_y = false;  // profile 2, 12-bit only
  uint8_t csp = 0;
};

// A hand-built sequence header OBU in RTP form (no obu_size) and the av1C bytes 1-2 it implies.
Bytes build_seq(const SeqShape& s, uint8_t& av1c1, uint8_t& av1c2) {
  BitWriter w;
  w.put(s.profile, 3);
  w.bit(0);  // still_picture
  w.bit(s.reduced);
  uint8_t level0 = s.level, tier0 = 0;
  if (s.reduced) {
    w.put(s.level, 5);
  } else {
    w.bit(s.timing);
    if (s.timing) {
      w.put(1001, 32);
      w.put(30000, 32);
      w.bit(1);  // equal_picture_interval
      w.ue(4);   // uvlc() has the same shape as ue(v)
      w.bit(s.decoder_model);
      if (s.decoder_model) {
        w.put(9, 5);  // buffer_delay_length_minus_1
        w.put(1001, 32);
        w.put(4, 5);
        w.put(4, 5);
      }
    }
    w.bit(s.initial_display_delay);
    w.put(s.ops.size() - 1, 5);
    for (size_t i = 0; i < s.ops.size(); ++i) {
      w.put(i == 0 ? 0x103 : 0x101, 12);
      w.put(s.ops[i].first, 5);
      if (s.ops[i].first > 7) w.bit(s.ops[i].second);
      if (s.decoder_model) {
        w.bit(1);
        w.put(300, 10);
        w.put(200, 10);
        w.bit(0);
      }
      if (s.initial_display_delay) {
        w.bit(1);
        w.put(3, 4);
      }
    }
    level0 = s.ops[0].first;
    tier0 = s.ops[0].first > 7 ? s.ops[0].second : 0;
  }
  w.put(s.width_bits - 1, 4);
  w.put(s.height_bits - 1, 4);
  w.put(s.width - 1, s.width_bits);
  w.put(s.height - 1, s.height_bits);
  if (!s.reduced) {
    w.bit(s.frame_ids);
    if (s.frame_ids) {
      w.put(5, 4);
      w.put(2, 3);
    }
  }
  w.put(0b011, 3);
  if (!s.reduced) {
    w.put(0b1111, 4);
    w.bit(s.order_hint);
    if (s.order_hint) w.put(0b11, 2);
    w.bit(s.screen_content_select);
    if (!s.screen_content_select) w.bit(1);  // seq_force_screen_content_tools
    w.bit(0);                                // seq_choose_integer_mv
    w.bit(1);                                // seq_force_integer_mv
    if (s.order_hint) w.put(6, 3);
  }
  w.put(0b011, 3);
  // color_config
  w.bit(s.high_bitdepth);
  if (s.profile == 2 && s.high_bitdepth) w.bit(s.twelve_bit);
  if (s.profile != 1) w.bit(s.mono);
  w.bit(s.color_description);
  if (s.color_description) {
    w.put(s.cp, 8);
    w.put(s.tc, 8);
    w.put(s.mc, 8);
  }
  bool sx = true, sy = true;
  uint8_t csp = 0;
  if (s.mono) {
    w.bit(1);
  } else if (s.color_description && s.cp == 1 && s.tc == 13 && s.mc == 0) {
    sx = sy = false;
  } else {
    w.bit(0);  // color_range
    if (s.profile == 1) {
      sx = sy = false;
    } else if (s.profile == 2) {
      if (s.twelve_bit) {
        w.bit(s.ss_x);
        sx = s.ss_x;
        if (s.ss_x) w.bit(s.ss_y);
        sy = s.ss_x && s.ss_y;
      } else {
        sx = true;
        sy = false;
      }
    }
    if (sx && sy) {
      w.put(s.csp, 2);
      csp = s.csp;
    }
  }
  if (!s.mono) w.bit(0);  // separate_uv_delta_q
  w.bit(0);               // film_grain_params_present
  w.trailing();
  av1c1 = static_cast<uint8_t>((s.profile << 5) | level0);
  av1c2 = static_cast<uint8_t>((tier0 << 7) | (s.high_bitdepth << 6) | (s.twelve_bit << 5) | (s.mono << 4) |
                               (sx << 3) | (sy << 2) | csp);
  Bytes obu{0x08};
  const Bytes payload = w.bytes();
  obu.insert(obu.end(), payload.begin(), payload.end());
  return obu;
}

// Invariants every accepted frame must keep, whatever the input.
struct Checker {
  size_t bad = 0;
  size_t accepted = 0;
  void check(Depacketizer& d, const std::vector<Bytes>& packets) {
    auto v = views(packets);
    size_t total = 0;
    for (const auto& p : v) {
      total += p.size;
      (void)d.starts_frame(p);
    }
    DepacketizedFrame f;
    f.data.assign(3, 0xEE);
    f.width = 7;
    const bool ok = d.depacketize(v.data(), v.size(), f);
    (void)d.codec_private();
    if (!ok) return;
    ++accepted;
    const bool audio = std::strcmp(d.codec(), "opus") == 0;
    if (v.empty() || !d.starts_frame(v[0])) ++bad;
    if (f.data.empty() || f.data.size() > 8 * total + 16) ++bad;
    if ((f.width == 0) != (f.height == 0) || f.width > 65536 || f.height > 65536) ++bad;
    if (audio && (!f.keyframe || f.width != 0)) ++bad;
  }
};

}  // namespace

// ============================================================================

TEST_CASE("depacketizer factory: names, codec(), codec_private defaults") {
  for (const char* name : {"vp8", "VP8", "vp9", "Vp9", "h264", "H264", "av1", "AV1", "av1x", "AV1X", "opus", "OPUS",
                           "red", "RED"}) {
    auto d = make_depacketizer(name);
    REQUIRE_MESSAGE(d != nullptr, name);
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "av1x") lower = "av1";
    if (lower == "red") lower = "opus";
    CHECK(std::string(d->codec()) == lower);
    CHECK(d->codec_private().empty());
  }
  CHECK(make_depacketizer("h265") == nullptr);
  CHECK(make_depacketizer("") == nullptr);
  CHECK(make_depacketizer("vp8 ") == nullptr);
  CHECK(make_depacketizer("opus/48000") == nullptr);

  DepacketizedFrame f;
  f.data.assign(1000, 1);
  f.keyframe = true;
  f.width = 5;
  f.height = 6;
  const size_t cap = f.data.capacity();
  f.clear();
  CHECK(f.data.empty());
  CHECK(f.data.capacity() == cap);
  CHECK_FALSE(f.keyframe);
  CHECK(f.width == 0);
  CHECK(f.height == 0);

  // Nothing to depacketize: false for every codec.
  for (const char* name : {"vp8", "vp9", "h264", "av1", "opus", "red"}) {
    auto d = make_depacketizer(name);
    CHECK_FALSE(d->depacketize(nullptr, 0, f));
    Bytes empty;
    PayloadView ev{empty.data(), 0};
    CHECK_FALSE(d->depacketize(&ev, 1, f));
    PayloadView nul{nullptr, 5};
    CHECK_FALSE(d->depacketize(&nul, 1, f));
  }
}

TEST_CASE("depacketizer leb128 helpers") {
  uint64_t v = 0;
  for (uint64_t x : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, 0xFFFFFFFFull}) {
    Bytes b;
    detail::write_leb128(b, x);
    CHECK(b == leb128(x));
    CHECK(detail::read_leb128(b.data(), b.size(), v) == b.size());
    CHECK(v == x);
  }
  const Bytes padded = {0x80, 0x80, 0x00};  // non-minimal but valid
  CHECK(detail::read_leb128(padded.data(), padded.size(), v) == 3);
  CHECK(v == 0);
  const Bytes nine = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  CHECK(detail::read_leb128(nine.data(), nine.size(), v) == 0);
  const Bytes truncated = {0x81, 0x81};
  CHECK(detail::read_leb128(truncated.data(), truncated.size(), v) == 0);
  const Bytes too_big = {0x80, 0x80, 0x80, 0x80, 0x10};  // 2^32
  CHECK(detail::read_leb128(too_big.data(), too_big.size(), v) == 0);
  CHECK(detail::read_leb128(nullptr, 0, v) == 0);
}

// ---- VP8 ----------------------------------------------------------------------

TEST_CASE("VP8 depacketizer: libvpx frames round-trip byte-exact at 320x240 and 640x360") {
  const Vp8Desc shapes[] = {
      {},                                                      // minimal descriptor
      {.picture_id = 17},                                      // 7-bit PictureID
      {.picture_id = 0x1234, .long_pid = true, .tl0 = 9},      // 15-bit PictureID, TL0PICIDX
      {.picture_id = 3, .tid = 2, .y = true, .keyidx = 5},     // T and K
      {.tid = 1, .n = true},                                   // T only, non-reference
      {.keyidx = 30, .partitions = true},                      // K only, partition 1 in its own packets
      {.picture_id = 0x7FFF, .long_pid = true, .tl0 = 255, .tid = 3, .keyidx = 31, .partitions = true},
  };
  for (auto [w, h] : {std::pair{320u, 240u}, std::pair{640u, 360u}}) {
    CAPTURE(w);
    const auto frames = vpx_encode(false, w, h, 8, {0, 5});
    auto d = make_depacketizer("vp8");
    size_t keys = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      CAPTURE(i);
      const Vp8Desc& shape = shapes[i % std::size(shapes)];
      const auto packets = packetize_vp8(frames[i].data, shape, 300);
      if (frames[i].key) {
        REQUIRE(packets.size() > 2);
        ++keys;
      }
      DepacketizedFrame f;
      REQUIRE(run(*d, packets, f));
      CHECK(f.data == frames[i].data);
      CHECK(f.keyframe == frames[i].key);
      CHECK(f.width == (frames[i].key ? w : 0));
      CHECK(f.height == (frames[i].key ? h : 0));
      CHECK(starts(*d, packets[0]));
      for (size_t k = 1; k < packets.size(); ++k) CHECK_FALSE(starts(*d, packets[k]));
      if (packets.size() > 1) {
        // The first packet lost: the rest is not a frame.
        CHECK_FALSE(accepts(*d, std::vector<Bytes>(packets.begin() + 1, packets.end())));
        // Only the first packet: accepted exactly when it holds all of partition 0.
        const Bytes& fr = frames[i].data;
        const size_t p0_end = (frames[i].key ? 10u : 3u) + ((fr[0] | (fr[1] << 8) | (fr[2] << 16)) >> 5);
        const size_t in_first = packets[0].size() - vp8_descriptor(shape, true, 0).size();
        CHECK(accepts(*d, std::vector<Bytes>(packets.begin(), packets.begin() + 1)) == (p0_end <= in_first));
      }
      // out is cleared first.
      REQUIRE(run(*d, packets, f));
      CHECK(f.data == frames[i].data);
    }
    CHECK(keys == 2);
  }
}

TEST_CASE("VP8 depacketizer: malformed payloads are rejected") {
  auto d = make_depacketizer("vp8");
  // A small valid key frame: tag (P=0, show_frame, first partition 4 bytes), start code, 176x144.
  const uint32_t tag = 0x10 | (4u << 5);
  const Bytes key = {static_cast<uint8_t>(tag), static_cast<uint8_t>(tag >> 8), static_cast<uint8_t>(tag >> 16),
                     0x9d, 0x01, 0x2a, 176, 0x40 | 0, 144, 0xC0 | 0, 1, 2, 3, 4, 5};
  DepacketizedFrame f;
  REQUIRE(run(*d, {cat({{0x10}, key})}, f));
  CHECK(f.keyframe);
  CHECK(f.width == 176);  // the two scaling bits are dropped
  CHECK(f.height == 144);
  // Split across two packets, and across partitions with PID 1.
  REQUIRE(run(*d, {cat({{0x10}, Bytes(key.begin(), key.begin() + 5)}), cat({{0x00}, Bytes(key.begin() + 5, key.end())})}, f));
  CHECK(f.data == key);
  CHECK(accepts(*d, {cat({{0x10}, Bytes(key.begin(), key.begin() + 14)}), {0x11, 5}}));

  SUBCASE("truncated descriptors") {
    CHECK_FALSE(accepts(*d, {{0x10}}));              // no VP8 data
    CHECK_FALSE(accepts(*d, {{0x90}}));              // X without its byte
    CHECK_FALSE(accepts(*d, {{0x90, 0x80}}));        // I without PictureID
    CHECK_FALSE(accepts(*d, {{0x90, 0x80, 0x85}}));  // M without the second byte
    CHECK_FALSE(accepts(*d, {{0x90, 0x80, 0x85, 0x01}}));  // nothing after a 15-bit PictureID
    CHECK_FALSE(accepts(*d, {{0x90, 0x40, 0x01}}));        // L, no data
    CHECK_FALSE(accepts(*d, {{0x90, 0xF0, 0x01, 0x02}}));  // I L T/K, T/K byte missing
    CHECK_FALSE(starts(*d, {0x90, 0x80}));
    CHECK_FALSE(starts(*d, {}));
  }
  SUBCASE("frame starts") {
    CHECK_FALSE(accepts(*d, {cat({{0x00}, key})}));                 // S=0: the first packet is missing
    CHECK_FALSE(accepts(*d, {cat({{0x11}, key})}));                 // partition 1 first
    CHECK_FALSE(accepts(*d, {cat({{0x10}, key}), cat({{0x10}, key})}));  // two frames in one
    CHECK_FALSE(starts(*d, cat({{0x11}, key})));
    CHECK(starts(*d, cat({{0x10}, key})));
  }
  SUBCASE("bad frame headers") {
    Bytes bad = key;
    bad[3] = 0x9c;  // start code
    CHECK_FALSE(accepts(*d, {cat({{0x10}, bad})}));
    bad = key;
    bad[6] = 0;
    bad[7] = 0xC0;  // width 0 (only scaling bits)
    CHECK_FALSE(accepts(*d, {cat({{0x10}, bad})}));
    CHECK_FALSE(accepts(*d, {{0x10, 0x00, 0x00}}));  // shorter than a frame tag
    CHECK_FALSE(accepts(*d, {cat({{0x10}, Bytes(key.begin(), key.begin() + 9)})}));  // key header cut
    const uint32_t big = 0x11 | (100u << 5);  // inter frame whose partition 0 is past the end
    CHECK_FALSE(accepts(*d, {{0x10, static_cast<uint8_t>(big), static_cast<uint8_t>(big >> 8), 0, 1, 2}}));
    const uint32_t inter = 0x11 | (2u << 5);
    CHECK(accepts(*d, {{0x10, static_cast<uint8_t>(inter), static_cast<uint8_t>(inter >> 8), 0, 1, 2}}));
  }
}

// ---- VP9 ----------------------------------------------------------------------

TEST_CASE("VP9 depacketizer: libvpx frames round-trip byte-exact, flexible and non-flexible mode") {
  struct Run {
    unsigned w, h, profile;
  };
  for (const Run r : {Run{320, 240, 0}, Run{640, 360, 0}, Run{320, 240, 1}}) {
    CAPTURE(r.w);
    CAPTURE(r.profile);
    const auto frames = vpx_encode(true, r.w, r.h, 7, {0, 4}, r.profile);
    auto d = make_depacketizer("vp9");
    Vp9Ss ss;
    ss.layers = 1;
    ss.sizes = {{static_cast<uint16_t>(r.w), static_cast<uint16_t>(r.h)}};
    ss.g = true;
    ss.pictures = {{0, false, {1}}, {1, true, {1, 2}}, {2, false, {}}};
    Vp9Ss bare;  // N_S=0, no Y, no G
    for (size_t i = 0; i < frames.size(); ++i) {
      CAPTURE(i);
      const bool key = frames[i].key;
      Vp9Desc desc;
      switch (i % 4) {
        case 0:  // non-flexible: I (15-bit), L + TL0PICIDX, SS on key frames
          desc = {.picture_id = static_cast<int>(1000 + i), .layer = true, .tid = static_cast<uint8_t>(i % 3),
                  .tl0 = static_cast<uint8_t>(i), .u = true, .inter = !key, .ss = key ? &ss : nullptr};
          break;
        case 1:  // flexible: 7-bit PictureID, L, P_DIFFs
          desc = {.picture_id = static_cast<int>(i), .long_pid = false, .flexible = true, .layer = true,
                  .tid = 1, .inter = !key, .pdiff = {1, 3, 5}, .ss = key ? &bare : nullptr};
          break;
        case 2:  // minimal: no I, no L
          desc = {.inter = !key, .z = true};
          break;
        default:  // flexible without L, one P_DIFF
          desc = {.picture_id = 77, .flexible = true, .inter = !key, .pdiff = {1}, .ss = key ? &ss : nullptr};
          break;
      }
      const auto packets = packetize_vp9(frames[i].data, desc, 250);
      if (key) REQUIRE(packets.size() > 2);
      DepacketizedFrame f;
      REQUIRE(run(*d, packets, f));
      CHECK(f.data == frames[i].data);
      CHECK(f.keyframe == key);
      CHECK(f.width == (key ? r.w : 0));
      CHECK(f.height == (key ? r.h : 0));
      CHECK(starts(*d, packets[0]));
      for (size_t k = 1; k < packets.size(); ++k) CHECK_FALSE(starts(*d, packets[k]));
      if (packets.size() > 1) CHECK_FALSE(accepts(*d, std::vector<Bytes>(packets.begin() + 1, packets.end())));
    }
  }
}

namespace {

// A VP9 uncompressed header, hand-built, followed by filler.
Bytes vp9_header(unsigned profile, bool key, bool show_frame, bool intra_only, uint32_t w, uint32_t h,
                 unsigned color_space = 1, bool sync_ok = true) {
  BitWriter b;
  b.put(2, 2);
  b.bit(profile & 1);
  b.bit(profile >> 1);
  if (profile == 3) b.bit(0);
  b.bit(0);  // show_existing_frame
  b.bit(key ? 0 : 1);
  b.bit(show_frame);
  b.bit(0);  // error_resilient_mode
  auto color = [&] {
    if (profile >= 2) b.bit(1);
    b.put(color_space, 3);
    if (color_space != 7) {
      b.bit(0);
      if (profile == 1 || profile == 3) b.put(0b100, 3);  // 4:2:2... subsampling_x=1, y=0, reserved 0
    } else if (profile == 1 || profile == 3) {
      b.bit(0);
    }
  };
  if (!key) {
    if (!show_frame) b.bit(intra_only);
    b.put(0, 2);  // reset_frame_context
    if (!intra_only) {
      b.put(0x5A5A, 16);
      return b.bytes();
    }
  }
  b.put(sync_ok ? 0x498342 : 0x498343, 24);
  if (key) {
    color();
  } else {
    if (profile > 0) color();
    b.put(0x01, 8);  // refresh_frame_flags
  }
  b.put(w - 1, 16);
  b.put(h - 1, 16);
  b.put(0, 1);  // render_and_frame_size_different
  Bytes out = b.bytes();
  const Bytes f = filler(40, w);
  out.insert(out.end(), f.begin(), f.end());
  return out;
}

}  // namespace

TEST_CASE("VP9 depacketizer: uncompressed headers of every profile give key frame and size") {
  auto d = make_depacketizer("vp9");
  DepacketizedFrame f;
  struct Case {
    unsigned profile;
    unsigned color_space;
    uint32_t w, h;
  };
  for (const Case c : {Case{0, 1, 1280, 720}, Case{1, 2, 352, 288}, Case{2, 1, 3840, 2160}, Case{3, 5, 65536, 1},
                       Case{1, 7, 1920, 1080}, Case{3, 7, 64, 64}}) {
    CAPTURE(c.profile);
    const Bytes frame = vp9_header(c.profile, true, true, false, c.w, c.h, c.color_space);
    REQUIRE(run(*d, {cat({{0x0C}, frame})}, f));
    CHECK(f.keyframe);
    CHECK(f.width == c.w);
    CHECK(f.height == c.h);
    CHECK(f.data == frame);
  }
  // RGB is only allowed in profiles 1 and 3; a bad sync code is not a key frame.
  CHECK_FALSE(accepts(*d, {cat({{0x0C}, vp9_header(0, true, true, false, 64, 64, 7)})}));
  CHECK_FALSE(accepts(*d, {cat({{0x0C}, vp9_header(2, true, true, false, 64, 64, 7)})}));
  CHECK_FALSE(accepts(*d, {cat({{0x0C}, vp9_header(0, true, true, false, 64, 64, 1, false)})}));
  // A key frame header cut before the size.
  Bytes cut = vp9_header(0, true, true, false, 640, 480);
  cut.resize(6);
  CHECK_FALSE(accepts(*d, {cat({{0x0C}, cut})}));
  // Intra-only (hidden) frames carry a size but are not key frames on their own.
  for (unsigned profile : {0u, 1u}) {
    REQUIRE(run(*d, {cat({{0x0C}, vp9_header(profile, false, false, true, 800, 600)})}, f));
    CHECK_FALSE(f.keyframe);
    CHECK(f.width == 800);
    CHECK(f.height == 600);
  }
  // Inter frame, and show_existing_frame (a single byte).
  REQUIRE(run(*d, {cat({{0x0C}, vp9_header(0, false, true, false, 1, 1)})}, f));
  CHECK_FALSE(f.keyframe);
  CHECK(f.width == 0);
  REQUIRE(run(*d, {{0x0C, 0x88}}, f));
  CHECK_FALSE(f.keyframe);
  CHECK(f.data == Bytes{0x88});
  // frame_marker must be 2.
  CHECK_FALSE(accepts(*d, {{0x0C, 0x00, 0x00}}));
  CHECK_FALSE(accepts(*d, {{0x0C, 0xC0, 0x00}}));
}

TEST_CASE("VP9 depacketizer: spatial layers keep only the highest layer frame") {
  const auto low = vpx_encode(true, 320, 240, 3, {0});
  const auto high = vpx_encode(true, 640, 360, 3, {0});
  auto d = make_depacketizer("vp9");
  auto layer_packets = [](const Bytes& frame, uint8_t sid, bool inter, size_t mtu, bool flexible) {
    Vp9Desc desc{.picture_id = 500, .flexible = flexible, .layer = true, .sid = sid, .d = sid > 0, .inter = inter,
                 .pdiff = {1}};
    return packetize_vp9(frame, desc, mtu);
  };
  for (bool flexible : {false, true}) {
    CAPTURE(flexible);
    for (size_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      const bool key = i == 0;
      auto packets = layer_packets(low[i].data, 0, !key, 300, flexible);
      const auto upper = layer_packets(high[i].data, 1, !key, 300, flexible);
      packets.insert(packets.end(), upper.begin(), upper.end());
      DepacketizedFrame f;
      REQUIRE(run(*d, packets, f));
      CHECK(f.data == high[i].data);
      CHECK(f.keyframe == key);
      CHECK(f.width == (key ? 640u : 0u));
      CHECK(f.height == (key ? 360u : 0u));
      // Base layer only (the upper layer was not forwarded): the base is returned.
      const auto base = layer_packets(low[i].data, 0, !key, 300, flexible);
      REQUIRE(run(*d, base, f));
      CHECK(f.data == low[i].data);
      CHECK(f.width == (key ? 320u : 0u));
    }
  }
  // Three layers, one packet each, the middle one highest by SID order: still the highest SID.
  {
    const Bytes l2 = vp9_header(0, true, true, false, 1280, 720);
    std::vector<Bytes> packets = layer_packets(low[0].data, 0, false, 2000, false);
    const auto p2 = layer_packets(l2, 2, false, 2000, false);
    const auto p1 = layer_packets(high[0].data, 1, false, 2000, false);
    packets.insert(packets.end(), p2.begin(), p2.end());
    packets.insert(packets.end(), p1.begin(), p1.end());
    DepacketizedFrame f;
    REQUIRE(run(*d, packets, f));
    CHECK(f.data == l2);
    CHECK(f.width == 1280);
  }
  // Upper layer intra-only: a key frame when the picture's base layer is a key frame.
  {
    const Bytes intra = vp9_header(0, false, false, true, 640, 360);
    auto packets = layer_packets(low[0].data, 0, false, 400, false);
    const auto up = layer_packets(intra, 1, false, 400, false);
    packets.insert(packets.end(), up.begin(), up.end());
    DepacketizedFrame f;
    REQUIRE(run(*d, packets, f));
    CHECK(f.data == intra);
    CHECK(f.keyframe);
    CHECK(f.width == 640);
    CHECK(f.height == 360);
    packets = layer_packets(low[1].data, 0, true, 400, false);  // base is an inter frame
    packets.insert(packets.end(), up.begin(), up.end());
    REQUIRE(run(*d, packets, f));
    CHECK_FALSE(f.keyframe);
    CHECK(f.width == 640);
  }
  // A frame whose first packet is lost starts without a B bit: rejected.
  {
    auto packets = layer_packets(high[0].data, 1, false, 300, false);
    REQUIRE(packets.size() > 2);
    packets.erase(packets.begin());
    CHECK_FALSE(accepts(*d, packets));
  }
}

TEST_CASE("VP9 depacketizer: malformed descriptors are rejected") {
  auto d = make_depacketizer("vp9");
  const Bytes frame = vp9_header(0, false, true, false, 1, 1);
  CHECK(accepts(*d, {cat({{0x0C}, frame})}));
  // Each optional field cut off; nothing after the descriptor.
  CHECK_FALSE(accepts(*d, {{0x0C}}));
  CHECK_FALSE(accepts(*d, {{0x8C}}));                    // I without PictureID
  CHECK_FALSE(accepts(*d, {{0x8C, 0x81}}));              // M without the second byte... and no data
  CHECK_FALSE(accepts(*d, {{0xAC}}));                    // L without its byte
  CHECK_FALSE(accepts(*d, {{0x2C, 0x00}}));              // non-flexible L without TL0PICIDX
  CHECK_FALSE(accepts(*d, {{0x5C}}));                    // flexible P without P_DIFF
  CHECK_FALSE(accepts(*d, {{0x5C, 0x03, 0x03}}));        // P_DIFF N bit, next one missing
  CHECK_FALSE(accepts(*d, {cat({{0x5C, 0x03, 0x03, 0x03, 0x02}, frame})}));  // four P_DIFFs
  CHECK(accepts(*d, {cat({{0x5C, 0x03, 0x03, 0x02}, frame})}));              // three are fine
  CHECK_FALSE(accepts(*d, {{0x0E}}));                    // V without SS
  CHECK_FALSE(accepts(*d, {{0x0E, 0x30, 0x01, 0x40}}));  // Y: two layers' sizes cut
  CHECK_FALSE(accepts(*d, {{0x0E, 0x08}}));              // G without N_G
  CHECK_FALSE(accepts(*d, {{0x0E, 0x08, 0x02, 0x04}}));  // N_G=2, first has R=1, cut
  CHECK(accepts(*d, {cat({{0x0E, 0x18, 0x01, 0x40, 0x00, 0xF0, 0x02, 0x04, 0x01, 0x08, 0x01, 0x02}, frame})}));
  // Frame boundaries.
  CHECK_FALSE(accepts(*d, {cat({{0x04}, frame})}));  // no B: the first packet is missing
  CHECK_FALSE(starts(*d, cat({{0x04}, frame})));
  CHECK(starts(*d, cat({{0x08}, frame})));
  CHECK_FALSE(starts(*d, {0x08}));
  // Garbage VP9 data.
  CHECK_FALSE(accepts(*d, {{0x0C, 0x00}}));
}

// ---- H264 ---------------------------------------------------------------------

TEST_CASE("H264 depacketizer: SPS sizes and avcC match ffmpeg") {
  struct Case {
    const char* sps;
    const char* pps;
    const char* avcc;  // nullptr: not checked
    uint32_t w, h;
  };
  for (const Case c : {Case{kSps720, kPps720, kAvcc720, 1280, 720}, Case{kSps1080, kPps1080, kAvcc1080, 1920, 1080},
                       Case{kSps360, kPps360, kAvcc360, 640, 360}, Case{kSps1080i, kPps1080i, kAvcc1080i, 1920, 1080}}) {
    CAPTURE(c.sps);
    auto d = make_depacketizer("h264", "packetization-mode=1");
    CHECK(d->codec_private().empty());
    const Bytes sps = hex(c.sps), pps = hex(c.pps), idr = nal_unit(0x65, 3000, 1);
    DepacketizedFrame f;
    REQUIRE(run(*d, {stap_a({sps, pps}), idr}, f));
    CHECK(f.keyframe);
    CHECK(f.width == c.w);
    CHECK(f.height == c.h);
    CHECK(f.data == avcc({sps, pps, idr}));
    if (c.avcc) CHECK(d->codec_private() == hex(c.avcc));
    const Bytes cp = d->codec_private();
    REQUIRE(cp.size() > 8);
    CHECK(Bytes(cp.begin() + 8, cp.begin() + 8 + static_cast<long>(sps.size())) == sps);

    // sprop-parameter-sets gives the same avcC before any frame.
    const std::string fmtp = "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640028; "
                             "sprop-parameter-sets=" +
                             roomrec::util::base64_encode(sps.data(), sps.size()) + "," +
                             roomrec::util::base64_encode(pps.data(), pps.size());
    auto s = make_depacketizer("H264", fmtp);
    CHECK(s->codec_private() == cp);
    auto s2 = make_depacketizer("h264", "sprop-parameter-sets=" + roomrec::util::base64_encode(sps.data(), sps.size()) +
                                            "," + roomrec::util::base64_encode(pps.data(), pps.size()));
    CHECK(s2->codec_private() == cp);
  }
}

TEST_CASE("H264 depacketizer: hand-built SPS with scaling lists, POC type 1, fields and every chroma format") {
  struct Case {
    SpsShape shape;
    uint32_t w, h;
  };
  const Case cases[] = {
      {{.scaling = true, .poc_type = 1, .crop = {2, 3, 1, 4}}, 1280 - 2 * 5, 720 - 2 * 5},
      {{.chroma_format_idc = 3, .scaling = true, .crop = {1, 1, 1, 1}}, 1280 - 2, 720 - 2},  // 12 lists
      {{.chroma_format_idc = 2, .poc_type = 2, .height_map_units = 23, .frame_mbs_only = false, .crop = {1, 0, 0, 2}},
       1280 - 2, 736 - 4},
      {{.chroma_format_idc = 0, .frame_mbs_only = false, .crop = {3, 0, 1, 0}}, 1280 - 3, 1440 - 2},
      {{.chroma_format_idc = 3, .separate_colour_plane = true, .crop = {3, 0, 0, 5}}, 1280 - 3, 720 - 5},
      {{.profile = 66, .width_mbs = 120, .height_map_units = 68, .crop = {0, 0, 0, 4}}, 1920, 1080},
      {{.profile = 77, .width_mbs = 1, .height_map_units = 1}, 16, 16},
  };
  for (const Case& c : cases) {
    CAPTURE(c.w);
    auto d = make_depacketizer("h264");
    const Bytes sps = build_sps(c.shape), pps = {0x68, 0xCE, 0x3C, 0x80};
    DepacketizedFrame f;
    REQUIRE(run(*d, {sps, pps, nal_unit(0x65, 10, 2)}, f));
    CHECK(f.width == c.w);
    CHECK(f.height == c.h);
    const Bytes cp = d->codec_private();
    REQUIRE(!cp.empty());
    CHECK(cp[1] == c.shape.profile);
    if (c.shape.profile == 100) {  // High extension: chroma format, bit depths (10-bit here)
      REQUIRE(cp.size() == 6 + 2 + sps.size() + 1 + 2 + pps.size() + 4);
      CHECK(cp[cp.size() - 4] == (0xFC | c.shape.chroma_format_idc));
      CHECK(cp[cp.size() - 3] == 0xFA);
      CHECK(cp[cp.size() - 2] == 0xFA);
      CHECK(cp[cp.size() - 1] == 0);
    } else {
      CHECK(cp.size() == 6 + 2 + sps.size() + 1 + 2 + pps.size());
    }
  }
  // A broken SPS: the frame still passes (it is the decoder's business), but
  // no size is reported and avcC keeps the previous parameter sets.
  auto d = make_depacketizer("h264");
  const Bytes good = hex(kSps1080), pps = hex(kPps1080);
  REQUIRE(accepts(*d, {good, pps, nal_unit(0x65, 10, 3)}));
  const Bytes before = d->codec_private();
  DepacketizedFrame f;
  REQUIRE(run(*d, {{0x67, 0x64, 0x00}, nal_unit(0x65, 10, 3)}, f));
  CHECK(f.width == 0);
  CHECK(f.height == 0);
  CHECK(d->codec_private() == before);
  SpsShape huge;
  huge.width_mbs = 5000;  // 80000 pixels wide
  REQUIRE(run(*d, {build_sps(huge), nal_unit(0x65, 10, 3)}, f));
  CHECK(f.width == 0);
  CHECK(d->codec_private() == before);
}

TEST_CASE("H264 depacketizer: single NAL, STAP-A and FU-A give AVCC; IDR is the key frame") {
  const Bytes sps = hex(kSps1080), pps = hex(kPps1080);
  const Bytes sei = nal_unit(0x06, 40, 5);
  const Bytes idr_a = nal_unit(0x65, 4000, 6), idr_b = nal_unit(0x65, 700, 7);
  const Bytes p_slice = nal_unit(0x41, 2500, 8), small_p = nal_unit(0x41, 60, 9);
  auto d = make_depacketizer("h264");
  struct Case {
    const char* name;
    std::vector<Bytes> packets;
    std::vector<Bytes> nals;
    bool key;
  };
  auto concat = [](std::vector<Bytes> a, const std::vector<Bytes>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const Case cases[] = {
      {"single NAL units + FU-A", concat({sps, pps, sei}, fu_a(idr_a, 1200)), {sps, pps, sei, idr_a}, true},
      {"STAP-A + FU-A + single", concat(concat({stap_a({sps, pps, sei})}, fu_a(idr_a, 500)), {idr_b}),
       {sps, pps, sei, idr_a, idr_b}, true},
      {"STAP-A with the slice", {stap_a({sps, pps, idr_b})}, {sps, pps, idr_b}, true},
      {"two FU-A in a row", concat(fu_a(idr_a, 1000), fu_a(idr_b, 300)), {idr_a, idr_b}, true},
      {"non-IDR FU-A", fu_a(p_slice, 1100), {p_slice}, false},
      {"non-IDR single", {small_p}, {small_p}, false},
      {"non-IDR STAP-A", {stap_a({sei, small_p})}, {sei, small_p}, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    DepacketizedFrame f;
    REQUIRE(run(*d, c.packets, f));
    CHECK(f.data == avcc(c.nals));
    CHECK(f.keyframe == c.key);
    const bool has_sps = c.nals[0] == sps;
    CHECK(f.width == (has_sps ? 1920u : 0u));
    CHECK(f.height == (has_sps ? 1080u : 0u));
    CHECK(d->codec_private() == hex(kAvcc1080));
    CHECK(starts(*d, c.packets[0]));
  }
  // STAP-B, MTAP16/24, FU-B and undefined types are skipped next to good packets.
  DepacketizedFrame f;
  REQUIRE(run(*d, {{0x19, 0, 0, 1, 2}, small_p, {0x1A, 9, 9}, {0x1B, 1}, {0x1D, 0x81, 0, 0}, {0x00, 1}, {0x1E}, {0x1F, 5}}, f));
  CHECK(f.data == avcc({small_p}));
  CHECK(starts(*d, {0x1D, 0x01, 0, 0}));  // FU-B is ignored, so it does not mark a lost start
}

TEST_CASE("H264 depacketizer: malformed packets are rejected") {
  auto d = make_depacketizer("h264");
  const Bytes idr = nal_unit(0x65, 3000, 11);
  const auto fus = fu_a(idr, 1000);
  REQUIRE(fus.size() == 4);
  CHECK(accepts(*d, fus));
  CHECK_FALSE(accepts(*d, {fus[1], fus[2], fus[3]}));         // FU-A without its start
  CHECK_FALSE(starts(*d, fus[1]));
  CHECK(starts(*d, fus[0]));
  CHECK_FALSE(accepts(*d, {fus[0], fus[1], fus[2]}));         // never ends
  CHECK_FALSE(accepts(*d, {fus[0], fus[1], {0x41, 1}, fus[3]}));  // interrupted by another NAL unit
  CHECK_FALSE(accepts(*d, {fus[0], fus[0], fus[1], fus[2], fus[3]}));  // restarted
  CHECK_FALSE(accepts(*d, {fus[0], fus[3], fus[3]}));         // end, then an orphan fragment
  CHECK_FALSE(accepts(*d, {{0x7C}}));                         // FU-A without its header
  CHECK_FALSE(accepts(*d, {{0x7C, 0xC0, 1, 2}}));             // FU-A carrying NAL type 0
  CHECK_FALSE(accepts(*d, {{0x7C, 0xD8, 1, 2}}));             // FU-A carrying a STAP-A type
  CHECK(accepts(*d, {{0x7C, 0xC5, 1, 2}}));                   // S and E together: tolerated
  // STAP-A shapes.
  CHECK_FALSE(accepts(*d, {{0x18}}));                         // no aggregation units
  CHECK_FALSE(accepts(*d, {{0x18, 0x00}}));                   // size cut
  CHECK_FALSE(accepts(*d, {{0x18, 0x00, 0x00}}));             // zero-size unit
  CHECK_FALSE(accepts(*d, {{0x18, 0x00, 0x05, 0x41, 1, 2}}));  // unit past the end
  CHECK_FALSE(accepts(*d, {{0x18, 0x00, 0x02, 0x41, 1, 0x00}}));  // trailing byte
  CHECK_FALSE(accepts(*d, {{0x18, 0x00, 0x02, 0x18, 1}}));    // nested aggregation
  CHECK_FALSE(accepts(*d, {{0x18, 0x00, 0x02, 0x00, 1}}));    // NAL type 0 inside
  CHECK(accepts(*d, {{0x18, 0x00, 0x02, 0x41, 1, 0x00, 0x01, 0x41}}));
  // Only skipped packet types: no frame.
  CHECK_FALSE(accepts(*d, {{0x19, 0, 0, 1, 2}, {0x1D, 0x81, 0, 0}}));
  CHECK_FALSE(accepts(*d, {{0x00}}));
  CHECK_FALSE(accepts(*d, {{0x41, 1}, {}}));                  // an empty payload in the frame
  // Bad sprop-parameter-sets are ignored, not fatal.
  auto s = make_depacketizer("h264", "sprop-parameter-sets=!!!,Z0;packetization-mode=0;junk;=;sprop-parameter-sets=");
  REQUIRE(s != nullptr);
  CHECK(s->codec_private().empty());
  CHECK(accepts(*s, {{0x41, 1}}));
}

// ---- AV1 ----------------------------------------------------------------------

TEST_CASE("AV1 depacketizer: sequence headers from three encoders give size and the same av1C as ffmpeg") {
  for (const Av1Oracle& o : kAv1Oracles) {
    CAPTURE(o.obu);
    auto d = make_depacketizer("av1");
    const Bytes seq = unsized(hex(o.obu));
    const Bytes frame = av1_frame_obu(true, 3000, 21);
    DepacketizedFrame f;
    REQUIRE(run(*d, packetize_av1({{0x10}, seq, frame}, 1100, true, true), f));  // with a temporal delimiter
    CHECK(f.data == cat({hex(o.obu), sized(frame)}));
    CHECK(f.keyframe);
    CHECK(f.width == o.width);
    CHECK(f.height == o.height);
    CHECK(d->codec_private() == cat({hex(o.av1c_prefix), hex(o.obu)}));
  }
}

TEST_CASE("AV1 depacketizer: W=0, W=1..3 and fragments across packets reassemble the temporal unit") {
  const Bytes seq = unsized(hex(kAv1Oracles[0].obu));
  const Bytes key = av1_frame_obu(true, 2500, 31), inter = av1_frame_obu(false, 1800, 32);
  const Bytes small = av1_frame_obu(false, 20, 33);
  const Bytes metadata = {0x28, 0x01, 0x02, 0x03};                    // OBU_METADATA
  const Bytes with_ext = {0x34, 0x28, 0x30, 0x05, 0x06, 0x07, 0x08};  // frame OBU with extension (tid 1, sid 1)
  const Bytes expected_key = cat({sized(seq), sized(key)});
  auto d = make_depacketizer("av1");
  for (size_t mtu : {60u, 300u, 1200u, 5000u}) {
    for (bool use_w : {false, true}) {
      CAPTURE(mtu);
      CAPTURE(use_w);
      DepacketizedFrame f;
      auto packets = packetize_av1({{0x10}, seq, key}, mtu, use_w, true);
      REQUIRE(run(*d, packets, f));
      CHECK(f.data == expected_key);
      CHECK(f.keyframe);
      CHECK(f.width == 1280);
      CHECK(f.height == 720);
      CHECK(starts(*d, packets[0]));
      for (size_t k = 1; k < packets.size(); ++k) CHECK(starts(*d, packets[k]) == ((packets[k][0] & 0x80) == 0));
      if (packets.size() > 1 && (packets[1][0] & 0x80))
        CHECK_FALSE(accepts(*d, std::vector<Bytes>(packets.begin() + 1, packets.end())));

      packets = packetize_av1({metadata, inter, small, with_ext}, mtu, use_w, false);
      REQUIRE(run(*d, packets, f));
      CHECK(f.data == cat({sized(metadata), sized(inter), sized(small), sized(with_ext)}));
      CHECK_FALSE(f.keyframe);
      CHECK(f.width == 0);
    }
  }
  DepacketizedFrame f;
  // Explicit W values: W=2 (sequence header with a length, frame without), W=1, W=3.
  REQUIRE(run(*d, {av1_packet(false, false, 2, true, {seq, key})}, f));
  CHECK(f.data == expected_key);
  CHECK(f.keyframe);
  REQUIRE(run(*d, {av1_packet(false, false, 1, false, {inter})}, f));
  CHECK(f.data == sized(inter));
  REQUIRE(run(*d, {av1_packet(false, false, 3, false, {{0x10}, inter, small})}, f));
  CHECK(f.data == cat({sized(inter), sized(small)}));
  // W=2 with the key frame fragmented over three packets (W=1 in the middle: one element, no length).
  const Bytes k1(key.begin(), key.begin() + 1000), k2(key.begin() + 1000, key.begin() + 2000),
      k3(key.begin() + 2000, key.end());
  REQUIRE(run(*d, {av1_packet(false, true, 2, true, {seq, k1}), av1_packet(true, true, 1, false, {k2}),
                   av1_packet(true, false, 1, false, {k3})}, f));
  CHECK(f.data == expected_key);
  // OBUs may arrive with obu_has_size_field=1: the output is the same.
  REQUIRE(run(*d, {av1_packet(false, false, 0, true, {sized(seq), sized(key)})}, f));
  CHECK(f.data == expected_key);
  // Tile list OBUs and temporal delimiters are dropped; padding OBUs kept.
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {{0x12, 0x00}, {0x40, 1, 2}, inter, {0x78, 0, 0}})}, f));
  CHECK(f.data == cat({sized(inter), sized({0x78, 0, 0})}));
  // Key frame detection: sequence header + shown KEY_FRAME; N alone does not
  // make one without a sequence header; a sequence header before an inter
  // frame is not one either (unless N says a new sequence starts).
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {seq, key})}, f));
  CHECK(f.keyframe);
  REQUIRE(run(*d, {av1_packet(false, false, 0, true, {key})}, f));
  CHECK_FALSE(f.keyframe);
  CHECK(f.width == 0);
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {seq, inter})}, f));
  CHECK_FALSE(f.keyframe);
  CHECK(f.width == 1280);
  REQUIRE(run(*d, {av1_packet(false, false, 0, true, {seq, inter})}, f));
  CHECK(f.keyframe);
  Bytes hidden_key = key;
  hidden_key[1] = 0x00;  // KEY_FRAME, show_frame 0
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {seq, hidden_key})}, f));
  CHECK_FALSE(f.keyframe);
  // OBU_FRAME_HEADER + OBU_TILE_GROUP is a key frame as well.
  const Bytes frame_header = av1_frame_obu(true, 10, 34, 3), tile_group = av1_frame_obu(false, 300, 35, 4);
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {seq, frame_header, tile_group})}, f));
  CHECK(f.keyframe);
}

TEST_CASE("AV1 depacketizer: hand-built sequence headers of every shape") {
  struct Case {
    const char* name;
    SeqShape s;
  };
  const Case cases[] = {
      {"timing, decoder model, 2 operating points, display delay, frame ids",
       {.timing = true, .decoder_model = true, .initial_display_delay = true, .ops = {{13, 1}, {5, 0}},
        .width_bits = 12, .height_bits = 12, .width = 3840, .height = 2160, .frame_ids = true}},
      {"timing without decoder model, no order hint, forced screen content",
       {.timing = true, .ops = {{4, 0}}, .width_bits = 16, .height_bits = 16, .width = 65536, .height = 1,
        .order_hint = false, .screen_content_select = false}},
      {"reduced still picture header, mono", {.reduced = true, .level = 3, .width = 640, .height = 480, .mono = true}},
      {"profile 2, 12-bit 4:2:2, color description",
       {.profile = 2, .high_bitdepth = true, .twelve_bit = true, .color_description = true, .cp = 9, .tc = 16,
        .mc = 9, .ss_x = true, .ss_y = false}},
      {"profile 2, 12-bit 4:2:0 with chroma sample position",
       {.profile = 2, .high_bitdepth = true, .twelve_bit = true, .ss_x = true, .ss_y = true, .csp = 2}},
      {"profile 2, 10-bit", {.profile = 2, .high_bitdepth = true}},
      {"profile 1, sRGB identity", {.profile = 1, .color_description = true, .cp = 1, .tc = 13, .mc = 0}},
      {"profile 0, chroma sample position", {.width_bits = 8, .height_bits = 7, .width = 200, .height = 100,
                                             .csp = 1}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    uint8_t b1 = 0, b2 = 0;
    const Bytes seq = build_seq(c.s, b1, b2);
    const Bytes key = av1_frame_obu(true, 50, 41);
    auto d = make_depacketizer("av1x");
    DepacketizedFrame f;
    REQUIRE(run(*d, {av1_packet(false, false, 2, false, {seq, key})}, f));
    CHECK(f.width == c.s.width);
    CHECK(f.height == c.s.height);
    CHECK(f.keyframe);
    CHECK(d->codec_private() == cat({{0x81, b1, b2, 0x00}, sized(seq)}));
  }
  // A reduced still picture header: every frame header is a shown key frame.
  uint8_t b1 = 0, b2 = 0;
  const Bytes still = build_seq({.reduced = true, .width = 64, .height = 64}, b1, b2);
  auto d = make_depacketizer("av1");
  DepacketizedFrame f;
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {still, {0x30, 0xFF, 0xFF}})}, f));
  CHECK(f.keyframe);
  CHECK(d->codec_private() == cat({{0x81, b1, b2, 0x00}, sized(still)}));
  // A sequence header that does not parse: frame kept, no size, av1C unchanged.
  REQUIRE(run(*d, {av1_packet(false, false, 0, false, {{0x08, 0xE0}, av1_frame_obu(true, 5, 1)})}, f));
  CHECK_FALSE(f.keyframe);
  CHECK(f.width == 0);
  CHECK(d->codec_private() == cat({{0x81, b1, b2, 0x00}, sized(still)}));
  auto fresh = make_depacketizer("av1");
  REQUIRE(run(*fresh, {av1_packet(false, false, 0, false, {{0x08, 0xE0}, av1_frame_obu(true, 5, 1)})}, f));
  CHECK(fresh->codec_private().empty());
}

TEST_CASE("AV1 depacketizer: malformed packets are rejected") {
  auto d = make_depacketizer("av1");
  const Bytes inter = av1_frame_obu(false, 100, 51);
  const Bytes a(inter.begin(), inter.begin() + 50), b(inter.begin() + 50, inter.end());
  CHECK(accepts(*d, {av1_packet(false, true, 1, false, {a}), av1_packet(true, false, 1, false, {b})}));
  CHECK_FALSE(accepts(*d, {av1_packet(true, false, 1, false, {b})}));     // Z=1 first: start lost
  CHECK_FALSE(starts(*d, av1_packet(true, false, 1, false, {b})));
  CHECK_FALSE(accepts(*d, {av1_packet(false, true, 1, false, {a})}));     // Y=1 at the end
  CHECK_FALSE(accepts(*d, {av1_packet(false, true, 1, false, {a}), av1_packet(false, false, 1, false, {b})}));  // Y, no Z
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 1, false, {inter}), av1_packet(true, false, 1, false, {b})}));  // Z, no Y
  CHECK_FALSE(accepts(*d, {{0x00}}));                                      // aggregation header only
  CHECK_FALSE(starts(*d, {0x00}));
  CHECK_FALSE(accepts(*d, {{0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}}));  // leb128 too long
  CHECK_FALSE(accepts(*d, {{0x00, 0x80}}));                                // leb128 cut
  CHECK_FALSE(accepts(*d, {{0x00, 0x05, 0x30, 0x10}}));                    // element past the end
  CHECK_FALSE(accepts(*d, {{0x00, 0x00, 0x01, 0x30}}));                    // zero-length element
  CHECK_FALSE(accepts(*d, {{0x20, 0x02, 0x30, 0x10}}));                    // W=2, only one element
  CHECK_FALSE(accepts(*d, {{0x10, 0x02, 0x30, 0x10, 0x30}}));              // W=1: one element whose obu_size (48) is wrong
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0xB0, 0x10}})}));  // forbidden bit
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0x32, 0x05, 0x10}})}));  // obu_size past the element
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0x32, 0x00, 0x10}})}));  // obu_size short of it
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0x32, 0x80}})}));        // obu_size cut
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0x34}})}));              // extension byte missing
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0x10}})}));  // only a temporal delimiter
  CHECK_FALSE(accepts(*d, {av1_packet(false, false, 0, false, {{0x10}}), {}}));
}

// ---- Opus and RED -------------------------------------------------------------

TEST_CASE("Opus depacketizer: the payload is the frame; RED gives the primary block") {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
  REQUIRE(err == OPUS_OK);
  std::vector<Bytes> packets;
  std::vector<int16_t> pcm(960 * 2);
  for (int k = 0; k < 3; ++k) {
    for (size_t i = 0; i < 960; ++i) {
      const double t = static_cast<double>(i + 960 * k) / 48000.0;
      pcm[2 * i] = static_cast<int16_t>(8000 * std::sin(2 * 3.14159265 * 440 * t));
      pcm[2 * i + 1] = static_cast<int16_t>(6000 * std::sin(2 * 3.14159265 * 660 * t));
    }
    Bytes out(1500);
    const int n = opus_encode(enc, pcm.data(), 960, out.data(), static_cast<opus_int32>(out.size()));
    REQUIRE(n > 1);
    out.resize(static_cast<size_t>(n));
    packets.push_back(out);
  }
  opus_encoder_destroy(enc);

  auto opus = make_depacketizer("opus");
  auto red = make_depacketizer("red");
  for (const Bytes& p : packets) {
    DepacketizedFrame f;
    REQUIRE(run(*opus, {p}, f));
    CHECK(f.data == p);
    CHECK(f.keyframe);
    CHECK(f.width == 0);
    CHECK(starts(*opus, p));
  }
  // RED with two redundant blocks (the two previous packets), then the primary.
  auto red_header = [](bool more, uint8_t pt, uint16_t ts_offset, size_t len) {
    if (!more) return Bytes{pt};
    return Bytes{static_cast<uint8_t>(0x80 | pt), static_cast<uint8_t>(ts_offset >> 6),
                 static_cast<uint8_t>(((ts_offset & 0x3F) << 2) | (len >> 8)), static_cast<uint8_t>(len)};
  };
  const Bytes r2 = cat({red_header(true, 111, 1920, packets[0].size()), red_header(true, 111, 960, packets[1].size()),
                        red_header(false, 111, 0, 0), packets[0], packets[1], packets[2]});
  DepacketizedFrame f;
  REQUIRE(run(*red, {r2}, f));
  CHECK(f.data == packets[2]);
  CHECK(f.keyframe);
  const Bytes r0 = cat({red_header(false, 111, 0, 0), packets[1]});
  REQUIRE(run(*red, {r0}, f));
  CHECK(f.data == packets[1]);
  // A 10-bit block length of 1023 and an empty redundant block.
  const Bytes big(1023, 0x55);
  REQUIRE(run(*red, {cat({red_header(true, 111, 16383, 1023), red_header(true, 111, 5, 0), red_header(false, 111, 0, 0),
                          big, packets[0]})}, f));
  CHECK(f.data == packets[0]);

  SUBCASE("malformed") {
    CHECK_FALSE(accepts(*opus, {packets[0], packets[1]}));  // one packet per frame
    CHECK_FALSE(accepts(*opus, {{}}));
    CHECK_FALSE(accepts(*red, {{}}));
    CHECK_FALSE(accepts(*red, {{0x6F}}));                        // primary header, no data
    CHECK_FALSE(accepts(*red, {{0xEF, 0x00, 0x00}}));            // redundant header cut
    CHECK_FALSE(accepts(*red, {{0xEF, 0x00, 0x00, 0x02, 0xEF}}));  // all headers say "more"
    CHECK_FALSE(accepts(*red, {cat({red_header(true, 111, 960, 10), red_header(false, 111, 0, 0), Bytes(5, 1)})}));  // past the end
    CHECK_FALSE(accepts(*red, {cat({red_header(true, 111, 960, 10), red_header(false, 111, 0, 0), Bytes(10, 1)})}));  // no primary left
    CHECK(accepts(*red, {cat({red_header(true, 111, 960, 10), red_header(false, 111, 0, 0), Bytes(11, 1)})}));
    CHECK(starts(*red, {}));
  }
}

// ---- robustness ---------------------------------------------------------------

namespace {

// Valid packet sets per codec, small, to mutate.
std::vector<std::vector<Bytes>> seeds(const std::string& codec) {
  std::vector<std::vector<Bytes>> s;
  if (codec == "vp8") {
    const uint32_t tag = 0x10 | (4u << 5);
    const Bytes key = {static_cast<uint8_t>(tag), static_cast<uint8_t>(tag >> 8), 0, 0x9d, 0x01, 0x2a, 64, 0, 48, 0,
                       1, 2, 3, 4, 5, 6};
    s.push_back({cat({{0x90, 0xE0, 0x81, 0x02, 0x05, 0x40}, Bytes(key.begin(), key.begin() + 7)}),
                 cat({{0x80, 0xE0, 0x81, 0x02, 0x05, 0x40}, Bytes(key.begin() + 7, key.end())})});
    s.push_back({cat({{0x10}, key})});
  } else if (codec == "vp9") {
    const Bytes key = vp9_header(0, true, true, false, 320, 240);
    const Bytes intra = vp9_header(1, false, false, true, 640, 480);
    s.push_back({cat({{0xAA, 0x81, 0x02, 0x00, 0x05, 0x18, 0x01, 0x40, 0x00, 0xF0, 0x01, 0x04, 0x01},
                      Bytes(key.begin(), key.begin() + 10)}),
                 cat({{0xA4, 0x81, 0x02, 0x00, 0x05}, Bytes(key.begin() + 10, key.end())}),
                 cat({{0xBC, 0x81, 0x02, 0x22}, intra})});
  } else if (codec == "h264") {
    const Bytes sps = hex(kSps720), pps = hex(kPps720), idr = nal_unit(0x65, 60, 1);
    std::vector<Bytes> p{stap_a({sps, pps})};
    for (const auto& fu : fu_a(idr, 25)) p.push_back(fu);
    s.push_back(p);
    s.push_back({build_sps({.scaling = true, .poc_type = 1, .crop = {1, 1, 1, 1}}), {0x41, 1, 2, 3}});
  } else if (codec == "av1") {
    const Bytes seq = unsized(hex(kAv1Oracles[1].obu));
    s.push_back(packetize_av1({{0x10}, seq, av1_frame_obu(true, 40, 3)}, 30, true, true));
    uint8_t b1, b2;
    s.push_back(packetize_av1({build_seq({.timing = true, .decoder_model = true, .ops = {{9, 1}, {2, 0}}}, b1, b2),
                               av1_frame_obu(true, 10, 4)},
                              20, false, false));
  } else if (codec == "opus") {
    s.push_back({{0xFC, 0xFF, 0xFE}});
  } else {
    s.push_back({{0xEF, 0x03, 0xC0, 0x03, 0x6F, 1, 2, 3, 0xFC, 0x01}});
  }
  return s;
}

}  // namespace

TEST_CASE("depacketizers never crash on random or mutated payloads, and accepted frames are consistent") {
  std::mt19937 rng(20240611);
  for (const std::string codec : {"vp8", "vp9", "h264", "av1", "opus", "red"}) {
    CAPTURE(codec);
    auto d = make_depacketizer(codec);
    Checker checker;
    const auto valid = seeds(codec);
    for (const auto& s : valid) {
      DepacketizedFrame f;
      CHECK(run(*d, s, f));
    }
    // Random payloads, with first bytes drawn from the interesting header values now and then.
    for (int iter = 0; iter < 3000; ++iter) {
      std::vector<Bytes> packets(1 + rng() % 5);
      for (auto& p : packets) {
        p.resize(rng() % 40);
        for (auto& b : p) b = static_cast<uint8_t>(rng());
        if (!p.empty() && rng() % 2) p[0] &= 0x9F;  // clear Y / some flags
      }
      checker.check(*d, packets);
    }
    // Mutations of valid frames: bit flips, truncation, byte insertion, dropped or duplicated packets.
    for (int iter = 0; iter < 4000; ++iter) {
      auto packets = valid[rng() % valid.size()];
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        Bytes& p = packets[rng() % packets.size()];
        switch (rng() % 6) {
          case 0:
          case 1:
            if (!p.empty()) p[rng() % p.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 2:
            if (!p.empty()) p.resize(rng() % p.size());
            break;
          case 3:
            p.insert(p.begin() + static_cast<long>(rng() % (p.size() + 1)), static_cast<uint8_t>(rng()));
            break;
          case 4:
            if (packets.size() > 1) packets.erase(packets.begin() + static_cast<long>(rng() % packets.size()));
            break;
          default:
            packets.push_back(packets[rng() % packets.size()]);
            break;
        }
      }
      checker.check(*d, packets);
    }
    CHECK(checker.bad == 0);
    CHECK(checker.accepted > 500);  // the mutations reach the accepting paths too
  }
}
