#include "util/text.h"
#include "media/video_decoder.h"

#include <libyuv.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <wels/codec_api.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

namespace roomrec::media {

namespace {

// Larger pictures are refused: nothing real sends them and they would make
// the compositor allocate absurd buffers.
constexpr uint32_t kMaxDimension = 16384;

std::string lower(std::string_view s) { return util::ascii_lowercase(s); }

// Plane copy with strides.
void copy_plane(const uint8_t* src, int src_stride, uint8_t* dst, uint32_t w, uint32_t h) {
  for (uint32_t r = 0; r < h; ++r) std::memcpy(dst + size_t{r} * w, src + static_cast<ptrdiff_t>(r) * src_stride, w);
}

// Any vpx_image layout (8 or 16 bit samples, any chroma subsampling) to packed
// 8-bit I420. Chroma is point-sampled where it has to be subsampled.
template <class Sample>
void generic_to_i420(const vpx_image_t& img, I420Frame& out) {
  const unsigned shift = img.bit_depth > 8 ? img.bit_depth - 8 : 0;
  const uint32_t w = out.width, h = out.height;
  auto at = [&](int plane, uint32_t x, uint32_t y) -> uint8_t {
    const auto* row = reinterpret_cast<const Sample*>(img.planes[plane] + static_cast<ptrdiff_t>(y) * img.stride[plane]);
    unsigned v = static_cast<unsigned>(row[x]) >> shift;
    return static_cast<uint8_t>(std::min(v, 255u));
  };
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) out.y[size_t{y} * w + x] = at(VPX_PLANE_Y, x, y);
  const uint32_t cw = out.chroma_width(), ch = out.chroma_height();
  const uint32_t sw = (img.d_w + img.x_chroma_shift) >> img.x_chroma_shift;
  const uint32_t sh = (img.d_h + img.y_chroma_shift) >> img.y_chroma_shift;
  for (uint32_t y = 0; y < ch; ++y) {
    uint32_t sy = std::min((y * 2) >> img.y_chroma_shift, sh - 1);
    for (uint32_t x = 0; x < cw; ++x) {
      uint32_t sx = std::min((x * 2) >> img.x_chroma_shift, sw - 1);
      out.u[size_t{y} * cw + x] = at(VPX_PLANE_U, sx, sy);
      out.v[size_t{y} * cw + x] = at(VPX_PLANE_V, sx, sy);
    }
  }
}

bool vpx_image_to_i420(const vpx_image_t& img, I420Frame& out) {
  if (img.d_w == 0 || img.d_h == 0 || img.d_w > kMaxDimension || img.d_h > kMaxDimension) return false;
  if (img.x_chroma_shift > 1 || img.y_chroma_shift > 1) return false;
  out.resize(img.d_w, img.d_h);
  const int w = static_cast<int>(img.d_w), h = static_cast<int>(img.d_h);
  const int cw = static_cast<int>(out.chroma_width());
  const bool high = (img.fmt & VPX_IMG_FMT_HIGHBITDEPTH) != 0;
  if (!high) {
    const uint8_t* y = img.planes[VPX_PLANE_Y];
    const uint8_t* u = img.planes[VPX_PLANE_U];
    const uint8_t* v = img.planes[VPX_PLANE_V];
    int ys = img.stride[VPX_PLANE_Y], us = img.stride[VPX_PLANE_U], vs = img.stride[VPX_PLANE_V];
    int r = -1;
    if (img.x_chroma_shift == 1 && img.y_chroma_shift == 1)
      r = libyuv::I420Copy(y, ys, u, us, v, vs, out.y.data(), w, out.u.data(), cw, out.v.data(), cw, w, h);
    else if (img.x_chroma_shift == 1 && img.y_chroma_shift == 0)
      r = libyuv::I422ToI420(y, ys, u, us, v, vs, out.y.data(), w, out.u.data(), cw, out.v.data(), cw, w, h);
    else if (img.x_chroma_shift == 0 && img.y_chroma_shift == 0)
      r = libyuv::I444ToI420(y, ys, u, us, v, vs, out.y.data(), w, out.u.data(), cw, out.v.data(), cw, w, h);
    if (r == 0) return true;
    generic_to_i420<uint8_t>(img, out);
    return true;
  }
  generic_to_i420<uint16_t>(img, out);
  return true;
}

// ---- VP8 / VP9 --------------------------------------------------------------

class VpxDecoder final : public VideoDecoder {
 public:
  explicit VpxDecoder(bool vp9) : vp9_(vp9) {}
  ~VpxDecoder() override {
    if (ready_) vpx_codec_destroy(&ctx_);
  }

  Status init() {
    vpx_codec_dec_cfg_t cfg{};
    cfg.threads = 1;
    if (vpx_codec_dec_init(&ctx_, iface(), &cfg, 0) != VPX_CODEC_OK)
      return Status::error(ErrorCode::internal, std::string("cannot start the ") + codec() + " decoder");
    ready_ = true;
    return Status::ok();
  }

  const char* codec() const override { return vp9_? "vp9" : "vp8"; }

  bool decode(const uint8_t* data, size_t n, bool keyframe, I420Frame& out) override {
    ++stats_.frames_in;
    if (!data || n == 0 || n > UINT32_MAX) return fail();
    vpx_codec_stream_info_t si{};
    si.sz = sizeof si;
    bool key = keyframe;
    if (vpx_codec_peek_stream_info(iface(), data, static_cast<unsigned>(n), &si) == VPX_CODEC_OK && si.is_kf) key = true;
    if (need_key_ && !key) {
      ++stats_.skipped;
      return false;
    }
    if (vpx_codec_decode(&ctx_, data, static_cast<unsigned>(n), nullptr, 0) != VPX_CODEC_OK) return fail();
    // Decoded, but from damaged data or references: no picture until a key frame.
    int corrupted = 0;
    if (vpx_codec_control(&ctx_, VP8D_GET_FRAME_CORRUPTED, &corrupted) == VPX_CODEC_OK && corrupted) {
      vpx_codec_iter_t it = nullptr;
      while (vpx_codec_get_frame(&ctx_, &it)) {
      }
      return fail();
    }
    need_key_ = false;
    const vpx_image_t* last = nullptr;
    vpx_codec_iter_t it = nullptr;
    while (const vpx_image_t* img = vpx_codec_get_frame(&ctx_, &it)) last = img;
    if (!last) return false;  // nothing shown (e.g. a VP9 hidden frame)
    if (!vpx_image_to_i420(*last, out)) return fail();
    ++stats_.pictures_out;
    return true;
  }

 private:
  vpx_codec_iface_t* iface() const { return vp9_ ? vpx_codec_vp9_dx() : vpx_codec_vp8_dx(); }
  bool fail() {
    ++stats_.errors;
    need_key_ = true;
    return false;
  }

  bool vp9_;
  bool ready_ = false;
  bool need_key_ = true;
  vpx_codec_ctx_t ctx_{};
};

// ---- H264 ---------------------------------------------------------------------

class H264Decoder final : public VideoDecoder {
 public:
  ~H264Decoder() override {
    if (dec_) {
      dec_->Uninitialize();
      WelsDestroyDecoder(dec_);
    }
  }

  Status init(const std::vector<uint8_t>& cp) {
    if (WelsCreateDecoder(&dec_) != 0 || !dec_) {
      dec_ = nullptr;
      return Status::error(ErrorCode::internal, "cannot create the OpenH264 decoder");
    }
    int level = WELS_LOG_QUIET;
    dec_->SetOption(DECODER_OPTION_TRACE_LEVEL, &level);
    SDecodingParam p;
    std::memset(&p, 0, sizeof p);
    p.eEcActiveIdc = ERROR_CON_DISABLE;  // no concealed (garbage) pictures
    p.sVideoProperty.size = sizeof p.sVideoProperty;
    p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
    if (dec_->Initialize(&p) != 0) {
      WelsDestroyDecoder(dec_);
      dec_ = nullptr;
      return Status::error(ErrorCode::internal, "cannot initialize the OpenH264 decoder");
    }
    set_codec_private(cp);
    return Status::ok();
  }

  const char* codec() const override { return "h264"; }

  // avcC (ISO/IEC 14496-15 5.2.4.1): version, profile, compat, level,
  // 0xFC|lengthSizeMinusOne, 0xE0|numSPS, {u16 len, SPS}*, numPPS, {u16 len, PPS}*.
  // A malformed record is ignored (the previous one is kept).
  void set_codec_private(const std::vector<uint8_t>& cp) override {
    if (cp.size() < 7 || cp[0] != 1) return;
    std::vector<uint8_t> sets;
    size_t pos = 5;
    bool have_sps = false, have_pps = false;
    for (int kind = 0; kind < 2; ++kind) {
      if (pos >= cp.size()) return;
      unsigned count = kind == 0 ? (cp[pos] & 0x1f) : cp[pos];
      ++pos;
      for (unsigned i = 0; i < count; ++i) {
        if (pos + 2 > cp.size()) return;
        size_t len = (size_t{cp[pos]} << 8) | cp[pos + 1];
        pos += 2;
        if (len == 0 || pos + len > cp.size()) return;
        sets.insert(sets.end(), {0, 0, 0, 1});
        sets.insert(sets.end(), cp.begin() + static_cast<ptrdiff_t>(pos), cp.begin() + static_cast<ptrdiff_t>(pos + len));
        (kind == 0 ? have_sps : have_pps) = true;
        pos += len;
      }
    }
    nal_length_size_ = (cp[4] & 3u) + 1;
    if (nal_length_size_ == 3) nal_length_size_ = 4;  // 3 is not allowed; assume our own 4
    if (have_sps && have_pps) param_sets_ = std::move(sets);
  }

  bool decode(const uint8_t* data, size_t n, bool keyframe, I420Frame& out) override {
    ++stats_.frames_in;
    if (!dec_ || !data || n == 0) return fail();
    // AVCC -> Annex B.
    body_.clear();
    bool idr = false, has_sps = false, has_pps = false;
    size_t pos = 0;
    while (pos < n) {
      if (n - pos < nal_length_size_) return fail();
      size_t len = 0;
      for (unsigned i = 0; i < nal_length_size_; ++i) len = (len << 8) | data[pos + i];
      pos += nal_length_size_;
      if (len > n - pos) return fail();
      if (len == 0) continue;
      unsigned type = data[pos] & 0x1f;
      if ((data[pos] & 0x80) != 0) return fail();  // forbidden_zero_bit
      idr |= type == 5;
      has_sps |= type == 7;
      has_pps |= type == 8;
      body_.insert(body_.end(), {0, 0, 0, 1});
      body_.insert(body_.end(), data + pos, data + pos + len);
      pos += len;
    }
    if (body_.empty() || body_.size() + param_sets_.size() > INT32_MAX) return fail();
    bool key = keyframe || idr;
    if (need_key_ && !key) {
      ++stats_.skipped;
      return false;
    }
    annexb_.clear();
    if (key && !(has_sps && has_pps)) annexb_.insert(annexb_.end(), param_sets_.begin(), param_sets_.end());
    annexb_.insert(annexb_.end(), body_.begin(), body_.end());

    unsigned char* dst[3] = {nullptr, nullptr, nullptr};
    SBufferInfo info;
    std::memset(&info, 0, sizeof info);
    DECODING_STATE st = dec_->DecodeFrameNoDelay(annexb_.data(), static_cast<int>(annexb_.size()), dst, &info);
    if (info.iBufferStatus == 1 && dst[0] && dst[1] && dst[2]) {
      const auto& sb = info.UsrData.sSystemBuffer;
      if (sb.iWidth <= 0 || sb.iHeight <= 0 || static_cast<uint32_t>(sb.iWidth) > kMaxDimension ||
          static_cast<uint32_t>(sb.iHeight) > kMaxDimension)
        return fail();
      out.resize(static_cast<uint32_t>(sb.iWidth), static_cast<uint32_t>(sb.iHeight));
      copy_plane(dst[0], sb.iStride[0], out.y.data(), out.width, out.height);
      copy_plane(dst[1], sb.iStride[1], out.u.data(), out.chroma_width(), out.chroma_height());
      copy_plane(dst[2], sb.iStride[1], out.v.data(), out.chroma_width(), out.chroma_height());
      need_key_ = false;
      ++stats_.pictures_out;
      return true;
    }
    if (st != dsErrorFree) return fail();
    if (key) need_key_ = false;
    return false;  // parameter sets only, or a picture held for reordering
  }

 private:
  bool fail() {
    ++stats_.errors;
    need_key_ = true;
    return false;
  }

  ISVCDecoder* dec_ = nullptr;
  unsigned nal_length_size_ = 4;
  std::vector<uint8_t> param_sets_;  // Annex B SPS/PPS from the avcC
  std::vector<uint8_t> body_, annexb_;
  bool need_key_ = true;
};

}  // namespace

void I420Frame::resize(uint32_t w, uint32_t h) {
  width = w;
  height = h;
  y.resize(size_t{w} * h);
  size_t c = size_t{chroma_width()} * chroma_height();
  u.resize(c);
  v.resize(c);
}

bool I420Frame::valid() const {
  size_t c = size_t{chroma_width()} * chroma_height();
  return width > 0 && height > 0 && y.size() == size_t{width} * height && u.size() == c && v.size() == c;
}

VideoDecoder::~VideoDecoder() = default;

Result<std::unique_ptr<VideoDecoder>> VideoDecoder::create(std::string_view codec,
                                                           const std::vector<uint8_t>& codec_private) {
  std::string c = lower(codec);
  if (c == "vp8" || c == "vp9") {
    auto d = std::make_unique<VpxDecoder>(c == "vp9");
    Status s = d->init();
    if (!s) return s;
    return std::unique_ptr<VideoDecoder>(std::move(d));
  }
  if (c == "h264") {
    auto d = std::make_unique<H264Decoder>();
    Status s = d->init(codec_private);
    if (!s) return s;
    return std::unique_ptr<VideoDecoder>(std::move(d));
  }
  return Status::error(ErrorCode::unsupported, "no video decoder for codec \"" + std::string(codec) + "\"");
}

}  // namespace roomrec::media
