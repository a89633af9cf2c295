// Real media for tests: VP8 from libvpx, Opus from libopus, packetized into
// RTP the way a browser would (RFC 7741 for VP8, one Opus frame per packet),
// and ffprobe/ffmpeg helpers to check what the library writes.
#pragma once

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace roomrec::testing {

struct EncodedFrame {
  std::vector<uint8_t> data;
  bool keyframe = false;
  uint32_t index = 0;  // frame number
};

// VP8 frames painted by `paint(i, img)` (I420, w x h).
template <class Paint>
inline std::vector<EncodedFrame> encode_vp8_painted(uint32_t w, uint32_t h, uint32_t frames, uint32_t fps,
                                                    uint32_t kf_interval, Paint paint, bool vp9 = false,
                                                    uint32_t bitrate_kbps = 400) {
  vpx_codec_iface_t* iface = vp9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();
  vpx_codec_enc_cfg_t cfg;
  vpx_codec_enc_config_default(iface, &cfg, 0);
  cfg.g_w = w;
  cfg.g_h = h;
  cfg.g_timebase = {1, static_cast<int>(fps)};
  cfg.rc_target_bitrate = bitrate_kbps;
  cfg.g_lag_in_frames = 0;
  cfg.kf_mode = VPX_KF_DISABLED;
  vpx_codec_ctx_t codec;
  vpx_codec_enc_init(&codec, iface, &cfg, 0);
  vpx_codec_control(&codec, VP8E_SET_CPUUSED, vp9 ? 8 : 16);
  vpx_image_t img;
  vpx_img_alloc(&img, VPX_IMG_FMT_I420, w, h, 1);
  std::vector<EncodedFrame> out;
  for (uint32_t i = 0; i < frames; ++i) {
    paint(i, img);
    vpx_enc_frame_flags_t flags = (i % kf_interval == 0) ? VPX_EFLAG_FORCE_KF : 0;
    vpx_codec_encode(&codec, &img, i, 1, flags, VPX_DL_REALTIME);
    vpx_codec_iter_t it = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&codec, &it)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      EncodedFrame f;
      auto* p = static_cast<const uint8_t*>(pkt->data.frame.buf);
      f.data.assign(p, p + pkt->data.frame.sz);
      f.keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
      f.index = i;
      out.push_back(std::move(f));
    }
  }
  vpx_img_free(&img);
  vpx_codec_destroy(&codec);
  return out;
}

inline void fill_i420(vpx_image_t& img, uint8_t y, uint8_t u, uint8_t v) {
  for (unsigned r = 0; r < img.d_h; ++r) std::fill_n(img.planes[0] + r * img.stride[0], img.d_w, y);
  for (unsigned r = 0; r < (img.d_h + 1) / 2; ++r) {
    std::fill_n(img.planes[1] + r * img.stride[1], (img.d_w + 1) / 2, u);
    std::fill_n(img.planes[2] + r * img.stride[2], (img.d_w + 1) / 2, v);
  }
}

// A moving gradient (with camera-like grain when noisy), so frames differ.
inline std::vector<EncodedFrame> encode_vp8(uint32_t w, uint32_t h, uint32_t frames, uint32_t fps,
                                            uint32_t kf_interval = 30, uint32_t bitrate_kbps = 300,
                                            bool noisy = false) {
  auto paint = [&](uint32_t i, vpx_image_t& img) {
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x) {
        uint32_t v = x + y + i * 4;
        if (noisy) v += (x * 7919u + y * 104729u + i * 31u) * 2654435761u >> 27;
        img.planes[0][y * img.stride[0] + x] = static_cast<uint8_t>(v);
      }
    for (uint32_t y = 0; y < h / 2; ++y)
      for (uint32_t x = 0; x < w / 2; ++x) {
        img.planes[1][y * img.stride[1] + x] = static_cast<uint8_t>(128 + i);
        img.planes[2][y * img.stride[2] + x] = static_cast<uint8_t>(128 - i);
      }
  };
  return encode_vp8_painted(w, h, frames, fps, kf_interval, paint, false, bitrate_kbps);
}

// 20 ms Opus packets of samples given by `wave(t)` in [-1, 1].
template <class Wave>
inline std::vector<std::vector<uint8_t>> encode_opus_wave(double seconds, Wave wave, int channels = 2) {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, channels, OPUS_APPLICATION_AUDIO, &err);
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(64000));
  std::vector<std::vector<uint8_t>> out;
  std::vector<int16_t> pcm(960 * channels);
  int frames = static_cast<int>(seconds * 50);
  for (int f = 0; f < frames; ++f) {
    for (int i = 0; i < 960; ++i) {
      int16_t v = static_cast<int16_t>(20000 * wave((f * 960 + i) / 48000.0));
      for (int c = 0; c < channels; ++c) pcm[i * channels + c] = v;
    }
    uint8_t buf[1500];
    int n = opus_encode(enc, pcm.data(), 960, buf, sizeof buf);
    out.emplace_back(buf, buf + n);
  }
  opus_encoder_destroy(enc);
  return out;
}

// 20 ms Opus packets of a sine tone.
inline std::vector<std::vector<uint8_t>> encode_opus(double seconds, double freq, int channels = 2) {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, channels, OPUS_APPLICATION_AUDIO, &err);
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(48000));
  std::vector<std::vector<uint8_t>> out;
  std::vector<int16_t> pcm(960 * channels);
  int frames = static_cast<int>(seconds * 50);
  for (int f = 0; f < frames; ++f) {
    for (int i = 0; i < 960; ++i) {
      double t = (f * 960 + i) / 48000.0;
      int16_t v = static_cast<int16_t>(8000 * std::sin(2 * M_PI * freq * t));
      for (int c = 0; c < channels; ++c) pcm[i * channels + c] = v;
    }
    uint8_t buf[1500];
    int n = opus_encode(enc, pcm.data(), 960, buf, sizeof buf);
    out.emplace_back(buf, buf + n);
  }
  opus_encoder_destroy(enc);
  return out;
}

inline std::vector<uint8_t> rtp_packet(uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt, bool marker,
                                       const uint8_t* payload, size_t n) {
  std::vector<uint8_t> p(12 + n);
  p[0] = 0x80;
  p[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | pt);
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  if (n) std::copy(payload, payload + n, p.begin() + 12);
  return p;
}

// RFC 7741 with the minimal 1-byte descriptor (S bit on the first packet).
inline std::vector<std::vector<uint8_t>> packetize_vp8(const std::vector<uint8_t>& frame, uint16_t& seq, uint32_t ts,
                                                       uint32_t ssrc, size_t mtu = 1100) {
  std::vector<std::vector<uint8_t>> out;
  size_t off = 0;
  while (off < frame.size()) {
    size_t n = std::min(mtu, frame.size() - off);
    std::vector<uint8_t> payload;
    payload.push_back(off == 0 ? 0x10 : 0x00);
    payload.insert(payload.end(), frame.begin() + static_cast<long>(off), frame.begin() + static_cast<long>(off + n));
    off += n;
    out.push_back(rtp_packet(seq++, ts, ssrc, 96, off == frame.size(), payload.data(), payload.size()));
  }
  return out;
}

inline std::string run_capture(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  if (status) *status = st;
  return out;
}

struct ProbeResult {
  bool ok = false;
  std::string codec;
  uint32_t width = 0, height = 0, channels = 0;
  double duration = 0;
  uint64_t frames = 0;
  std::string decode_errors;
};

// ffprobe (codec, size, duration, decoded frame count) and a full decode with ffmpeg.
inline ProbeResult probe(const std::string& path) {
  ProbeResult r;
  int st = 0;
  std::string js = run_capture("ffprobe -v error -count_frames -show_entries "
                               "stream=codec_name,width,height,channels,nb_read_frames:format=duration -of json '" +
                                   path + "' 2>/dev/null",
                               &st);
  if (st != 0) return r;
  try {
    auto j = nlohmann::json::parse(js);
    auto& s = j.at("streams").at(0);
    r.codec = s.value("codec_name", "");
    r.width = s.value("width", 0u);
    r.height = s.value("height", 0u);
    r.channels = s.value("channels", 0u);
    r.frames = std::stoull(s.value("nb_read_frames", std::string("0")));
    r.duration = std::stod(j.at("format").value("duration", std::string("0")));
  } catch (...) {
    return r;
  }
  r.decode_errors = run_capture("ffmpeg -nostdin -v error -i '" + path + "' -f null - 2>&1", &st);
  r.ok = st == 0;
  return r;
}

}  // namespace roomrec::testing
