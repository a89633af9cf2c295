#include "media/aac_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

#include <algorithm>
#include <cstring>
#include <string>

#include "media/mp4_writer.h"

namespace roomrec::media {

namespace {
Status av_error(int err, const std::string& what) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof buf);
  return Status::error(ErrorCode::internal, "AAC encoder: " + what + ": " + buf);
}
}  // namespace

Result<std::unique_ptr<AacEncoder>> AacEncoder::create(uint32_t channels, uint32_t bitrate) {
  if (channels < 1 || channels > 2) return Status::error(ErrorCode::invalid_argument, "AAC encoder: 1 or 2 channels");
  const AVCodec* codec = avcodec_find_encoder_by_name("aac");
  if (!codec) return Status::error(ErrorCode::unsupported, "FFmpeg's aac encoder is not available");
  std::unique_ptr<AacEncoder> e(new AacEncoder());
  e->channels_ = channels;
  e->ctx_ = avcodec_alloc_context3(codec);
  if (!e->ctx_) return Status::error(ErrorCode::resource_exhausted, "out of memory");
  route_ffmpeg_log(e->ctx_, true);
  e->ctx_->sample_rate = 48000;
  e->ctx_->sample_fmt = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&e->ctx_->ch_layout, static_cast<int>(channels));
  e->ctx_->bit_rate = bitrate;
  e->ctx_->time_base = AVRational{1, 48000};
  e->ctx_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // the AudioSpecificConfig as extradata, for esds
  e->ctx_->flags |= AV_CODEC_FLAG_BITEXACT;       // same input, same bytes
  int err = avcodec_open2(e->ctx_, codec, nullptr);
  if (err < 0) return av_error(err, "cannot open");
  e->frame_size_ = e->ctx_->frame_size > 0 ? static_cast<uint32_t>(e->ctx_->frame_size) : 1024;
  e->delay_ = e->ctx_->initial_padding > 0 ? static_cast<uint32_t>(e->ctx_->initial_padding) : 1024;
  if (e->ctx_->extradata && e->ctx_->extradata_size > 0)
    e->asc_.assign(e->ctx_->extradata, e->ctx_->extradata + e->ctx_->extradata_size);
  e->frame_ = av_frame_alloc();
  e->pkt_ = av_packet_alloc();
  if (!e->frame_ || !e->pkt_) return Status::error(ErrorCode::resource_exhausted, "out of memory");
  e->frame_->format = AV_SAMPLE_FMT_FLTP;
  e->frame_->nb_samples = static_cast<int>(e->frame_size_);
  e->frame_->sample_rate = 48000;
  av_channel_layout_copy(&e->frame_->ch_layout, &e->ctx_->ch_layout);
  err = av_frame_get_buffer(e->frame_, 0);
  if (err < 0) return av_error(err, "no frame buffer");
  return e;
}

AacEncoder::~AacEncoder() {
  av_packet_free(&pkt_);
  av_frame_free(&frame_);
  if (ctx_) route_ffmpeg_log(ctx_, false);
  avcodec_free_context(&ctx_);
}

Status AacEncoder::encode(AVFrame* frame, std::vector<AacPacket>& out) {
  int err = avcodec_send_frame(ctx_, frame);
  if (err < 0) return av_error(err, "encoding failed");
  for (;;) {
    err = avcodec_receive_packet(ctx_, pkt_);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::ok();
    if (err < 0) return av_error(err, "encoding failed");
    AacPacket p;
    p.data.assign(pkt_->data, pkt_->data + pkt_->size);
    p.index = next_index_++;
    out.push_back(std::move(p));
    av_packet_unref(pkt_);
  }
}

Status AacEncoder::push(const float* pcm, size_t frames, std::vector<AacPacket>& out) {
  if (finished_) return Status::error(ErrorCode::invalid_argument, "AAC encoder: finished");
  size_t done = 0;
  while (done < frames) {
    if (filled_ == 0) {
      int err = av_frame_make_writable(frame_);
      if (err < 0) return av_error(err, "frame not writable");
    }
    const size_t n = std::min(frames - done, frame_size_ - filled_);
    for (uint32_t c = 0; c < channels_; ++c) {
      auto* dst = reinterpret_cast<float*>(frame_->data[c]) + filled_;
      for (size_t i = 0; i < n; ++i) dst[i] = pcm[(done + i) * channels_ + c];
    }
    filled_ += n;
    done += n;
    if (filled_ == frame_size_) {
      frame_->nb_samples = static_cast<int>(frame_size_);
      frame_->pts = static_cast<int64_t>(next_pts_);
      next_pts_ += frame_size_;
      filled_ = 0;
      Status s = encode(frame_, out);
      if (!s) return s;
    }
  }
  return Status::ok();
}

Status AacEncoder::finish(std::vector<AacPacket>& out) {
  if (finished_) return Status::ok();
  finished_ = true;
  if (filled_ > 0) {  // the last frame padded with silence
    for (uint32_t c = 0; c < channels_; ++c)
      std::fill(reinterpret_cast<float*>(frame_->data[c]) + filled_,
                reinterpret_cast<float*>(frame_->data[c]) + frame_size_, 0.0f);
    frame_->nb_samples = static_cast<int>(frame_size_);
    frame_->pts = static_cast<int64_t>(next_pts_);
    filled_ = 0;
    Status s = encode(frame_, out);
    if (!s) return s;
  }
  return encode(nullptr, out);
}

}  // namespace roomrec::media
