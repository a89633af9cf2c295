// Fuzz target: the RTP depacketizers on arbitrary payloads.
//
// Input: byte 0 picks the depacketizer (mod 7: vp8, vp9, h264, h264 seeded by
// sprop-parameter-sets, av1, opus, red). The rest is a list of records: a
// length byte L < 255 followed by L bytes is one payload (cut short at the end
// of the input); L = 255 ends the current frame. Every frame goes through
// starts_frame, depacketize and codec_private on one depacketizer, so state
// (parameter sets, sequence headers) carries from frame to frame.
//
// It must never crash, and an accepted frame must be consistent: its first
// payload starts a frame, it is non-empty and not absurdly larger than its
// input, width and height are both set or both zero, audio is always a key frame.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rtp/depacketizer.h"

namespace {

using roomrec::rtp::DepacketizedFrame;
using roomrec::rtp::Depacketizer;
using roomrec::rtp::PayloadView;

void run_frame(Depacketizer& d, const std::vector<PayloadView>& payloads, DepacketizedFrame& out) {
  size_t total = 0;
  for (const PayloadView& p : payloads) {
    total += p.size;
    (void)d.starts_frame(p);
  }
  const bool ok = d.depacketize(payloads.data(), payloads.size(), out);
  const std::vector<uint8_t> cp = d.codec_private();
  if (!cp.empty() && cp[0] != 0x01 && cp[0] != 0x81) std::abort();  // avcC / av1C version bytes
  if (!ok) return;
  if (payloads.empty() || !d.starts_frame(payloads[0])) std::abort();
  if (out.data.empty() || out.data.size() > 8 * total + 16) std::abort();
  if ((out.width == 0) != (out.height == 0)) std::abort();
  if (out.width > 65536 || out.height > 65536) std::abort();
  if (std::strcmp(d.codec(), "opus") == 0 && (!out.keyframe || out.width != 0)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kCodecs[] = {"vp8", "vp9", "h264", "h264", "av1", "opus", "red"};
  const unsigned pick = data[0] % 7;
  // 1280x720 High 4:4:4 SPS and its PPS (libx264).
  const char* fmtp = pick == 3 ? "packetization-mode=1;sprop-parameter-sets=Z/QAH5GbKAoAt2AiAAADAAIAAAMAeB4wYyw=,aOvjxEhE"
                               : "";
  auto d = roomrec::rtp::make_depacketizer(kCodecs[pick], fmtp);
  if (!d) std::abort();
  if (pick == 3 && d->codec_private().empty()) std::abort();  // sprop-parameter-sets must seed avcC

  std::vector<PayloadView> payloads;
  DepacketizedFrame out;
  size_t off = 1;
  while (off < size) {
    const uint8_t len = data[off++];
    if (len == 0xFF || payloads.size() == 64) {
      run_frame(*d, payloads, out);
      payloads.clear();
      if (len == 0xFF) continue;
    }
    const size_t n = len < size - off ? len : size - off;
    payloads.push_back(PayloadView{data + off, n});
    off += n;
  }
  if (!payloads.empty()) run_frame(*d, payloads, out);
  return 0;
}
