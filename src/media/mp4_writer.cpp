#include "media/mp4_writer.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
}

#include <roomrec/log.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <set>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "media/webm_writer.h"  // opus_packet_samples, opus_head
#include "util/text.h"

namespace roomrec::media {

namespace {

constexpr AVRational kMicros{1, 1000000};

// FFmpeg logs to stderr by default. The muxer contexts of this file log
// through roomrec's log instead (warnings and errors; its progress notes are
// dropped); every other context's messages still go to FFmpeg's default.
std::mutex g_contexts_mu;
std::set<const void*> g_contexts;

void av_log_to_roomrec(void* avcl, int level, const char* fmt, va_list vl) {
  bool ours = false;
  if (avcl) {
    std::lock_guard lock(g_contexts_mu);
    ours = g_contexts.count(avcl) > 0;
  }
  if (!ours) {
    av_log_default_callback(avcl, level, fmt, vl);
    return;
  }
  if (level > AV_LOG_WARNING) return;
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, fmt, vl);
  std::string text(buf);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  log_message(level <= AV_LOG_ERROR ? LogLevel::error : LogLevel::warn, "mp4", text);
}

}  // namespace

void route_ffmpeg_log(const void* ctx, bool add) {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(av_log_to_roomrec); });
  std::lock_guard lock(g_contexts_mu);
  if (add)
    g_contexts.insert(ctx);
  else
    g_contexts.erase(ctx);
}

namespace {
constexpr int kVideoTimescale = 90000;


bool set_extradata(AVCodecParameters* par, const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return true;
  par->extradata = static_cast<uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) return false;
  std::memcpy(par->extradata, bytes.data(), bytes.size());
  par->extradata_size = static_cast<int>(bytes.size());
  return true;
}

}  // namespace

struct Mp4Writer::Track {
  AVStream* stream = nullptr;
  bool video = false;
  AVCodecID codec = AV_CODEC_ID_NONE;
  uint32_t frame_size = 0;  // AAC samples per frame
  uint32_t max_width = 0, max_height = 0;
  // The frame held back until the next one gives its duration.
  bool held = false;
  std::vector<uint8_t> data;  // size held_size + padding
  size_t held_size = 0;
  int64_t held_ts = 0;        // in the stream's time base
  bool held_key = false;
  int64_t last_interval = 0;
  uint64_t frames = 0;
};

Mp4Writer::Mp4Writer(std::string path, Mp4Mode mode) : path_(std::move(path)), mode_(mode) {}

Result<std::unique_ptr<Mp4Writer>> Mp4Writer::create(const std::string& path, Mp4Mode mode) {
  std::unique_ptr<Mp4Writer> w(new Mp4Writer(path, mode));
  // "file:" so that a ':' in the path is never taken for a protocol name.
  const std::string url = "file:" + path;
  int err = avformat_alloc_output_context2(&w->ctx_, nullptr, "mp4", url.c_str());
  if (err < 0 || !w->ctx_) return w->av_status(err < 0 ? err : AVERROR(ENOMEM), "cannot set up the MP4 muxer");
  route_ffmpeg_log(w->ctx_, true);
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  err = avio_open2(&w->ctx_->pb, url.c_str(), AVIO_FLAG_WRITE, nullptr, &opts);
  av_dict_free(&opts);
  if (err < 0) {
    Status s = Status::error(ErrorCode::io, "cannot create " + path);
    route_ffmpeg_log(w->ctx_, false);
    avformat_free_context(w->ctx_);
    w->ctx_ = nullptr;
    w->finished_ = true;
    return s;
  }
  return w;
}

Mp4Writer::~Mp4Writer() {
  if (!finished_) finish();
  if (ctx_) {
    if (ctx_->pb) avio_closep(&ctx_->pb);
    route_ffmpeg_log(ctx_, false);
    avformat_free_context(ctx_);
  }
}

Status Mp4Writer::av_status(int err, const char* what) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof buf);
  const ErrorCode code = err == AVERROR(ENOSPC) || err == AVERROR(EIO) || err == AVERROR(EACCES) ? ErrorCode::io
                         : err == AVERROR(ENOMEM)                                                   ? ErrorCode::resource_exhausted
                                                                                                    : ErrorCode::io;
  return Status::error(code, std::string(what) + " (" + path_ + "): " + buf);
}

Result<uint32_t> Mp4Writer::add_video_track(const Mp4VideoParams& p) {
  if (finished_ || started_) return Status::error(ErrorCode::invalid_argument, "MP4 tracks are added before the first frame");
  const std::string codec = util::ascii_lowercase(p.codec);
  AVCodecID id = codec == "h264" ? AV_CODEC_ID_H264 : codec == "av1" ? AV_CODEC_ID_AV1 : AV_CODEC_ID_NONE;
  if (id == AV_CODEC_ID_NONE) return Status::error(ErrorCode::unsupported, "MP4 video must be h264 or av1, not " + p.codec);
  if (p.codec_private.empty())
    return Status::error(ErrorCode::invalid_argument, codec + " in MP4 needs its codec configuration (avcC / av1C)");
  if (p.rotation % 90 != 0) return Status::error(ErrorCode::invalid_argument, "rotation must be a multiple of 90");
  auto t = std::make_unique<Track>();
  t->stream = avformat_new_stream(ctx_, nullptr);
  if (!t->stream) return Status::error(ErrorCode::resource_exhausted, "cannot add an MP4 stream");
  AVCodecParameters* par = t->stream->codecpar;
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = id;
  par->width = static_cast<int>(p.width);
  par->height = static_cast<int>(p.height);
  if (!set_extradata(par, p.codec_private)) return Status::error(ErrorCode::resource_exhausted, "out of memory");
  t->stream->time_base = AVRational{1, kVideoTimescale};
  const int r = ((p.rotation % 360) + 360) % 360;
  if (r) {
    auto* m = reinterpret_cast<int32_t*>(av_stream_new_side_data(t->stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
    if (!m) return Status::error(ErrorCode::resource_exhausted, "out of memory");
    // FFmpeg names the angle counter-clockwise in a y-up frame: in the picture's
    // y-down frame that is the clockwise turn CVO asks for. For 90 the tkhd
    // matrix is {0, 1, -1, 0}, what phones write for a portrait recording.
    av_display_rotation_set(m, r);
  }
  t->video = true;
  t->codec = id;
  t->max_width = p.width;
  t->max_height = p.height;
  tracks_.push_back(std::move(t));
  return static_cast<uint32_t>(tracks_.size() - 1);
}

Result<uint32_t> Mp4Writer::add_audio_track(const Mp4AudioParams& p) {
  if (finished_ || started_) return Status::error(ErrorCode::invalid_argument, "MP4 tracks are added before the first frame");
  const std::string codec = util::ascii_lowercase(p.codec);
  AVCodecID id = codec == "opus" ? AV_CODEC_ID_OPUS : codec == "aac" ? AV_CODEC_ID_AAC : AV_CODEC_ID_NONE;
  if (id == AV_CODEC_ID_NONE) return Status::error(ErrorCode::unsupported, "MP4 audio must be opus or aac, not " + p.codec);
  if (p.channels < 1 || p.channels > 8 || p.sample_rate < 8000 || p.sample_rate > 192000)
    return Status::error(ErrorCode::invalid_argument, "bad MP4 audio parameters");
  std::vector<uint8_t> config = p.codec_private;
  if (id == AV_CODEC_ID_OPUS) {
    if (config.empty()) {
      if (p.channels > 2) return Status::error(ErrorCode::invalid_argument, "Opus with more than 2 channels needs its OpusHead");
      config = opus_head(p.channels, static_cast<uint16_t>(std::min<uint32_t>(p.initial_padding, 65535)), p.sample_rate);
    }
  } else if (config.empty()) {
    return Status::error(ErrorCode::invalid_argument, "AAC in MP4 needs its AudioSpecificConfig");
  }
  auto t = std::make_unique<Track>();
  t->stream = avformat_new_stream(ctx_, nullptr);
  if (!t->stream) return Status::error(ErrorCode::resource_exhausted, "cannot add an MP4 stream");
  AVCodecParameters* par = t->stream->codecpar;
  par->codec_type = AVMEDIA_TYPE_AUDIO;
  par->codec_id = id;
  // Opus decodes at 48 kHz whatever the input rate the OpusHead names.
  par->sample_rate = id == AV_CODEC_ID_OPUS ? 48000 : static_cast<int>(p.sample_rate);
  av_channel_layout_default(&par->ch_layout, static_cast<int>(p.channels));
  par->initial_padding = static_cast<int>(p.initial_padding);
  par->frame_size = static_cast<int>(p.frame_size ? p.frame_size : id == AV_CODEC_ID_OPUS ? 960 : 1024);
  if (!set_extradata(par, config)) return Status::error(ErrorCode::resource_exhausted, "out of memory");
  t->stream->time_base = AVRational{1, par->sample_rate};
  t->codec = id;
  t->frame_size = static_cast<uint32_t>(par->frame_size);
  tracks_.push_back(std::move(t));
  return static_cast<uint32_t>(tracks_.size() - 1);
}

void Mp4Writer::set_creation_time_ms(uint64_t unix_ms) { creation_ms_ = unix_ms; }

Status Mp4Writer::start() {
  if (tracks_.empty()) return Status::error(ErrorCode::invalid_argument, "an MP4 needs a track");
  AVDictionary* opts = nullptr;
  if (mode_ == Mp4Mode::faststart) {
    av_dict_set(&opts, "movflags", "+faststart", 0);
  } else {
    av_dict_set(&opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
    av_dict_set(&opts, "frag_duration", "2000000", 0);  // audio-only files, and rare key frames
  }
  if (creation_ms_) {
    const time_t secs = static_cast<time_t>(creation_ms_ / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char iso[40];
    std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(creation_ms_ % 1000));
    av_dict_set(&ctx_->metadata, "creation_time", iso, 0);
  }
  const int err = avformat_write_header(ctx_, &opts);
  av_dict_free(&opts);
  if (err < 0) return av_status(err, "cannot write the MP4 header");
  started_ = true;
  return Status::ok();
}

Status Mp4Writer::emit(Track& t, int64_t duration) {
  AVPacket* pkt = av_packet_alloc();
  if (!pkt) return Status::error(ErrorCode::resource_exhausted, "out of memory");
  pkt->data = t.data.data();
  pkt->size = static_cast<int>(t.held_size);
  pkt->pts = pkt->dts = t.held_ts;
  pkt->duration = std::max<int64_t>(duration, 1);
  pkt->stream_index = t.stream->index;
  if (t.held_key) pkt->flags |= AV_PKT_FLAG_KEY;
  const int err = av_write_frame(ctx_, pkt);
  av_packet_free(&pkt);
  t.held = false;
  if (err < 0) return av_status(err, "cannot write to the MP4");
  t.frames++;
  return Status::ok();
}

Status Mp4Writer::write_frame(uint32_t track, const uint8_t* data, size_t n, uint64_t timestamp_us, bool keyframe) {
  if (!sticky_error_.is_ok()) return sticky_error_;
  if (finished_) return Status::error(ErrorCode::invalid_argument, "the MP4 is finished");
  if (track >= tracks_.size()) return Status::error(ErrorCode::invalid_argument, "no such MP4 track");
  if (!data || n == 0 || n > (1u << 30)) return Status::error(ErrorCode::invalid_argument, "an empty or oversized frame");
  if (!started_) {
    Status s = start();
    if (!s) {
      sticky_error_ = s;
      return s;
    }
  }
  Track& t = *tracks_[track];
  int64_t ts = av_rescale_q(static_cast<int64_t>(timestamp_us), kMicros, t.stream->time_base);
  if (t.held) {
    if (ts <= t.held_ts) ts = t.held_ts + 1;
    t.last_interval = ts - t.held_ts;
    Status s = emit(t, t.last_interval);
    if (!s) {
      sticky_error_ = s;
      return s;
    }
  }
  t.data.resize(n + AV_INPUT_BUFFER_PADDING_SIZE);
  std::memcpy(t.data.data(), data, n);
  std::memset(t.data.data() + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
  t.held_size = n;
  t.held_ts = ts;
  t.held_key = keyframe || !t.video;
  t.held = true;
  return Status::ok();
}

void Mp4Writer::note_video_size(uint32_t track, uint32_t width, uint32_t height) {
  if (track >= tracks_.size() || !tracks_[track]->video || !width || !height) return;
  Track& t = *tracks_[track];
  t.max_width = std::max(t.max_width, width);
  t.max_height = std::max(t.max_height, height);
  // Read by the muxer when it writes the index: at the end (faststart), or at
  // the first frame (fragmented), so sizes seen before it count too.
  if (!started_ || mode_ == Mp4Mode::faststart) {
    t.stream->codecpar->width = static_cast<int>(t.max_width);
    t.stream->codecpar->height = static_cast<int>(t.max_height);
  }
}

Status Mp4Writer::finish() {
  if (finished_) return finish_status_;
  finished_ = true;
  auto fail = [&](Status s) {
    finish_status_ = s;
    return s;
  };
  if (!started_) {
    if (ctx_ && ctx_->pb) avio_closep(&ctx_->pb);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    return fail(Status::error(ErrorCode::invalid_argument, "no frame was written to " + path_));
  }
  if (!sticky_error_.is_ok()) {
    avio_closep(&ctx_->pb);
    return fail(sticky_error_);
  }
  for (auto& tp : tracks_) {
    Track& t = *tp;
    if (!t.held) continue;
    int64_t d = t.last_interval;
    if (t.codec == AV_CODEC_ID_OPUS) {
      const uint32_t samples = opus_packet_samples(t.data.data(), t.held_size);
      if (samples) d = av_rescale_q(samples, AVRational{1, 48000}, t.stream->time_base);
    } else if (t.codec == AV_CODEC_ID_AAC && t.frame_size) {
      d = t.frame_size;
    }
    if (d <= 0) d = av_rescale_q(1, AVRational{1, 15}, t.stream->time_base);  // a single video frame
    Status s = emit(t, d);
    if (!s) {
      avio_closep(&ctx_->pb);
      return fail(s);
    }
  }
  const int err = av_write_trailer(ctx_);
  if (err < 0) {
    avio_closep(&ctx_->pb);
    return fail(av_status(err, "cannot finish the MP4"));
  }
  avio_flush(ctx_->pb);
  const int io = ctx_->pb->error;
  if (avio_closep(&ctx_->pb) < 0 || io < 0) return fail(av_status(io < 0 ? io : AVERROR(EIO), "cannot write the MP4"));
  return fail(Status::ok());
}

uint64_t Mp4Writer::frames_written(uint32_t track) const {
  if (track >= tracks_.size()) return 0;
  return tracks_[track]->frames + (tracks_[track]->held ? 1 : 0);
}

uint64_t Mp4Writer::bytes_written() const {
  if (ctx_ && ctx_->pb) return static_cast<uint64_t>(std::max<int64_t>(avio_tell(ctx_->pb), 0));
  std::error_code ec;
  const auto n = std::filesystem::file_size(path_, ec);
  return ec ? 0 : n;
}

}  // namespace roomrec::media
