// Opus (RFC 7587): the RTP payload is one Opus packet. Optionally unwrapped
// from RED (RFC 2198):
//
//   |F|   block PT  |  timestamp offset (14)  | block length (10) |   F=1: a redundant block
//   |0|   block PT  |                                               F=0: the last (primary) header
//
// followed by the blocks' data in header order; the primary block is last and
// runs to the end of the payload. Only the primary is returned.
#include "rtp/depacketizer.h"

namespace roomrec::rtp {
namespace {

// The primary block of a RED payload, or false when malformed or empty.
bool red_primary(const uint8_t* p, size_t n, size_t& at) noexcept {
  size_t off = 0, redundant = 0;
  for (;;) {
    if (off >= n) return false;
    if ((p[off] & 0x80) == 0) break;
    if (n - off < 4) return false;
    redundant += ((size_t{p[off + 2]} & 0x03) << 8) | p[off + 3];
    off += 4;
  }
  ++off;  // the 1-byte primary header
  if (redundant > n - off) return false;
  at = off + redundant;
  return at < n;
}

class OpusDepacketizer final : public Depacketizer {
 public:
  explicit OpusDepacketizer(bool red) : red_(red) {}

  // One packet per frame: several payloads with one timestamp are not an Opus frame.
  bool depacketize(const PayloadView* payloads, size_t count, DepacketizedFrame& out) override {
    out.clear();
    if (payloads == nullptr || count != 1) return false;
    const uint8_t* p = payloads[0].data;
    const size_t n = payloads[0].size;
    if (p == nullptr || n == 0) return false;
    size_t at = 0;
    if (red_ && !red_primary(p, n, at)) return false;
    out.data.assign(p + at, p + n);
    out.keyframe = true;
    return true;
  }

  bool starts_frame(PayloadView) const override { return true; }

  const char* codec() const override { return "opus"; }

 private:
  bool red_;
};

}  // namespace

namespace detail {
std::unique_ptr<Depacketizer> make_opus_depacketizer(bool red) { return std::make_unique<OpusDepacketizer>(red); }
}  // namespace detail
}  // namespace roomrec::rtp
