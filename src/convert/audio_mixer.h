// AudioMixer: mixes the room's Opus tracks into one stereo Opus stream on the
// room timeline (48 kHz, 20 ms frames).
//
// - Each source decodes its packets (always to stereo: a mono stream comes out
//   on both channels) into a ring buffer indexed by the output timeline, at
//   the packet's pts with sample accuracy (pts_ms * 48).
// - Decoding is lazy: packets wait, encoded, until the output frame they start
//   in is mixed, so the packet after a loss is at hand for FEC and a source
//   that runs ahead costs a few bytes per packet, not decoded audio.
// - A gap before the next packet (or at the end of what was pushed) is lost
//   audio: the last 20 ms before the next packet come from that packet's FEC
//   (opus_decode with decode_fec=1) when it carries LBRR and has been pushed
//   by the time the gap is mixed (the Composer mixes 1.5 s behind its input,
//   so it normally has), the rest from PLC
//   (opus_decode with NULL), up to 100 ms after the last real packet; beyond
//   that, silence (PLC fades out over its last frame, the decoder is reset).
//   An empty packet (DTX / absent) is 20 ms of silence, never concealed.
// - A packet starting less than 20 ms before the source's write position (the
//   end of its previous audio) is placed at the write position; an older one
//   is dropped. Audio before the mix position (already mixed) is dropped.
// - Output: sum of the sources, headroom gain, then a look-ahead-free peak
//   limiter (instant attack to keep the linked stereo peak at 0.89 full scale,
//   ~150 ms release), a hard clip only as a last resort (counted), and libopus
//   (OPUS_APPLICATION_AUDIO, 20 ms frames) at the configured bitrate.
//
// Stats (plc/fec/silence frames) count 20 ms units of a source's audio; silence
// before a source's first packet or after its end is not counted.
//
// No threads, no locks: one thread at a time.
#pragma once

#include <roomrec/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

struct OpusEncoder;

namespace roomrec::convert {

struct AudioMixerOptions {
  uint32_t bitrate = 64000;  // bits/s, clamped to libopus's 6000..510000
  uint32_t channels = 2;     // output: 1 (L+R downmix) or 2 (anything else counts as 2)
  float headroom_db = -3.0f; // gain applied to the sum before the limiter
  bool pcm = false;          // output EncodedAudio::pcm (for another encoder, e.g. AAC) instead of Opus
};

// One Opus packet of the mix.
struct EncodedAudio {
  std::vector<uint8_t> data;  // Opus; empty with AudioMixerOptions::pcm
  std::vector<float> pcm;     // with AudioMixerOptions::pcm: the 20 ms mixed, interleaved, 48 kHz
  uint64_t pts_ms = 0;
  uint64_t pts_us = 0;  // when set: the exact time (AAC packets of 1024 samples do not fall on whole ms)
  uint32_t duration_ms = 20;
};

class AudioMixer {
 public:
  explicit AudioMixer(AudioMixerOptions o = {});
  ~AudioMixer();

  AudioMixer(const AudioMixer&) = delete;
  AudioMixer& operator=(const AudioMixer&) = delete;

  // A participant's Opus track (48 kHz; channels as recorded, 1 or 2). Returns
  // its id. invalid_argument for other channel counts; internal if libopus
  // fails to create the decoder (or the mixer's encoder).
  Result<uint32_t> add_source(uint32_t channels);

  // One Opus packet of a source at its room-timeline time (ms), in pts order.
  // `data` may be empty (DTX / absent: 20 ms of silence). Unknown or ended
  // sources are ignored.
  void push(uint32_t source, const uint8_t* data, size_t n, uint64_t pts_ms);

  // The source has ended: its pushed packets still play, then it is silent
  // (no concealment after its last packet).
  void end_source(uint32_t source);

  // Output frames start at `start_ms`: pts = start + 20*k. Effective only
  // before the first output frame; without it, the start is the earliest pts
  // pushed before the first mix (or the first mix_until's time).
  void set_start(uint64_t start_ms);

  // Mixes and encodes every complete 20 ms output frame ending at or before
  // `until_ms`. Every live source must have been pushed up to there.
  void mix_until(uint64_t until_ms, std::vector<EncodedAudio>& out);

  // Mixes the rest up to `end_ms` (exclusive; a last partial frame is padded
  // with silence, so the output is exactly ceil((end - start) / 20) frames)
  // and ends the mixer: later calls do nothing.
  void finish(uint64_t end_ms, std::vector<EncodedAudio>& out);

  // The encoder's lookahead in 48 kHz samples, for the OpusHead.
  uint16_t pre_skip() const;

  struct Stats {
    uint64_t frames_out = 0, plc_frames = 0, fec_frames = 0, silence_frames = 0, clipped_samples = 0;
  };
  Stats stats() const;

 private:
  struct Source;

  void mix_frame(int valid, std::vector<EncodedAudio>& out);  // `valid` samples of it before the end
  void limit(float* lr, size_t frames);
  void fix_start(uint64_t fallback_ms);

  AudioMixerOptions opt_;
  std::unique_ptr<OpusEncoder, void (*)(OpusEncoder*)> enc_;
  Status enc_status_;
  uint16_t pre_skip_ = 312;
  float gain_ = 1.0f;
  std::vector<std::unique_ptr<Source>> sources_;

  bool started_ = false;      // the first frame was mixed: the start is fixed
  bool have_start_ = false;   // set_start was called
  uint64_t start_ms_ = 0;
  uint64_t earliest_pts_ = UINT64_MAX;  // earliest pts pushed (default start)
  uint64_t mix_pos_ = 0;      // next output sample (absolute, 48 kHz)
  bool finished_ = false;

  float limiter_gain_ = 1.0f;
  std::vector<float> mix_;      // one frame, interleaved stereo
  std::vector<float> pcm_out_;  // one frame, mono output
  std::vector<float> scratch_;  // decoder output, 120 ms stereo
  std::vector<uint8_t> packet_;
  Stats stats_;
};

}  // namespace roomrec::convert
