// Codec-independent pieces: frame reset, the factory, leb128.
#include "util/text.h"
#include "rtp/depacketizer.h"

namespace roomrec::rtp {

using util::iequals;

void DepacketizedFrame::clear() {
  data.clear();
  keyframe = false;
  width = 0;
  height = 0;
}

namespace {


}  // namespace

std::unique_ptr<Depacketizer> make_depacketizer(std::string_view codec, std::string_view fmtp) {
  if (iequals(codec, "vp8")) return detail::make_vp8_depacketizer();
  if (iequals(codec, "vp9")) return detail::make_vp9_depacketizer();
  if (iequals(codec, "h264")) return detail::make_h264_depacketizer(fmtp);
  if (iequals(codec, "av1") || iequals(codec, "av1x")) return detail::make_av1_depacketizer();
  if (iequals(codec, "opus")) return detail::make_opus_depacketizer(false);
  if (iequals(codec, "red")) return detail::make_opus_depacketizer(true);
  return nullptr;
}

namespace detail {

size_t read_leb128(const uint8_t* p, size_t n, uint64_t& value) noexcept {
  value = 0;
  for (size_t i = 0; i < 8; ++i) {
    if (i >= n) return 0;
    value |= static_cast<uint64_t>(p[i] & 0x7F) << (7 * i);
    if ((p[i] & 0x80) == 0) return value <= 0xFFFFFFFFu ? i + 1 : 0;
  }
  return 0;  // AV1 5.2: at most 8 bytes
}

void write_leb128(std::vector<uint8_t>& out, uint64_t v) {
  do {
    uint8_t b = static_cast<uint8_t>(v & 0x7F);
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(b);
  } while (v);
}

}  // namespace detail
}  // namespace roomrec::rtp
