#include "synth.h"

#include <math.h>
#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#define MTU 1100

static size_t rtp_header(uint8_t* p, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt, int marker) {
  p[0] = 0x80;
  p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
  p[2] = (uint8_t)(seq >> 8);
  p[3] = (uint8_t)seq;
  for (int i = 0; i < 4; ++i) p[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
  return 12;
}

static void paint(vpx_image_t* img, uint32_t frame, uint8_t shade) {
  for (unsigned y = 0; y < img->d_h; ++y)
    for (unsigned x = 0; x < img->d_w; ++x)
      img->planes[0][y * img->stride[0] + x] = (uint8_t)(shade + ((x + y + frame * 4) & 63));
  for (unsigned y = 0; y < (img->d_h + 1) / 2; ++y)
    for (unsigned x = 0; x < (img->d_w + 1) / 2; ++x) {
      img->planes[1][y * img->stride[1] + x] = (uint8_t)(128 + (frame & 31));
      img->planes[2][y * img->stride[2] + x] = (uint8_t)(128 - (frame & 31));
    }
}

int synth_generate(const synth_params* p, synth_emit_fn emit, void* user) {
  int rc = -1;
  uint8_t pkt[1600];
  int err = 0;
  OpusEncoder* opus = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
  if (!opus || err != OPUS_OK) return -1;
  opus_encoder_ctl(opus, OPUS_SET_BITRATE(48000));

  vpx_codec_iface_t* iface = vpx_codec_vp8_cx();
  vpx_codec_enc_cfg_t cfg;
  vpx_codec_ctx_t codec;
  vpx_image_t img;
  int codec_ok = 0, img_ok = 0;
  if (vpx_codec_enc_config_default(iface, &cfg, 0) != VPX_CODEC_OK) goto out;
  cfg.g_w = p->width;
  cfg.g_h = p->height;
  cfg.g_timebase.num = 1;
  cfg.g_timebase.den = (int)p->fps;
  cfg.rc_target_bitrate = 300;
  cfg.g_lag_in_frames = 0;
  cfg.kf_mode = VPX_KF_DISABLED;
  if (vpx_codec_enc_init(&codec, iface, &cfg, 0) != VPX_CODEC_OK) goto out;
  codec_ok = 1;
  vpx_codec_control(&codec, VP8E_SET_CPUUSED, 16);
  if (!vpx_img_alloc(&img, VPX_IMG_FMT_I420, p->width, p->height, 1)) goto out;
  img_ok = 1;

  {
    const uint32_t audio_frames = p->seconds * 50;
    const uint32_t video_frames = p->seconds * p->fps;
    uint32_t a = 0, v = 0;
    uint16_t aseq = 1000, vseq = 2000;
    int16_t pcm[960 * 2];
    while (a < audio_frames || v < video_frames) {
      uint32_t at = a * 20;
      uint32_t vt = (uint32_t)((uint64_t)v * 1000 / p->fps);
      if (a < audio_frames && (v >= video_frames || at <= vt)) {
        for (int i = 0; i < 960; ++i) {
          double t = (a * 960.0 + i) / 48000.0;
          int16_t s = (int16_t)(8000 * sin(2 * 3.14159265358979 * p->tone_hz * t));
          pcm[2 * i] = pcm[2 * i + 1] = s;
        }
        size_t h = rtp_header(pkt, aseq++, a * 960u, p->audio_ssrc, SYNTH_OPUS_PT, 0);
        int n = opus_encode(opus, pcm, 960, pkt + h, (opus_int32)(sizeof pkt - h));
        if (n < 0) goto out;
        if (emit(SYNTH_AUDIO_TRACK, at, pkt, h + (size_t)n, user)) break;
        ++a;
      } else {
        paint(&img, v, p->shade);
        vpx_enc_frame_flags_t flags = (v % (2 * p->fps) == 0) ? VPX_EFLAG_FORCE_KF : 0;
        if (vpx_codec_encode(&codec, &img, v, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) goto out;
        vpx_codec_iter_t it = NULL;
        const vpx_codec_cx_pkt_t* cx;
        while ((cx = vpx_codec_get_cx_data(&codec, &it)) != NULL) {
          if (cx->kind != VPX_CODEC_CX_FRAME_PKT) continue;
          const uint8_t* frame = (const uint8_t*)cx->data.frame.buf;
          size_t size = cx->data.frame.sz, off = 0;
          uint32_t ts = (uint32_t)((uint64_t)v * 90000 / p->fps);
          while (off < size) {
            size_t n = size - off < MTU ? size - off : MTU;
            size_t h = rtp_header(pkt, vseq++, ts, p->video_ssrc, SYNTH_VP8_PT, off + n == size);
            pkt[h] = off == 0 ? 0x10 : 0x00;
            memcpy(pkt + h + 1, frame + off, n);
            off += n;
            if (emit(SYNTH_VIDEO_TRACK, vt, pkt, h + 1 + n, user)) goto done;
          }
        }
        ++v;
      }
    }
  }
done:
  rc = 0;
out:
  if (img_ok) vpx_img_free(&img);
  if (codec_ok) vpx_codec_destroy(&codec);
  opus_encoder_destroy(opus);
  return rc;
}
