#include "convert/audio_mixer.h"

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>

namespace roomrec::convert {

namespace {

constexpr uint32_t kRate = 48000;
constexpr uint64_t kPerMs = kRate / 1000;  // samples per ms
constexpr int kFrame = 960;                // 20 ms output frames
constexpr int kMaxPacket = 5760;           // 120 ms, the longest Opus packet
constexpr int kUnitStep = 120;             // 2.5 ms: concealment sizes are multiples of this
constexpr uint64_t kPlcLimit = 100 * kPerMs;  // conceal at most this long after the last real packet
// Per-source ring on the output timeline (stereo frames). While the frame
// [mix, mix + 20 ms) is mixed, a source decodes only packets starting before
// its end, placed at most 20 ms later than that, each at most 120 ms long: it
// never writes past mix + 160 ms, and 341 ms is ample.
constexpr uint64_t kRingFrames = 1u << 14;
constexpr float kLimitThreshold = 0.89f;  // ~ -1 dBFS: room for the codec's overshoot
constexpr double kReleaseSeconds = 0.15;

enum class Mode { none, silk, hybrid, celt };

Mode packet_mode(const uint8_t* p, size_t n) {
  if (n == 0) return Mode::none;
  if (p[0] & 0x80) return Mode::celt;
  return (p[0] & 0x60) == 0x60 ? Mode::hybrid : Mode::silk;
}

// Whether the packet carries LBRR (in-band FEC) for the frame before it: the
// LBRR flag(s) right after the VAD flag(s) in the first SILK frame (libopus
// 1.5's opus_packet_has_lbrr, which 1.3 lacks).
bool has_lbrr(const uint8_t* p, size_t n) {
  Mode m = packet_mode(p, n);
  if (m == Mode::none || m == Mode::celt) return false;
  int frame_size = opus_packet_get_samples_per_frame(p, kRate);
  int silk_frames = frame_size > kFrame ? frame_size / kFrame : 1;
  const unsigned char* frames[48];
  opus_int16 sizes[48];
  int count = opus_packet_parse(p, static_cast<opus_int32>(n), nullptr, frames, sizes, nullptr);
  if (count <= 0 || sizes[0] < 1) return false;
  bool lbrr = (frames[0][0] >> (7 - silk_frames)) & 1;
  if (opus_packet_get_nb_channels(p) == 2) lbrr = lbrr || ((frames[0][0] >> (6 - 2 * silk_frames)) & 1);
  return lbrr;
}

}  // namespace

struct AudioMixer::Source {
  struct Packet {
    uint64_t pos = 0;  // absolute sample on the output timeline
    std::vector<uint8_t> data;
  };
  // What a source needs from the mixer while rendering.
  struct Ctx {
    Stats& stats;
    float* scratch;    // kMaxPacket stereo frames
    uint64_t mix_pos;  // samples before this are mixed already
  };

  std::unique_ptr<OpusDecoder, void (*)(OpusDecoder*)> dec{nullptr, opus_decoder_destroy};
  uint32_t channels = 2;
  std::deque<Packet> pending;               // pushed, not decoded yet, in push order
  std::vector<std::vector<uint8_t>> spare;  // packet buffers to reuse
  std::vector<float> ring;                  // kRingFrames stereo frames, zero where nothing was written
  bool ended = false;
  bool released = false;  // ended and fully mixed: decoder and ring freed
  bool started = false;   // a packet was decoded
  bool silent = false;    // in a gap too long to conceal (or DTX): decoding resumes at the next packet
  uint64_t dec_pos = 0;   // end of the audio decoded or concealed so far
  uint64_t real_end = 0;  // end of the last really decoded packet
  uint64_t silent_from = 0;
  Mode last_mode = Mode::none;

  // Writes decoded stereo frames at `pos`, dropping what is already mixed.
  void write(uint64_t pos, const float* pcm, uint64_t n, uint64_t mix_pos) {
    uint64_t i = pos < mix_pos ? std::min(n, mix_pos - pos) : 0;
    for (; i < n; ++i) {
      uint64_t p = pos + i;
      if (p >= mix_pos + kRingFrames) break;  // cannot happen (see kRingFrames); never wrap over unmixed audio
      size_t r = static_cast<size_t>(p & (kRingFrames - 1)) * 2;
      ring[r] = pcm[2 * i];
      ring[r + 1] = pcm[2 * i + 1];
    }
  }

  void go_silent(uint64_t from) {
    silent = true;
    silent_from = from;
    opus_decoder_ctl(dec.get(), OPUS_RESET_STATE);
    last_mode = Mode::none;
  }

  // Conceals one unit (<= 20 ms) of the gap starting at dec_pos and ending at
  // `next` (the next packet) or open-ended.
  void conceal_unit(const Packet* next, Ctx& c) {
    if (dec_pos - real_end >= kPlcLimit) {
      go_silent(dec_pos);
      return;
    }
    uint64_t remaining = next ? next->pos - dec_pos : UINT64_MAX;
    int unit = static_cast<int>(std::min<uint64_t>(remaining, kFrame));
    unit = (unit + kUnitStep - 1) / kUnitStep * kUnitStep;
    float* buf = c.scratch;
    int n;
    bool fec = false;
    if (next && !next->data.empty() && remaining <= static_cast<uint64_t>(kFrame)) {
      // The unit right before the next packet: libopus decodes its LBRR when
      // present (and possible), else conceals.
      const auto& d = next->data;
      n = opus_decode_float(dec.get(), d.data(), static_cast<opus_int32>(d.size()), buf, unit, 1);
      fec = n > 0 && has_lbrr(d.data(), d.size()) && last_mode != Mode::celt && last_mode != Mode::none &&
            unit >= opus_packet_get_samples_per_frame(d.data(), kRate);
    } else {
      n = opus_decode_float(dec.get(), nullptr, 0, buf, unit, 0);
    }
    if (n <= 0) {
      n = unit;
      std::fill(buf, buf + 2 * n, 0.0f);
    }
    ++(fec ? c.stats.fec_frames : c.stats.plc_frames);
    uint64_t end = dec_pos + static_cast<uint64_t>(n);
    if (end - real_end >= kPlcLimit && (!next || next->pos > end)) {
      // Silence follows: fade the concealment out instead of cutting it.
      for (int i = 0; i < n; ++i) {
        float g = 1.0f - static_cast<float>(i + 1) / static_cast<float>(n);
        buf[2 * i] *= g;
        buf[2 * i + 1] *= g;
      }
    }
    write(dec_pos, buf, static_cast<uint64_t>(n), c.mix_pos);
    dec_pos = end;
  }

  // Decodes the next pending packet.
  void consume(Ctx& c) {
    Packet k = std::move(pending.front());
    pending.pop_front();
    decode_packet(k, c);
    k.data.clear();
    if (spare.size() < 16) spare.push_back(std::move(k.data));
  }

  void decode_packet(const Packet& k, Ctx& c) {
    if (k.data.empty()) {  // DTX / absent: silence, not a loss
      if (started && !silent) go_silent(std::max(dec_pos, k.pos));
      return;
    }
    uint64_t pos = k.pos;
    if (started && pos < dec_pos) {
      if (dec_pos - pos >= static_cast<uint64_t>(kFrame)) return;  // much older: dropped
      pos = dec_pos;                                              // slightly early: at the write position
    }
    int n = opus_decode_float(dec.get(), k.data.data(), static_cast<opus_int32>(k.data.size()), c.scratch,
                              kMaxPacket, 0);
    if (n <= 0) return;  // corrupt: the gap it leaves is concealed like a loss
    if (silent) {
      c.stats.silence_frames += (pos - std::min(pos, silent_from) + kFrame / 2) / kFrame;
      silent = false;
    }
    write(pos, c.scratch, static_cast<uint64_t>(n), c.mix_pos);
    dec_pos = pos + static_cast<uint64_t>(n);
    real_end = dec_pos;
    started = true;
    last_mode = packet_mode(k.data.data(), k.data.size());
  }

  // Makes the ring complete up to `end` (exclusive).
  void render(uint64_t end, Ctx& c) {
    for (;;) {
      const Packet* next = pending.empty() ? nullptr : &pending.front();
      if (next && next->pos < end) {
        if (started && !silent && next->pos > dec_pos)
          conceal_unit(next, c);  // the gap before it, a unit at a time
        else
          consume(c);
        continue;
      }
      if (!started || silent || dec_pos >= end) return;
      if (ended && !next) return;  // left: silence from its last packet on
      conceal_unit(next, c);
    }
  }

  // Adds the ring's [pos, pos + n) to `mix` and clears it.
  void take(uint64_t pos, int n, float* mix) {
    for (int i = 0; i < n; ++i) {
      size_t r = static_cast<size_t>((pos + static_cast<uint64_t>(i)) & (kRingFrames - 1)) * 2;
      mix[2 * i] += ring[r];
      mix[2 * i + 1] += ring[r + 1];
      ring[r] = 0.0f;
      ring[r + 1] = 0.0f;
    }
  }

  void release() {
    released = true;
    dec.reset();
    std::vector<float>().swap(ring);
    std::deque<Packet>().swap(pending);
    spare.clear();
  }
};

AudioMixer::AudioMixer(AudioMixerOptions o) : opt_(o), enc_(nullptr, opus_encoder_destroy) {
  opt_.channels = opt_.channels == 1 ? 1 : 2;
  opt_.bitrate = std::clamp<uint32_t>(opt_.bitrate, 6000, 510000);
  gain_ = std::pow(10.0f, opt_.headroom_db / 20.0f);
  if (!std::isfinite(gain_)) gain_ = 1.0f;
  int err = OPUS_OK;
  enc_.reset(opus_encoder_create(kRate, static_cast<int>(opt_.channels), OPUS_APPLICATION_AUDIO, &err));
  if (!enc_ || err != OPUS_OK) {
    enc_.reset();
    enc_status_ = Status::error(ErrorCode::internal, std::string("opus_encoder_create: ") + opus_strerror(err));
  } else {
    opus_encoder_ctl(enc_.get(), OPUS_SET_BITRATE(static_cast<opus_int32>(opt_.bitrate)));
    opus_int32 lookahead = 0;
    if (opus_encoder_ctl(enc_.get(), OPUS_GET_LOOKAHEAD(&lookahead)) == OPUS_OK && lookahead >= 0)
      pre_skip_ = static_cast<uint16_t>(lookahead);
  }
  mix_.resize(2 * kFrame);
  pcm_out_.resize(2 * kFrame);
  scratch_.resize(2 * kMaxPacket);
  packet_.resize(4000);
}

AudioMixer::~AudioMixer() = default;

Result<uint32_t> AudioMixer::add_source(uint32_t channels) {
  if (channels != 1 && channels != 2)
    return Status::error(ErrorCode::invalid_argument, "an Opus source has 1 or 2 channels, not " +
                                                          std::to_string(channels));
  if (!enc_status_) return enc_status_;
  auto s = std::make_unique<Source>();
  int err = OPUS_OK;
  // Always decoded to stereo: libopus puts a mono stream on both channels,
  // and a track whose recorded channel count is wrong still mixes right.
  s->dec.reset(opus_decoder_create(kRate, 2, &err));
  if (!s->dec || err != OPUS_OK)
    return Status::error(ErrorCode::internal, std::string("opus_decoder_create: ") + opus_strerror(err));
  s->channels = channels;
  s->ring.assign(2 * kRingFrames, 0.0f);
  sources_.push_back(std::move(s));
  return static_cast<uint32_t>(sources_.size() - 1);
}

void AudioMixer::push(uint32_t source, const uint8_t* data, size_t n, uint64_t pts_ms) {
  if (source >= sources_.size() || finished_) return;
  Source& s = *sources_[source];
  if (s.ended) return;
  Source::Packet k;
  k.pos = pts_ms * kPerMs;
  if (!s.spare.empty()) {
    k.data = std::move(s.spare.back());
    s.spare.pop_back();
  }
  if (n > 0 && data) k.data.assign(data, data + n);
  s.pending.push_back(std::move(k));
  earliest_pts_ = std::min(earliest_pts_, pts_ms);
}

void AudioMixer::end_source(uint32_t source) {
  if (source < sources_.size()) sources_[source]->ended = true;
}

void AudioMixer::set_start(uint64_t start_ms) {
  if (started_) return;
  have_start_ = true;
  start_ms_ = start_ms;
  mix_pos_ = start_ms * kPerMs;
}

void AudioMixer::fix_start(uint64_t fallback_ms) {
  if (started_ || have_start_) return;
  start_ms_ = earliest_pts_ != UINT64_MAX ? earliest_pts_ : fallback_ms;
  mix_pos_ = start_ms_ * kPerMs;
}

void AudioMixer::mix_until(uint64_t until_ms, std::vector<EncodedAudio>& out) {
  if (finished_) return;
  fix_start(until_ms);
  uint64_t until = until_ms * kPerMs;
  while (mix_pos_ + kFrame <= until) mix_frame(kFrame, out);
}

void AudioMixer::finish(uint64_t end_ms, std::vector<EncodedAudio>& out) {
  if (finished_) return;
  fix_start(end_ms);
  uint64_t end = end_ms * kPerMs;
  while (mix_pos_ < end) mix_frame(static_cast<int>(std::min<uint64_t>(kFrame, end - mix_pos_)), out);
  finished_ = true;
  for (auto& s : sources_)
    if (!s->released) s->release();
}

void AudioMixer::mix_frame(int valid, std::vector<EncodedAudio>& out) {
  started_ = true;
  std::fill(mix_.begin(), mix_.end(), 0.0f);
  uint64_t end = mix_pos_ + kFrame;
  Source::Ctx ctx{stats_, scratch_.data(), mix_pos_};
  for (auto& sp : sources_) {
    Source& s = *sp;
    if (s.released) continue;
    s.render(end, ctx);
    s.take(mix_pos_, kFrame, mix_.data());
    if (s.ended && s.pending.empty() && s.dec_pos <= end) s.release();
  }
  // A last partial frame: silence past the end.
  std::fill(mix_.begin() + 2 * valid, mix_.end(), 0.0f);
  limit(mix_.data(), kFrame);

  const float* pcm = mix_.data();
  if (opt_.channels == 1) {
    for (int i = 0; i < kFrame; ++i) pcm_out_[static_cast<size_t>(i)] = 0.5f * (mix_[2 * i] + mix_[2 * i + 1]);
    pcm = pcm_out_.data();
  }
  EncodedAudio e;
  e.pts_ms = mix_pos_ / kPerMs;
  e.duration_ms = 20;
  if (opt_.pcm) {
    e.pcm.assign(pcm, pcm + static_cast<size_t>(kFrame) * (opt_.channels == 1 ? 1 : 2));
    out.push_back(std::move(e));
    ++stats_.frames_out;
    mix_pos_ = end;
    return;
  }
  int n = enc_ ? opus_encode_float(enc_.get(), pcm, kFrame, packet_.data(), static_cast<opus_int32>(packet_.size()))
               : -1;
  if (n > 0) {
    e.data.assign(packet_.begin(), packet_.begin() + n);
  } else {
    // Never leave a hole in the timeline: a TOC-only packet (CELT FB 20 ms),
    // which decoders treat as a lost frame.
    e.data.assign(1, static_cast<uint8_t>(opt_.channels == 2 ? 0xFC : 0xF8));
  }
  out.push_back(std::move(e));
  ++stats_.frames_out;
  mix_pos_ = end;
}

void AudioMixer::limit(float* lr, size_t frames) {
  // Headroom gain, then a look-ahead-free peak limiter on the linked stereo
  // peak: the gain drops at once to keep the peak at the threshold and
  // recovers exponentially. A hard clip is the last resort (counted).
  static const float release = static_cast<float>(1.0 - std::exp(-1.0 / (kReleaseSeconds * kRate)));
  float g = limiter_gain_;
  for (size_t i = 0; i < frames; ++i) {
    float l = lr[2 * i] * gain_, r = lr[2 * i + 1] * gain_;
    if (!std::isfinite(l)) l = 0.0f;
    if (!std::isfinite(r)) r = 0.0f;
    float peak = std::max(std::fabs(l), std::fabs(r));
    g += (1.0f - g) * release;
    if (peak * g > kLimitThreshold) g = kLimitThreshold / peak;
    l *= g;
    r *= g;
    if (std::fabs(l) > 1.0f) {
      l = std::copysign(1.0f, l);
      ++stats_.clipped_samples;
    }
    if (std::fabs(r) > 1.0f) {
      r = std::copysign(1.0f, r);
      ++stats_.clipped_samples;
    }
    lr[2 * i] = l;
    lr[2 * i + 1] = r;
  }
  limiter_gain_ = g;
}

uint16_t AudioMixer::pre_skip() const { return pre_skip_; }

AudioMixer::Stats AudioMixer::stats() const { return stats_; }

}  // namespace roomrec::convert
