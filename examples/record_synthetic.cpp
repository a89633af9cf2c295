// record_synthetic: records a made-up room through the public API, the way a
// media server would: N peers join and leave at different times, each sends a
// moving test pattern with its name and a clock (VP8, VP9 or H264 over RTP)
// and a tone of its own pitch (Opus over RTP), plus a chat message every 5 s.
// Packets go through Recorder -> ChunkStore -> UploadQueue -> the sink for
// --out (a folder, file:// or an S3 URI). Time is simulated, so a 20-second
// room records in a few seconds of encoding.
//
//   record_synthetic --out <folder | file:// | S3 URI> [--peers 3] [--seconds 20]
//                    [--video vp8|vp9|h264] [--size 640x360] [--fps 15]
//                    [--app demo] [--room demo-room]
//
// The last line printed is the room's recording path, what
// `convert_record_cli --in-s3` takes.
#include <roomrec/log.h>
#include <roomrec/recorder.h>
#include <roomrec/s3_upload.h>
#include <roomrec/upload_queue.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>
#include <wels/codec_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "example_util.h"

using namespace roomrec;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr size_t kMaxPayload = 1100;  // bytes of media per RTP packet
constexpr uint8_t kPtOpus = 111, kPtVideo = 96;

// ---- a 5x7 bitmap font for names and the clock ------------------------------

const std::array<uint8_t, 7>* glyph(char c) {
  static const std::array<uint8_t, 7> digits[10] = {
      {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
      {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
      {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
      {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
      {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}};
  static const std::array<uint8_t, 7> letters[26] = {
      {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
      {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},
      {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
      {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
      {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
      {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
      {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
      {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
      {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
      {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
      {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
      {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
      {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}};
  static const std::array<uint8_t, 7> colon = {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00};
  static const std::array<uint8_t, 7> dot = {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C};
  static const std::array<uint8_t, 7> dash = {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00};
  if (c >= '0' && c <= '9') return &digits[c - '0'];
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c >= 'A' && c <= 'Z') return &letters[c - 'A'];
  if (c == ':') return &colon;
  if (c == '.') return &dot;
  if (c == '-' || c == '_') return &dash;
  return nullptr;  // space and anything else: blank
}

// ---- an I420 test picture ----------------------------------------------------

struct Picture {
  uint32_t w, h;
  Bytes y, u, v;
  Picture(uint32_t w_, uint32_t h_) : w(w_), h(h_), y(w_ * h_), u((w_ / 2) * (h_ / 2)), v((w_ / 2) * (h_ / 2)) {}

  void fill(uint8_t yy, uint8_t uu, uint8_t vv) {
    std::fill(y.begin(), y.end(), yy);
    std::fill(u.begin(), u.end(), uu);
    std::fill(v.begin(), v.end(), vv);
  }
  void rect_y(int x0, int y0, int rw, int rh, uint8_t value) {
    for (int r = std::max(0, y0); r < std::min<int>(static_cast<int>(h), y0 + rh); ++r)
      for (int c = std::max(0, x0); c < std::min<int>(static_cast<int>(w), x0 + rw); ++c) y[r * w + c] = value;
  }
  void text(int x, int y0, int scale, const std::string& s, uint8_t value) {
    for (char ch : s) {
      if (const auto* g = glyph(ch))
        for (int r = 0; r < 7; ++r)
          for (int c = 0; c < 5; ++c)
            if ((*g)[r] & (0x10 >> c)) rect_y(x + c * scale, y0 + r * scale, scale, scale, value);
      x += 6 * scale;
    }
  }
};

// Background colour per peer (Y, U, V), a sweeping bar, the name and a clock.
void paint(Picture& p, size_t peer, const std::string& name, uint64_t room_ms) {
  static const uint8_t colours[][3] = {{82, 90, 240},  {145, 54, 34},  {41, 240, 110}, {170, 166, 16},
                                       {107, 202, 222}, {210, 16, 146}, {60, 130, 130}, {120, 200, 60}};
  const auto& col = colours[peer % (sizeof colours / sizeof colours[0])];
  p.fill(col[0], col[1], col[2]);
  const int bar = static_cast<int>((room_ms * p.w / 4000) % p.w);  // crosses the picture every 4 s
  p.rect_y(bar, 0, std::max(4u, p.w / 40), static_cast<int>(p.h), 235);
  const int scale = std::max(1, static_cast<int>(p.h / 60));
  p.text(static_cast<int>(p.w / 16), static_cast<int>(p.h / 8), scale, name, 235);
  char clock[32];
  std::snprintf(clock, sizeof clock, "%02u:%02u.%03u", static_cast<unsigned>(room_ms / 60000),
                static_cast<unsigned>(room_ms / 1000 % 60), static_cast<unsigned>(room_ms % 1000));
  p.text(static_cast<int>(p.w / 16), static_cast<int>(p.h / 2), scale, clock, 16);
}

// ---- video encoders: VP8/VP9 (libvpx), H264 (OpenH264) ----------------------

struct EncodedFrame {
  Bytes data;
  bool key = false;
};

class VideoEncoder {
 public:
  virtual ~VideoEncoder() = default;
  virtual bool encode(const Picture& p, uint64_t pts, bool force_key, EncodedFrame& out) = 0;
};

class VpxEncoder final : public VideoEncoder {
 public:
  VpxEncoder(bool vp9, uint32_t w, uint32_t h, uint32_t fps, uint32_t kbps) {
    vpx_codec_iface_t* iface = vp9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();
    vpx_codec_enc_cfg_t cfg;
    vpx_codec_enc_config_default(iface, &cfg, 0);
    cfg.g_w = w;
    cfg.g_h = h;
    cfg.g_timebase = {1, static_cast<int>(fps)};
    cfg.rc_target_bitrate = kbps;
    cfg.rc_end_usage = VPX_CBR;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = 1;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_max_dist = fps * 3;
    cfg.g_threads = 1;
    ok_ = vpx_codec_enc_init(&ctx_, iface, &cfg, 0) == VPX_CODEC_OK;
    if (ok_) vpx_codec_control(&ctx_, VP8E_SET_CPUUSED, vp9 ? 8 : 12);
    vpx_img_wrap(&img_, VPX_IMG_FMT_I420, w, h, 1, nullptr);
  }
  ~VpxEncoder() override {
    if (ok_) vpx_codec_destroy(&ctx_);
  }
  bool ok() const { return ok_; }

  bool encode(const Picture& p, uint64_t pts, bool force_key, EncodedFrame& out) override {
    img_.planes[0] = const_cast<uint8_t*>(p.y.data());
    img_.planes[1] = const_cast<uint8_t*>(p.u.data());
    img_.planes[2] = const_cast<uint8_t*>(p.v.data());
    img_.stride[0] = static_cast<int>(p.w);
    img_.stride[1] = img_.stride[2] = static_cast<int>(p.w / 2);
    if (vpx_codec_encode(&ctx_, &img_, static_cast<vpx_codec_pts_t>(pts), 1, force_key ? VPX_EFLAG_FORCE_KF : 0,
                         VPX_DL_REALTIME) != VPX_CODEC_OK)
      return false;
    out.data.clear();
    vpx_codec_iter_t it = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&ctx_, &it)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      const auto* b = static_cast<const uint8_t*>(pkt->data.frame.buf);
      out.data.insert(out.data.end(), b, b + pkt->data.frame.sz);
      out.key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    }
    return !out.data.empty();
  }

 private:
  vpx_codec_ctx_t ctx_{};
  vpx_image_t img_{};
  bool ok_ = false;
};

class H264Encoder final : public VideoEncoder {
 public:
  H264Encoder(uint32_t w, uint32_t h, uint32_t fps, uint32_t kbps) {
    if (WelsCreateSVCEncoder(&enc_) != 0 || !enc_) return;
    SEncParamExt p;
    enc_->GetDefaultParams(&p);
    p.iUsageType = CAMERA_VIDEO_REAL_TIME;
    p.iPicWidth = static_cast<int>(w);
    p.iPicHeight = static_cast<int>(h);
    p.iTargetBitrate = static_cast<int>(kbps * 1000);
    p.iRCMode = RC_BITRATE_MODE;
    p.fMaxFrameRate = static_cast<float>(fps);
    p.uiIntraPeriod = fps * 3;
    p.iSpatialLayerNum = 1;
    p.iMultipleThreadIdc = 1;
    p.sSpatialLayers[0].iVideoWidth = static_cast<int>(w);
    p.sSpatialLayers[0].iVideoHeight = static_cast<int>(h);
    p.sSpatialLayers[0].fFrameRate = static_cast<float>(fps);
    p.sSpatialLayers[0].iSpatialBitrate = p.iTargetBitrate;
    p.sSpatialLayers[0].iMaxSpatialBitrate = p.iTargetBitrate * 2;
    p.sSpatialLayers[0].sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
    ok_ = enc_->InitializeExt(&p) == 0;
    int fmt = videoFormatI420;
    if (ok_) enc_->SetOption(ENCODER_OPTION_DATAFORMAT, &fmt);
  }
  ~H264Encoder() override {
    if (enc_) {
      enc_->Uninitialize();
      WelsDestroySVCEncoder(enc_);
    }
  }
  bool ok() const { return ok_; }

  bool encode(const Picture& p, uint64_t pts, bool force_key, EncodedFrame& out) override {
    if (force_key) enc_->ForceIntraFrame(true);
    SSourcePicture pic{};
    pic.iColorFormat = videoFormatI420;
    pic.iPicWidth = static_cast<int>(p.w);
    pic.iPicHeight = static_cast<int>(p.h);
    pic.iStride[0] = static_cast<int>(p.w);
    pic.iStride[1] = pic.iStride[2] = static_cast<int>(p.w / 2);
    pic.pData[0] = const_cast<uint8_t*>(p.y.data());
    pic.pData[1] = const_cast<uint8_t*>(p.u.data());
    pic.pData[2] = const_cast<uint8_t*>(p.v.data());
    pic.uiTimeStamp = static_cast<long long>(pts);
    SFrameBSInfo info{};
    if (enc_->EncodeFrame(&pic, &info) != cmResultSuccess || info.eFrameType == videoFrameTypeSkip) return false;
    out.data.clear();
    for (int l = 0; l < info.iLayerNum; ++l) {
      const SLayerBSInfo& layer = info.sLayerInfo[l];
      size_t n = 0;
      for (int i = 0; i < layer.iNalCount; ++i) n += static_cast<size_t>(layer.pNalLengthInByte[i]);
      out.data.insert(out.data.end(), layer.pBsBuf, layer.pBsBuf + n);
    }
    out.key = info.eFrameType == videoFrameTypeIDR;
    return !out.data.empty();
  }

 private:
  ISVCEncoder* enc_ = nullptr;
  bool ok_ = false;
};

// ---- RTP packetizers ---------------------------------------------------------

Bytes rtp_header(uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt, bool marker) {
  return {0x80,
          static_cast<uint8_t>((marker ? 0x80 : 0) | pt),
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq),
          static_cast<uint8_t>(ts >> 24),
          static_cast<uint8_t>(ts >> 16),
          static_cast<uint8_t>(ts >> 8),
          static_cast<uint8_t>(ts),
          static_cast<uint8_t>(ssrc >> 24),
          static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8),
          static_cast<uint8_t>(ssrc)};
}

struct RtpStream {
  uint32_t ssrc;
  uint8_t pt;
  uint16_t seq;
  std::vector<Bytes> out;

  // One packet: header, a payload descriptor, then a piece of media.
  void add(uint32_t ts, bool marker, const Bytes& descriptor, const uint8_t* media, size_t n) {
    Bytes p = rtp_header(seq++, ts, ssrc, pt, marker);
    p.insert(p.end(), descriptor.begin(), descriptor.end());
    p.insert(p.end(), media, media + n);
    out.push_back(std::move(p));
  }
};

// RFC 7741: X=1, S on the first packet, a 15-bit picture id.
void packetize_vp8(RtpStream& s, const EncodedFrame& f, uint32_t ts, uint16_t picture_id) {
  for (size_t off = 0; off < f.data.size();) {
    size_t take = std::min(kMaxPayload, f.data.size() - off);
    Bytes d = {static_cast<uint8_t>(0x80 | (off == 0 ? 0x10 : 0)), 0x80,
               static_cast<uint8_t>(0x80 | ((picture_id >> 8) & 0x7F)), static_cast<uint8_t>(picture_id)};
    s.add(ts, off + take == f.data.size(), d, f.data.data() + off, take);
    off += take;
  }
}

// RFC 9628, non-flexible mode without layer indices: I, P, B, E and a 15-bit picture id.
void packetize_vp9(RtpStream& s, const EncodedFrame& f, uint32_t ts, uint16_t picture_id) {
  for (size_t off = 0; off < f.data.size();) {
    size_t take = std::min(kMaxPayload, f.data.size() - off);
    bool end = off + take == f.data.size();
    Bytes d = {static_cast<uint8_t>(0x80 | (f.key ? 0 : 0x40) | (off == 0 ? 0x08 : 0) | (end ? 0x04 : 0)),
               static_cast<uint8_t>(0x80 | ((picture_id >> 8) & 0x7F)), static_cast<uint8_t>(picture_id)};
    s.add(ts, end, d, f.data.data() + off, take);
    off += take;
  }
}

// RFC 6184 packetization mode 1: single NAL unit packets and FU-A fragments.
void packetize_h264(RtpStream& s, const EncodedFrame& f, uint32_t ts) {
  std::vector<std::pair<size_t, size_t>> nals;  // offset, size (start codes removed)
  const Bytes& b = f.data;
  size_t i = 0, start = SIZE_MAX;
  while (i + 3 <= b.size()) {
    size_t sc = 0;
    if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1) sc = 3;
    else if (i + 4 <= b.size() && b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 0 && b[i + 3] == 1) sc = 4;
    if (sc) {
      if (start != SIZE_MAX) nals.emplace_back(start, i - start);
      i += sc;
      start = i;
    } else {
      ++i;
    }
  }
  if (start != SIZE_MAX && start < b.size()) nals.emplace_back(start, b.size() - start);
  for (size_t n = 0; n < nals.size(); ++n) {
    auto [off, size] = nals[n];
    const bool last_nal = n + 1 == nals.size();
    if (size <= kMaxPayload) {
      s.add(ts, last_nal, {}, b.data() + off, size);
      continue;
    }
    const uint8_t hdr = b[off];
    size_t pos = 1;
    while (pos < size) {
      size_t take = std::min(kMaxPayload - 2, size - pos);
      bool first = pos == 1, end = pos + take == size;
      Bytes d = {static_cast<uint8_t>((hdr & 0xE0) | 28),
                 static_cast<uint8_t>((first ? 0x80 : 0) | (end ? 0x40 : 0) | (hdr & 0x1F))};
      s.add(ts, end && last_nal, d, b.data() + off + pos, take);
      pos += take;
    }
  }
}

// ---- the room ---------------------------------------------------------------

struct Options {
  std::string out;
  unsigned peers = 3, seconds = 20, fps = 15;
  std::string video = "vp8";
  uint32_t width = 640, height = 360;
  std::string app = "demo", room = "demo-room";
  // --pause A-B: the first peer pauses its recording A s into the room and resumes at B s.
  uint64_t pause_from_ms = 0, pause_to_ms = 0;
};

const char* kNames[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"};

struct Peer {
  std::string name;
  uint64_t join_ms = 0, leave_ms = 0;  // room time
  double tone_hz = 440;
  std::shared_ptr<SessionRecorder> session;
  std::unique_ptr<VideoEncoder> encoder;
  OpusEncoder* opus = nullptr;
  RtpStream audio{0, kPtOpus, 0, {}}, video{0, kPtVideo, 0, {}};
  uint32_t audio_ts = 0, video_ts = 0;
  uint64_t audio_samples = 0, frames = 0;
  uint16_t picture_id = 0;
  std::atomic<bool> keyframe_wanted{false};
  bool left = false;
};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "record_synthetic: %s\n", why);
  std::fprintf(stderr,
               "usage: record_synthetic --out <folder | file:// | S3 URI> [--peers 3] [--seconds 20]\n"
               "                        [--video vp8|vp9|h264] [--size 640x360] [--fps 15]\n"
               "                        [--app demo] [--room demo-room] [--pause A-B]\n"
               "  --pause A-B  the first peer's recording is paused from A to B seconds into the room\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(nullptr);
    if (i + 1 >= argc) usage((a + " needs a value").c_str());
    std::string v = argv[++i];
    auto number = [&](unsigned lo, unsigned hi) {
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || n < lo || n > hi) usage((a + " must be a number from " + std::to_string(lo) + " to " +
                                                       std::to_string(hi)).c_str());
      return static_cast<unsigned>(n);
    };
    if (a == "--out") o.out = v;
    else if (a == "--peers") o.peers = number(1, 16);
    else if (a == "--seconds") o.seconds = number(1, 3600);
    else if (a == "--fps") o.fps = number(1, 60);
    else if (a == "--video") o.video = v;
    else if (a == "--app") o.app = v;
    else if (a == "--room") o.room = v;
    else if (a == "--size") {
      unsigned w = 0, h = 0;
      char tail = 0;
      if (std::sscanf(v.c_str(), "%ux%u%c", &w, &h, &tail) != 2 || w < 16 || h < 16 || w > 3840 || h > 2160 ||
          (w | h) & 1)
        usage("--size must be WxH with even sides from 16x16 to 3840x2160");
      o.width = w;
      o.height = h;
    } else if (a == "--pause") {
      char* end = nullptr;
      unsigned long from = std::strtoul(v.c_str(), &end, 10), to = 0;
      if (end && *end == '-') to = std::strtoul(end + 1, &end, 10);
      if (!end || *end || to <= from) usage("--pause must be A-B, whole seconds with A < B");
      o.pause_from_ms = from * 1000;
      o.pause_to_ms = to * 1000;
    } else usage(("unknown option " + a).c_str());
  }
  if (o.out.empty()) usage("--out is required");
  if (o.video != "vp8" && o.video != "vp9" && o.video != "h264") usage("--video must be vp8, vp9 or h264");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  log_to_stderr(LogLevel::warn);

  auto sink = make_sink_for_uri(opt.out);
  if (!sink) {
    std::fprintf(stderr, "record_synthetic: %s\n", sink.status().to_string().c_str());
    return 1;
  }

  std::vector<std::unique_ptr<Peer>> peers;
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 1 << 20;
  cfg.max_chunk_ms = 10'000;
  // A media server would ask the sender for a keyframe; here the peer's
  // encoder makes one on its next frame.
  cfg.request_keyframe = [&peers](SessionRecorder& s, uint32_t) {
    for (auto& p : peers)
      if (p->session.get() == &s) p->keyframe_wanted = true;
  };
  cfg.on_error = [](const Status& s) { std::fprintf(stderr, "record_synthetic: %s\n", s.to_string().c_str()); };
  auto recorder = Recorder::create(cfg);
  if (!recorder) {
    std::fprintf(stderr, "record_synthetic: %s\n", recorder.status().to_string().c_str());
    return 1;
  }
  UploadQueue queue(recorder.value()->store(), sink.value());
  std::atomic<uint64_t> uploaded{0};
  queue.on_uploaded([&](const PendingChunk&) { uploaded++; });
  queue.start();

  // Joins are staggered over the first third of the room; every other peer
  // leaves at 85%, the rest stay to the end.
  const uint64_t total_ms = opt.seconds * 1000ull;
  for (unsigned i = 0; i < opt.peers; ++i) {
    auto p = std::make_unique<Peer>();
    p->name = kNames[i % 10] + (i >= 10 ? std::to_string(i / 10) : std::string());
    p->join_ms = opt.peers > 1 ? total_ms / 3 * i / opt.peers : 0;
    p->leave_ms = (i % 2 == 1) ? total_ms * 85 / 100 : total_ms;
    p->tone_hz = 330.0 * std::pow(2.0, i / 4.0);  // distinct pitches, a minor third apart
    p->audio.ssrc = 0x1000 + i * 2;
    p->video.ssrc = 0x1001 + i * 2;
    p->audio.seq = static_cast<uint16_t>(1000 * (i + 1));
    p->video.seq = static_cast<uint16_t>(65000 + i * 100);  // wraps during the recording
    p->audio_ts = 0x10000000u * i;
    p->video_ts = 0xFFF00000u + i;  // wraps too
    int err = 0;
    p->opus = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    if (err != OPUS_OK) {
      std::fprintf(stderr, "record_synthetic: opus encoder: %s\n", opus_strerror(err));
      return 1;
    }
    opus_encoder_ctl(p->opus, OPUS_SET_BITRATE(32000));
    if (opt.video == "h264") {
      auto e = std::make_unique<H264Encoder>(opt.width, opt.height, opt.fps, 500);
      if (!e->ok()) {
        std::fprintf(stderr, "record_synthetic: cannot start the OpenH264 encoder\n");
        return 1;
      }
      p->encoder = std::move(e);
    } else {
      auto e = std::make_unique<VpxEncoder>(opt.video == "vp9", opt.width, opt.height, opt.fps, 500);
      if (!e->ok()) {
        std::fprintf(stderr, "record_synthetic: cannot start the libvpx encoder\n");
        return 1;
      }
      p->encoder = std::move(e);
    }
    peers.push_back(std::move(p));
  }

  // The simulated wall clock starts now, so keys carry today's times.
  const uint64_t t0 = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const std::string codec_name = opt.video == "h264" ? "h264" : opt.video;
  const std::string fmtp =
      opt.video == "h264" ? "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" : "";
  std::string room_path;
  Picture pic(opt.width, opt.height);
  std::vector<int16_t> pcm(960);
  uint8_t opus_buf[1500];
  uint64_t session_id = 1;
  uint64_t packets = 0;

  auto feed = [&](Peer& p, uint32_t track, RtpStream& s, uint64_t now) {
    for (auto& pkt : s.out) {
      RecordResult r = p.session->rtp(track, pkt.data(), pkt.size(), now);
      if (r != RecordResult::ok && r != RecordResult::paused)  // paused: dropped and counted by the recorder
        std::fprintf(stderr, "record_synthetic: %s rtp: %s\n", p.name.c_str(), record_result_name(r));
      packets++;
    }
    s.out.clear();
  };

  for (uint64_t t = 0; t <= total_ms; t += 1) {
    const uint64_t now = t0 + t;
    for (size_t i = 0; i < peers.size(); ++i) {
      Peer& p = *peers[i];
      if (p.left || t < p.join_ms) continue;
      if (!p.session) {
        SessionParams sp;
        sp.app = opt.app;
        sp.room = opt.room;
        sp.peer = p.name;
        sp.session_id = t0 * 10 + session_id++;
        sp.ip = "192.0.2." + std::to_string(10 + i);
        sp.user_agent = "record_synthetic";
        auto s = recorder.value()->open(sp, now);
        if (!s) {
          std::fprintf(stderr, "record_synthetic: %s\n", s.status().to_string().c_str());
          return 1;
        }
        p.session = s.value();
        if (room_path.empty()) room_path = p.session->room_path();
        p.session->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "minptime=10;useinbandfec=1",
                                 p.audio.ssrc, "", now);
        p.session->track_started(2, TrackKind::video, "video_main", codec_name, 90000, 0, fmtp, p.video.ssrc, "",
                                 now);
      }
      if (t >= p.leave_ms) {
        p.session->track_stopped(1, now);
        p.session->track_stopped(2, now);
        p.session->leave(now);
        p.left = true;
        continue;
      }
      if (i == 0 && opt.pause_to_ms) {  // what a host does when a participant withdraws consent for a while
        if (t == opt.pause_from_ms) p.session->pause(now);
        if (t == opt.pause_to_ms) p.session->resume(now);  // asks for a key frame: the encoder makes one
      }
      const uint64_t local = t - p.join_ms;
      if (local % 20 == 0) {  // 20 ms of tone
        for (size_t k = 0; k < pcm.size(); ++k) {
          double x = 2 * M_PI * p.tone_hz * static_cast<double>(p.audio_samples + k) / 48000.0;
          pcm[k] = static_cast<int16_t>(8000 * std::sin(x));
        }
        p.audio_samples += pcm.size();
        int n = opus_encode(p.opus, pcm.data(), 960, opus_buf, sizeof opus_buf);
        if (n > 0) {
          p.audio.add(p.audio_ts, false, {}, opus_buf, static_cast<size_t>(n));
          feed(p, 1, p.audio, now);
        }
        p.audio_ts += 960;
      }
      if (local * opt.fps / 1000 >= p.frames) {  // next video frame is due
        paint(pic, i, p.name, t);
        EncodedFrame f;
        bool force = p.keyframe_wanted.exchange(false);
        if (p.encoder->encode(pic, p.frames, force, f)) {
          if (opt.video == "vp8") packetize_vp8(p.video, f, p.video_ts, p.picture_id);
          else if (opt.video == "vp9") packetize_vp9(p.video, f, p.video_ts, p.picture_id);
          else packetize_h264(p.video, f, p.video_ts);
          p.picture_id = static_cast<uint16_t>((p.picture_id + 1) & 0x7FFF);
          feed(p, 2, p.video, now);
        }
        p.frames++;
        p.video_ts += 90000 / opt.fps;
      }
      if (local % 5000 == 2500) {
        char msg[96];
        std::snprintf(msg, sizeof msg, "{\"from\":\"%s\",\"text\":\"hello at %.1f s\"}", p.name.c_str(), t / 1000.0);
        p.session->data("chat", false, reinterpret_cast<const uint8_t*>(msg), std::strlen(msg), now);
      }
      if (local % 1000 == 0) p.session->tick(now);
    }
  }
  for (auto& p : peers) {
    if (p->session && !p->left) p->session->leave(t0 + total_ms);
    opus_encoder_destroy(p->opus);
  }

  if (!recorder.value()->store().wait_drained(300'000)) {
    std::fprintf(stderr, "record_synthetic: uploads did not finish within 5 minutes\n");
    return 1;
  }
  queue.stop();
  std::fprintf(stderr, "record_synthetic: %zu peers, %u s, %s %ux%u, %llu packets, %llu chunks stored\n",
               peers.size(), opt.seconds, opt.video.c_str(), opt.width, opt.height,
               static_cast<unsigned long long>(packets), static_cast<unsigned long long>(uploaded.load()));
  // The secret of an S3 --out is not printed (issue 21 item 9): "KEY:***@".
  std::printf("%s\n", examples::redact_location(examples::recording_location(opt.out, room_path)).c_str());
  return 0;
}
