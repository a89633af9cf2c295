// AV1 (AOM "RTP Payload Format for AV1", v1.0.0). Aggregation header:
//
//   0 1 2 3 4 5 6 7
//  |Z|Y| W |N|-|-|-|   Z: the first OBU element continues one from the previous packet
//                      Y: the last OBU element continues in the next packet
//                      W: 0 = every element carries a leb128 length; 1..3 = that many
//                         elements, the last one without a length
//                      N: first packet of a coded video sequence
//
// OBU elements are reassembled into OBUs and written out as a temporal unit in
// the low overhead bitstream format (AV1 5.2) that WebM/Matroska stores: each
// OBU gets obu_has_size_field=1 and a minimal leb128 size. Temporal delimiters
// and tile list OBUs are dropped. The sequence header (AV1 5.5) gives
// max_frame_width/height and av1C (AV1-ISOBMFF 2.3 / Matroska codec mapping).
//
// keyframe: the temporal unit holds a sequence header that parses, and either
// its first frame (header) OBU is a shown KEY_FRAME (AV1 5.9.2) or the first
// packet has N=1.
#include "rtp/depacketizer.h"

namespace roomrec::rtp {
namespace {

constexpr uint8_t kObuSequenceHeader = 1;
constexpr uint8_t kObuTemporalDelimiter = 2;
constexpr uint8_t kObuFrameHeader = 3;
constexpr uint8_t kObuFrame = 6;
constexpr uint8_t kObuTileList = 8;

struct SeqInfo {
  uint8_t profile = 0, level0 = 0, tier0 = 0;
  bool reduced_still_picture_header = false;
  bool high_bitdepth = false, twelve_bit = false, mono_chrome = false;
  bool subsampling_x = true, subsampling_y = true;
  uint8_t chroma_sample_position = 0;
  uint32_t max_width = 0, max_height = 0;
};

void skip_uvlc(detail::BitReader& br) noexcept {
  unsigned zeros = 0;
  while (br.ok() && br.bit() == 0) {
    if (++zeros >= 32) return;  // value is (2^32)-1 with no further bits
  }
  br.skip(zeros);
}

// sequence_header_obu() up to color_config() (AV1 5.5); p is the OBU payload.
bool parse_sequence_header(const uint8_t* p, size_t n, SeqInfo& s) noexcept {
  detail::BitReader br(p, n);
  s = SeqInfo{};
  s.profile = static_cast<uint8_t>(br.bits(3));
  if (s.profile > 2) return false;
  br.bit();  // still_picture
  s.reduced_still_picture_header = br.bit();
  if (s.reduced_still_picture_header) {
    s.level0 = static_cast<uint8_t>(br.bits(5));
  } else {
    bool decoder_model_info_present = false;
    uint32_t buffer_delay_length = 0;
    if (br.bit()) {  // timing_info_present_flag
      br.bits(32);   // num_units_in_display_tick
      br.bits(32);   // time_scale
      if (br.bit()) skip_uvlc(br);  // equal_picture_interval: num_ticks_per_picture_minus_1
      decoder_model_info_present = br.bit();
      if (decoder_model_info_present) {
        buffer_delay_length = br.bits(5) + 1;
        br.bits(32);  // num_units_in_decoding_tick
        br.bits(5);   // buffer_removal_time_length_minus_1
        br.bits(5);   // frame_presentation_time_length_minus_1
      }
    }
    const bool initial_display_delay_present = br.bit();
    const uint32_t operating_points = br.bits(5) + 1;
    for (uint32_t i = 0; i < operating_points && br.ok(); ++i) {
      br.bits(12);  // operating_point_idc
      const uint8_t level = static_cast<uint8_t>(br.bits(5));
      const uint8_t tier = level > 7 ? static_cast<uint8_t>(br.bit()) : 0;
      if (i == 0) {
        s.level0 = level;
        s.tier0 = tier;
      }
      if (decoder_model_info_present && br.bit()) {  // decoder_model_present_for_this_op
        br.skip(2 * buffer_delay_length);              // decoder/encoder_buffer_delay
        br.bit();                                      // low_delay_mode_flag
      }
      if (initial_display_delay_present && br.bit()) br.bits(4);  // initial_display_delay_minus_1
    }
  }
  const unsigned width_bits = br.bits(4) + 1;
  const unsigned height_bits = br.bits(4) + 1;
  s.max_width = br.bits(width_bits) + 1;
  s.max_height = br.bits(height_bits) + 1;
  if (!s.reduced_still_picture_header && br.bit()) {  // frame_id_numbers_present_flag
    br.bits(4);                                       // delta_frame_id_length_minus_2
    br.bits(3);                                       // additional_frame_id_length_minus_1
  }
  br.bits(3);  // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!s.reduced_still_picture_header) {
    br.bits(4);  // enable_interintra_compound, masked_compound, warped_motion, dual_filter
    const bool enable_order_hint = br.bit();
    if (enable_order_hint) br.bits(2);  // enable_jnt_comp, enable_ref_frame_mvs
    uint32_t force_screen_content_tools = 2;  // SELECT_SCREEN_CONTENT_TOOLS
    if (!br.bit()) force_screen_content_tools = br.bit();  // seq_choose_screen_content_tools
    if (force_screen_content_tools > 0 && !br.bit()) br.bit();  // seq_choose_integer_mv, seq_force_integer_mv
    if (enable_order_hint) br.bits(3);                     // order_hint_bits_minus_1
  }
  br.bits(3);  // enable_superres, enable_cdef, enable_restoration
  // color_config() (AV1 5.5.2)
  s.high_bitdepth = br.bit();
  if (s.profile == 2 && s.high_bitdepth) s.twelve_bit = br.bit();
  s.mono_chrome = s.profile == 1 ? false : br.bit();
  uint32_t cp = 2, tc = 2, mc = 2;  // *_UNSPECIFIED
  if (br.bit()) {                    // color_description_present_flag
    cp = br.bits(8);
    tc = br.bits(8);
    mc = br.bits(8);
  }
  if (s.mono_chrome) {
    br.bit();  // color_range
    s.subsampling_x = s.subsampling_y = true;
  } else if (cp == 1 && tc == 13 && mc == 0) {  // BT.709 primaries, sRGB, identity: 4:4:4
    s.subsampling_x = s.subsampling_y = false;
  } else {
    br.bit();  // color_range
    if (s.profile == 0) {
      s.subsampling_x = s.subsampling_y = true;
    } else if (s.profile == 1) {
      s.subsampling_x = s.subsampling_y = false;
    } else if (s.twelve_bit) {
      s.subsampling_x = br.bit();
      s.subsampling_y = s.subsampling_x ? br.bit() : false;
    } else {
      s.subsampling_x = true;
      s.subsampling_y = false;
    }
    if (s.subsampling_x && s.subsampling_y) s.chroma_sample_position = static_cast<uint8_t>(br.bits(2));
  }
  return br.ok();
}

class Av1Depacketizer final : public Depacketizer {
 public:
  bool depacketize(const PayloadView* payloads, size_t count, DepacketizedFrame& out) override {
    out.clear();
    if (payloads == nullptr || count == 0) return false;
    frag_.clear();
    tu_ = Tu{};
    bool open = false;  // an OBU fragment continues into the next packet
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* p = payloads[i].data;
      const size_t n = payloads[i].size;
      if (p == nullptr || n < 2) return false;
      const bool z = p[0] & 0x80, y = p[0] & 0x40;
      const unsigned w = (p[0] >> 4) & 0x03;
      if (i == 0) tu_.new_sequence = p[0] & 0x08;
      if (z != open) return false;  // lost start, or a fragment that does not continue
      size_t off = 1;
      unsigned elements = 0;
      while (off < n) {
        ++elements;
        if (w != 0 && elements > w) return false;
        size_t len = n - off;
        if (w == 0 || elements < w) {
          uint64_t v = 0;
          const size_t lb = detail::read_leb128(p + off, n - off, v);
          if (lb == 0) return false;
          off += lb;
          if (v > n - off) return false;
          len = static_cast<size_t>(v);
        }
        if (len == 0) return false;
        const uint8_t* e = p + off;
        off += len;
        const bool continues = elements == 1 && z;
        const bool to_next = off == n && y;
        if (continues || to_next) {
          if (!continues) frag_.clear();
          frag_.insert(frag_.end(), e, e + len);
          if (!to_next && !add_obu(frag_.data(), frag_.size(), out)) return false;
        } else if (!add_obu(e, len, out)) {
          return false;
        }
      }
      if (elements == 0 || (w != 0 && elements != w)) return false;
      open = y;
    }
    if (open || out.data.empty()) return false;
    if (tu_.seq_at != kNone) {
      out.width = tu_.seq.max_width;
      out.height = tu_.seq.max_height;
      out.keyframe = tu_.shown_key || tu_.new_sequence;
      seq_.assign(out.data.begin() + static_cast<std::ptrdiff_t>(tu_.seq_at),
                  out.data.begin() + static_cast<std::ptrdiff_t>(tu_.seq_at + tu_.seq_len));
      seq_info_ = tu_.seq;
      have_seq_ = true;
    }
    return true;
  }

  bool starts_frame(PayloadView p) const override {
    return p.data != nullptr && p.size >= 2 && (p.data[0] & 0x80) == 0;
  }

  std::vector<uint8_t> codec_private() const override {
    if (!have_seq_) return {};
    const SeqInfo& s = seq_info_;
    std::vector<uint8_t> c;
    c.reserve(4 + seq_.size());
    c.push_back(0x81);  // marker, version 1
    c.push_back(static_cast<uint8_t>((s.profile << 5) | (s.level0 & 0x1F)));
    c.push_back(static_cast<uint8_t>((s.tier0 << 7) | (s.high_bitdepth << 6) | (s.twelve_bit << 5) |
                                     (s.mono_chrome << 4) | (s.subsampling_x << 3) | (s.subsampling_y << 2) |
                                     (s.chroma_sample_position & 0x03)));
    c.push_back(0);  // no initial_presentation_delay
    c.insert(c.end(), seq_.begin(), seq_.end());
    return c;
  }

  const char* codec() const override { return "av1"; }

 private:
  static constexpr size_t kNone = ~size_t{0};

  struct Tu {
    bool new_sequence = false;
    size_t seq_at = kNone, seq_len = 0;  // this unit's (last) sequence header in out.data
    SeqInfo seq;
    bool frame_seen = false;
    bool shown_key = false;
  };

  // One complete OBU (as carried in RTP: with or without obu_size) -> out.
  bool add_obu(const uint8_t* o, size_t len, DepacketizedFrame& out) {
    const uint8_t h = o[0];
    if (h & 0x80) return false;  // obu_forbidden_bit
    const uint8_t type = (h >> 3) & 0x0F;
    const size_t header = (h & 0x04) ? 2 : 1;
    if (len < header) return false;
    size_t payload_at = header;
    size_t payload_len = len - header;
    if (h & 0x02) {  // obu_has_size_field: must match the element exactly
      uint64_t v = 0;
      const size_t lb = detail::read_leb128(o + header, len - header, v);
      if (lb == 0 || v != len - header - lb) return false;
      payload_at += lb;
      payload_len = static_cast<size_t>(v);
    }
    if (type == kObuTemporalDelimiter || type == kObuTileList) return true;
    const uint8_t* payload = o + payload_at;
    const size_t at = out.data.size();
    out.data.push_back(static_cast<uint8_t>(h | 0x02));
    if (header == 2) out.data.push_back(o[1]);
    detail::write_leb128(out.data, payload_len);
    out.data.insert(out.data.end(), payload, payload + payload_len);
    if (type == kObuSequenceHeader) {
      SeqInfo s;
      if (parse_sequence_header(payload, payload_len, s)) {
        tu_.seq = s;
        tu_.seq_at = at;
        tu_.seq_len = out.data.size() - at;
      }
    } else if ((type == kObuFrameHeader || type == kObuFrame) && !tu_.frame_seen) {
      tu_.frame_seen = true;
      const SeqInfo* s = tu_.seq_at != kNone ? &tu_.seq : (have_seq_ ? &seq_info_ : nullptr);
      if (s != nullptr) tu_.shown_key = shown_key_frame(payload, payload_len, *s);
    }
    return true;
  }

  // uncompressed_header() start (AV1 5.9.2): show_existing_frame, frame_type, show_frame.
  static bool shown_key_frame(const uint8_t* p, size_t n, const SeqInfo& s) noexcept {
    if (s.reduced_still_picture_header) return true;  // always a shown KEY_FRAME
    detail::BitReader br(p, n);
    if (br.bit()) return false;  // show_existing_frame
    const uint32_t frame_type = br.bits(2);
    const uint32_t show_frame = br.bit();
    return br.ok() && frame_type == 0 && show_frame == 1;
  }

  std::vector<uint8_t> frag_;  // an OBU being reassembled across packets
  Tu tu_;
  std::vector<uint8_t> seq_;  // latest sequence header OBU, as written (obu_size present)
  SeqInfo seq_info_;
  bool have_seq_ = false;
};

}  // namespace

namespace detail {
std::unique_ptr<Depacketizer> make_av1_depacketizer() { return std::make_unique<Av1Depacketizer>(); }
}  // namespace detail
}  // namespace roomrec::rtp
