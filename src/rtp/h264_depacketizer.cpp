// H.264 (RFC 6184), packetization-mode 0 and 1: single NAL unit packets
// (types 1-23), STAP-A (24) and FU-A (28). STAP-B, MTAP16/24 and FU-B
// (interleaved mode) and the undefined types 0, 30, 31 are skipped (RFC 6184
// 5.4 tells receivers to ignore what they do not handle); a frame made only of
// those is rejected. Output is AVCC: every NAL unit prefixed with its 4-byte
// big-endian length, parameter sets kept in-band.
//
// The latest SPS/PPS (from sprop-parameter-sets, then in-band) build avcC
// (ISO/IEC 14496-15 5.3.3.1); the SPS gives the cropped picture size (H.264 7.3.2.1.1).
#include <array>

#include "util/text.h"
#include "rtp/depacketizer.h"
#include "util/base64.h"

namespace roomrec::rtp {

using util::iequals;
namespace {

struct SpsInfo {
  uint8_t profile_idc = 0;
  uint32_t chroma_format_idc = 1;
  uint32_t bit_depth_luma_minus8 = 0;
  uint32_t bit_depth_chroma_minus8 = 0;
  uint32_t width = 0, height = 0;
};

bool skip_scaling_list(detail::BitReader& br, int size) noexcept {
  int last = 8, next = 8;
  for (int j = 0; j < size; ++j) {
    if (next != 0) {
      const int32_t delta = br.se();
      if (!br.ok() || delta < -128 || delta > 127) return false;
      next = (last + delta + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
  return true;
}

// Parses an SPS NAL unit (header byte included) up to the frame cropping.
bool parse_sps(const uint8_t* nal, size_t n, SpsInfo& info) noexcept {
  // RBSP: drop emulation prevention bytes (00 00 03). The fields we need sit
  // well inside the first bytes, even with scaling lists.
  std::array<uint8_t, 1024> rbsp;
  size_t m = 0;
  int zeros = 0;
  for (size_t i = 1; i < n && m < rbsp.size(); ++i) {
    if (zeros >= 2 && nal[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = nal[i] == 0 ? zeros + 1 : 0;
    rbsp[m++] = nal[i];
  }
  detail::BitReader br(rbsp.data(), m);
  info = SpsInfo{};
  info.profile_idc = static_cast<uint8_t>(br.bits(8));
  br.bits(16);                 // constraint flags, level_idc
  if (br.ue() > 31) return false;  // seq_parameter_set_id
  bool separate_colour_plane = false;
  switch (info.profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83:
    case 86: case 118: case 128: case 138: case 139: case 134: case 135: {
      info.chroma_format_idc = br.ue();
      if (info.chroma_format_idc > 3) return false;
      if (info.chroma_format_idc == 3) separate_colour_plane = br.bit();
      info.bit_depth_luma_minus8 = br.ue();
      info.bit_depth_chroma_minus8 = br.ue();
      if (info.bit_depth_luma_minus8 > 6 || info.bit_depth_chroma_minus8 > 6) return false;
      br.bit();      // qpprime_y_zero_transform_bypass_flag
      if (br.bit()) {  // seq_scaling_matrix_present_flag
        const int lists = info.chroma_format_idc != 3 ? 8 : 12;
        for (int i = 0; i < lists; ++i)
          if (br.bit() && !skip_scaling_list(br, i < 6 ? 16 : 64)) return false;
      }
      break;
    }
    default:
      break;
  }
  if (br.ue() > 12) return false;  // log2_max_frame_num_minus4
  const uint32_t poc_type = br.ue();
  if (poc_type == 0) {
    if (br.ue() > 12) return false;  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    br.bit();  // delta_pic_order_always_zero_flag
    br.se();   // offset_for_non_ref_pic
    br.se();   // offset_for_top_to_bottom_field
    const uint32_t cycle = br.ue();
    if (cycle > 255) return false;
    for (uint32_t i = 0; i < cycle && br.ok(); ++i) br.se();
  } else if (poc_type != 2) {
    return false;
  }
  br.ue();   // max_num_ref_frames
  br.bit();  // gaps_in_frame_num_value_allowed_flag
  const uint64_t width_mbs = uint64_t{br.ue()} + 1;
  const uint64_t height_map_units = uint64_t{br.ue()} + 1;
  const bool frame_mbs_only = br.bit();
  if (!frame_mbs_only) br.bit();  // mb_adaptive_frame_field_flag
  br.bit();                       // direct_8x8_inference_flag
  uint64_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (br.bit()) {  // frame_cropping_flag
    crop_left = br.ue();
    crop_right = br.ue();
    crop_top = br.ue();
    crop_bottom = br.ue();
  }
  if (!br.ok()) return false;
  // H.264 table 6-1 and equations 7-19..7-22.
  const uint32_t chroma_array_type = separate_colour_plane ? 0 : info.chroma_format_idc;
  const uint64_t sub_width = (chroma_array_type == 1 || chroma_array_type == 2) ? 2 : 1;
  const uint64_t sub_height = chroma_array_type == 1 ? 2 : 1;
  const uint64_t field_factor = frame_mbs_only ? 1 : 2;
  const uint64_t width = width_mbs * 16;
  const uint64_t height = height_map_units * 16 * field_factor;
  const uint64_t crop_x = sub_width * (crop_left + crop_right);
  const uint64_t crop_y = sub_height * field_factor * (crop_top + crop_bottom);
  if (width > 65535 || height > 65535 || crop_x >= width || crop_y >= height) return false;
  info.width = static_cast<uint32_t>(width - crop_x);
  info.height = static_cast<uint32_t>(height - crop_y);
  return true;
}


std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

class H264Depacketizer final : public Depacketizer {
 public:
  explicit H264Depacketizer(std::string_view fmtp) { read_fmtp(fmtp); }

  bool depacketize(const PayloadView* payloads, size_t count, DepacketizedFrame& out) override {
    out.clear();
    if (payloads == nullptr || count == 0) return false;
    sps_at_ = pps_at_ = kNone;
    size_t fu_at = kNone;  // offset of the open FU-A NAL unit's length prefix
    bool any = false;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* p = payloads[i].data;
      const size_t n = payloads[i].size;
      if (p == nullptr || n == 0) return false;
      const uint8_t type = p[0] & 0x1F;
      if (fu_at != kNone && type != 28) return false;  // an FU-A was cut short
      if (type >= 1 && type <= 23) {
        add_nal(p, n, out);
        any = true;
      } else if (type == 24) {  // STAP-A: 16-bit size + NAL unit, repeated
        size_t off = 1;
        if (off == n) return false;
        while (off < n) {
          if (n - off < 2) return false;
          const size_t len = (size_t{p[off]} << 8) | p[off + 1];
          off += 2;
          if (len == 0 || len > n - off) return false;
          const uint8_t inner = p[off] & 0x1F;
          if (inner == 0 || inner > 23) return false;
          add_nal(p + off, len, out);
          off += len;
        }
        any = true;
      } else if (type == 28) {  // FU-A: indicator, |S|E|R|Type|, fragment
        if (n < 2) return false;
        const bool start = p[1] & 0x80, end = p[1] & 0x40;
        const uint8_t nal_type = p[1] & 0x1F;
        if (start) {
          if (fu_at != kNone || nal_type == 0 || nal_type > 23) return false;
          fu_at = out.data.size();
          out.data.insert(out.data.end(), 4, 0);
          out.data.push_back(static_cast<uint8_t>((p[0] & 0xE0) | nal_type));
        } else if (fu_at == kNone) {
          return false;  // no start fragment
        }
        out.data.insert(out.data.end(), p + 2, p + n);
        if (end) {
          const size_t len = out.data.size() - fu_at - 4;
          if (len > 0xFFFFFFFFu) return false;
          for (int k = 0; k < 4; ++k) out.data[fu_at + k] = static_cast<uint8_t>(len >> (24 - 8 * k));
          note_nal(out.data[fu_at + 4] & 0x1F, fu_at + 4, out);
          fu_at = kNone;
          any = true;
        }
      }
      // else: STAP-B, MTAP16, MTAP24, FU-B, or undefined (0, 30, 31): ignored.
    }
    if (fu_at != kNone || !any) return false;
    if (sps_at_ != kNone) {
      const uint8_t* nal = out.data.data() + sps_at_;
      const size_t len = nal_length(out, sps_at_);
      SpsInfo info;
      if (len <= 0xFFFF && parse_sps(nal, len, info)) {
        out.width = info.width;
        out.height = info.height;
        sps_.assign(nal, nal + len);
        sps_info_ = info;
      }
    }
    if (pps_at_ != kNone) {
      const uint8_t* nal = out.data.data() + pps_at_;
      const size_t len = nal_length(out, pps_at_);
      if (len >= 2 && len <= 0xFFFF) pps_.assign(nal, nal + len);
    }
    return true;
  }

  bool starts_frame(PayloadView p) const override {
    if (p.data == nullptr || p.size == 0) return false;
    const uint8_t type = p.data[0] & 0x1F;
    if (type == 28) return p.size >= 2 && (p.data[1] & 0x80);
    return true;  // single NAL unit, STAP-A, and the types depacketize() ignores
  }

  std::vector<uint8_t> codec_private() const override {
    if (sps_.size() < 4 || pps_.empty()) return {};
    std::vector<uint8_t> c;
    c.reserve(16 + sps_.size() + pps_.size());
    c.push_back(1);        // configurationVersion
    c.push_back(sps_[1]);  // AVCProfileIndication
    c.push_back(sps_[2]);  // profile_compatibility
    c.push_back(sps_[3]);  // AVCLevelIndication
    c.push_back(0xFF);     // reserved 6 bits, lengthSizeMinusOne = 3
    c.push_back(0xE1);     // reserved 3 bits, numOfSequenceParameterSets = 1
    c.push_back(static_cast<uint8_t>(sps_.size() >> 8));
    c.push_back(static_cast<uint8_t>(sps_.size()));
    c.insert(c.end(), sps_.begin(), sps_.end());
    c.push_back(1);  // numOfPictureParameterSets
    c.push_back(static_cast<uint8_t>(pps_.size() >> 8));
    c.push_back(static_cast<uint8_t>(pps_.size()));
    c.insert(c.end(), pps_.begin(), pps_.end());
    const uint8_t profile = sps_info_.profile_idc;
    if (profile != 66 && profile != 77 && profile != 88) {  // as FFmpeg writes it
      c.push_back(static_cast<uint8_t>(0xFC | sps_info_.chroma_format_idc));
      c.push_back(static_cast<uint8_t>(0xF8 | sps_info_.bit_depth_luma_minus8));
      c.push_back(static_cast<uint8_t>(0xF8 | sps_info_.bit_depth_chroma_minus8));
      c.push_back(0);  // numOfSequenceParameterSetExt
    }
    return c;
  }

  const char* codec() const override { return "h264"; }

 private:
  static constexpr size_t kNone = ~size_t{0};

  static size_t nal_length(const DepacketizedFrame& out, size_t nal_at) {
    const uint8_t* l = out.data.data() + nal_at - 4;
    return (size_t{l[0]} << 24) | (size_t{l[1]} << 16) | (size_t{l[2]} << 8) | l[3];
  }

  void add_nal(const uint8_t* nal, size_t len, DepacketizedFrame& out) {
    for (int k = 0; k < 4; ++k) out.data.push_back(static_cast<uint8_t>(len >> (24 - 8 * k)));
    const size_t at = out.data.size();
    out.data.insert(out.data.end(), nal, nal + len);
    note_nal(nal[0] & 0x1F, at, out);
  }

  void note_nal(uint8_t type, size_t at, DepacketizedFrame& out) {
    if (type == 5) out.keyframe = true;
    if (type == 7) sps_at_ = at;
    if (type == 8) pps_at_ = at;
  }

  // "a=fmtp:96 a=b;c=d" or just "a=b;c=d". Only sprop-parameter-sets matters:
  // packetization-mode 0 and 1 are both accepted whatever the fmtp says.
  void read_fmtp(std::string_view fmtp) {
    fmtp = trim(fmtp);
    if (fmtp.size() >= 7 && iequals(fmtp.substr(0, 7), "a=fmtp:")) {
      const size_t space = fmtp.find(' ');
      fmtp = space == std::string_view::npos ? std::string_view{} : fmtp.substr(space + 1);
    }
    while (!fmtp.empty()) {
      const size_t semi = fmtp.find(';');
      std::string_view item = trim(fmtp.substr(0, semi));
      fmtp = semi == std::string_view::npos ? std::string_view{} : fmtp.substr(semi + 1);
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos || !iequals(trim(item.substr(0, eq)), "sprop-parameter-sets")) continue;
      std::string_view sets = trim(item.substr(eq + 1));
      while (!sets.empty()) {
        const size_t comma = sets.find(',');
        const std::string_view one = trim(sets.substr(0, comma));
        sets = comma == std::string_view::npos ? std::string_view{} : sets.substr(comma + 1);
        auto nal = util::base64_decode(one);
        if (!nal || nal->empty() || nal->size() > 0xFFFF) continue;
        const uint8_t type = (*nal)[0] & 0x1F;
        SpsInfo info;
        if (type == 7 && parse_sps(nal->data(), nal->size(), info)) {
          sps_ = std::move(*nal);
          sps_info_ = info;
        } else if (type == 8 && nal->size() >= 2) {
          pps_ = std::move(*nal);
        }
      }
    }
  }

  std::vector<uint8_t> sps_, pps_;  // latest parameter sets (NAL units, header included)
  SpsInfo sps_info_;
  size_t sps_at_ = kNone, pps_at_ = kNone;  // this frame's last SPS/PPS in out.data
};

}  // namespace

namespace detail {
std::unique_ptr<Depacketizer> make_h264_depacketizer(std::string_view fmtp) {
  return std::make_unique<H264Depacketizer>(fmtp);
}
}  // namespace detail
}  // namespace roomrec::rtp
