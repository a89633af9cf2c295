// The audio mixer on real Opus: tones encoded with libopus, the mix decoded
// with libopus and measured (Goertzel, RMS, onset times).
#include <doctest/doctest.h>

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "../media_synth.h"
#include "convert/audio_mixer.h"

using namespace roomrec;
using namespace roomrec::convert;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000ull;  // a unix-ms room start
using Packets = std::vector<std::vector<uint8_t>>;

struct EncodeSetup {
  int channels = 2;
  int application = OPUS_APPLICATION_AUDIO;
  int bitrate = 64000;
  bool fec = false;  // in-band FEC (needs SILK / hybrid: voice signal, lower rate)
};

// 20 ms packets of wave(t) in [-1, 1] (float, so 1.0 is full scale).
Packets encode_float(double seconds, const std::function<double(double)>& wave, EncodeSetup s = {}) {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, s.channels, s.application, &err);
  REQUIRE(err == OPUS_OK);
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(s.bitrate));
  if (s.fec) {
    opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(20));
    opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
  }
  Packets out;
  std::vector<float> pcm(960 * static_cast<size_t>(s.channels));
  int frames = static_cast<int>(std::lround(seconds * 50));
  for (int f = 0; f < frames; ++f) {
    for (int i = 0; i < 960; ++i) {
      float v = static_cast<float>(wave((f * 960 + i) / 48000.0));
      for (int c = 0; c < s.channels; ++c) pcm[static_cast<size_t>(i * s.channels + c)] = v;
    }
    uint8_t buf[1500];
    int n = opus_encode_float(enc, pcm.data(), 960, buf, sizeof buf);
    REQUIRE(n > 0);
    out.emplace_back(buf, buf + n);
  }
  opus_encoder_destroy(enc);
  return out;
}

Packets tone(double seconds, double hz, double amp = 1.0, EncodeSetup s = {}) {
  return encode_float(seconds, [=](double t) { return amp * std::sin(2 * M_PI * hz * t); }, s);
}

// The mixer's output decoded: interleaved stereo, pre_skip removed, so sample
// i is at start + i / 48 ms. Checks the pts run start + 20*k with no gap.
struct Decoded {
  std::vector<float> lr;
  size_t frames() const { return lr.size() / 2; }
  std::vector<float> channel(int c) const {
    std::vector<float> x(frames());
    for (size_t i = 0; i < x.size(); ++i) x[i] = lr[2 * i + static_cast<size_t>(c)];
    return x;
  }
};

Decoded decode_mix(const std::vector<EncodedAudio>& out, uint64_t start_ms, uint16_t pre_skip, int channels = 2) {
  int err = 0;
  OpusDecoder* dec = opus_decoder_create(48000, 2, &err);
  REQUIRE(err == OPUS_OK);
  Decoded d;
  std::vector<float> buf(5760 * 2);
  for (size_t k = 0; k < out.size(); ++k) {
    REQUIRE(out[k].pts_ms == start_ms + 20 * k);
    CHECK(out[k].duration_ms == 20);
    REQUIRE(!out[k].data.empty());
    if (channels == 1) CHECK(opus_packet_get_nb_channels(out[k].data.data()) == 1);
    int n = opus_decode_float(dec, out[k].data.data(), static_cast<opus_int32>(out[k].data.size()), buf.data(),
                              5760, 0);
    REQUIRE(n == 960);
    d.lr.insert(d.lr.end(), buf.begin(), buf.begin() + 2 * n);
  }
  opus_decoder_destroy(dec);
  d.lr.erase(d.lr.begin(), d.lr.begin() + std::min<size_t>(d.lr.size(), 2u * pre_skip));
  return d;
}

size_t at(double seconds) { return static_cast<size_t>(std::lround(seconds * 48000)); }

double rms(const std::vector<float>& x, double from_s, double to_s) {
  size_t a = std::min(at(from_s), x.size()), b = std::min(at(to_s), x.size());
  if (b <= a) return 0;
  double sum = 0;
  for (size_t i = a; i < b; ++i) sum += double(x[i]) * x[i];
  return std::sqrt(sum / double(b - a));
}

// Goertzel: amplitude of `hz` in x[from, to) (1.0 for a full-scale sine at hz).
double goertzel(const std::vector<float>& x, double from_s, double to_s, double hz) {
  size_t a = at(from_s), b = std::min(at(to_s), x.size());
  double w = 2 * M_PI * hz / 48000, coeff = 2 * std::cos(w), s1 = 0, s2 = 0;
  for (size_t i = a; i < b; ++i) {
    double s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 2 * std::sqrt(std::max(0.0, power)) / double(b - a);
}

// First time (s) from `from_s` at which a 1 ms window's RMS exceeds `level`; -1 if none.
double onset(const std::vector<float>& x, double from_s, double level) {
  for (size_t i = at(from_s); i + 48 <= x.size(); i += 12) {
    double sum = 0;
    for (size_t j = i; j < i + 48; ++j) sum += double(x[j]) * x[j];
    if (std::sqrt(sum / 48) > level) return double(i) / 48000;
  }
  return -1;
}

// A source decoded alone, as a receiver would: PLC for lost packets, or the
// next packet's FEC for a lost packet when `fec` (channel 0, source timeline).
std::vector<float> reference_decode(const Packets& p, const std::vector<bool>& lost, bool fec) {
  int err = 0;
  OpusDecoder* dec = opus_decoder_create(48000, 2, &err);
  REQUIRE(err == OPUS_OK);
  std::vector<float> buf(5760 * 2), x;
  for (size_t i = 0; i < p.size(); ++i) {
    int n;
    if (!lost[i])
      n = opus_decode_float(dec, p[i].data(), static_cast<opus_int32>(p[i].size()), buf.data(), 5760, 0);
    else if (fec && i + 1 < p.size() && !lost[i + 1])
      n = opus_decode_float(dec, p[i + 1].data(), static_cast<opus_int32>(p[i + 1].size()), buf.data(), 960, 1);
    else
      n = opus_decode_float(dec, nullptr, 0, buf.data(), 960, 0);
    REQUIRE(n == 960);
    for (int k = 0; k < n; ++k) x.push_back(buf[2 * static_cast<size_t>(k)]);
  }
  opus_decoder_destroy(dec);
  return x;
}

// The LBRR flag of a 20 ms SILK or hybrid packet (the first bits of its SILK
// frame: VAD, LBRR for the mid channel, then the same for the side channel).
bool lbrr_flag(const std::vector<uint8_t>& p) {
  if (p.size() < 2 || (p[0] & 0x80) || (p[0] & 0x03) != 0) return false;  // CELT, or not one frame
  if (opus_packet_get_samples_per_frame(p.data(), 48000) != 960) return false;
  bool lbrr = (p[1] >> 6) & 1;
  if (p[0] & 0x04) lbrr = lbrr || ((p[1] >> 4) & 1);
  return lbrr;
}

// Feeds sources packet by packet, interleaved in time, calling mix_until with
// a time every source has reached. Like the Composer (which mixes 1.5 s
// behind its input), it pushes `lead_ms` ahead of what it mixes, so the packet
// after a loss is there for its FEC.
struct Feed {
  uint32_t id;
  const Packets* packets;
  uint64_t first_pts;
  std::vector<bool> lost;  // per packet: not pushed
  size_t next = 0;
  bool end_after = true;
};

void run_feeds(AudioMixer& m, std::vector<Feed>& feeds, std::vector<EncodedAudio>& out, uint64_t step_ms = 100,
               uint64_t lead_ms = 40) {
  uint64_t t = UINT64_MAX;
  for (auto& f : feeds) t = std::min(t, f.first_pts);
  for (;; t += step_ms) {
    bool any = false;
    for (auto& f : feeds) {
      while (f.next < f.packets->size() && f.first_pts + 20 * f.next < t + step_ms + lead_ms) {
        if (f.lost.empty() || !f.lost[f.next]) {
          const auto& p = (*f.packets)[f.next];
          m.push(f.id, p.data(), p.size(), f.first_pts + 20 * f.next);
        }
        ++f.next;
      }
      if (f.next == f.packets->size()) {
        if (f.end_after) m.end_source(f.id);
      } else {
        any = true;
      }
    }
    m.mix_until(t + step_ms, out);
    if (!any) break;
  }
}

}  // namespace

TEST_CASE("AudioMixer: two full-scale tones mix without clipping, both audible") {
  AudioMixer m;
  m.set_start(kT0);
  auto a = tone(2.0, 440), b = tone(2.0, 660);
  auto sa = m.add_source(2), sb = m.add_source(2);
  REQUIRE(sa.is_ok());
  REQUIRE(sb.is_ok());
  CHECK(*sa != *sb);
  std::vector<Feed> feeds{{*sa, &a, kT0, {}}, {*sb, &b, kT0, {}}};
  std::vector<EncodedAudio> out;
  run_feeds(m, feeds, out);
  m.finish(kT0 + 2000, out);
  REQUIRE(out.size() == 100);
  CHECK(m.pre_skip() == 312);
  auto d = decode_mix(out, kT0, m.pre_skip());
  for (int c = 0; c < 2; ++c) {
    auto x = d.channel(c);
    double g440 = goertzel(x, 0.2, 1.8, 440), g660 = goertzel(x, 0.2, 1.8, 660),
           g1000 = goertzel(x, 0.2, 1.8, 1000);
    INFO("channel " << c << ": 440 " << g440 << ", 660 " << g660 << ", 1000 " << g1000);
    CHECK(g440 > 0.2);
    CHECK(g660 > 0.2);
    CHECK(g440 > 30 * g1000);
    CHECK(g660 > 30 * g1000);
    CHECK(g440 == doctest::Approx(g660).epsilon(0.2));
    // Sum of two unit tones: RMS 1.0; -3 dB headroom: 0.71; the limiter holds
    // the peak (2 * 0.71) at ~0.89: ~0.45.
    double r = rms(x, 0.2, 1.8);
    INFO("rms " << r);
    CHECK(r > 0.35);
    CHECK(r < 0.6);
    size_t near_full = 0;
    float peak = 0;
    for (float v : x) {
      peak = std::max(peak, std::fabs(v));
      if (std::fabs(v) >= 0.999f) ++near_full;
    }
    INFO("peak " << peak);
    CHECK(near_full <= 4);
    CHECK(peak < 1.0f);
  }
  auto st = m.stats();
  CHECK(st.frames_out == 100);
  CHECK(st.clipped_samples == 0);
  CHECK(st.plc_frames == 0);
  CHECK(st.fec_frames == 0);
  CHECK(st.silence_frames == 0);
}

TEST_CASE("AudioMixer: a source joining at 1 s and leaving at 2 s of a 3 s mix") {
  AudioMixer m;
  m.set_start(kT0);
  std::vector<EncodedAudio> out;
  // Nobody there for the first second (the Composer still mixes: silence),
  // then the source is added, as the Composer does when its track starts.
  m.mix_until(kT0 + 500, out);
  m.mix_until(kT0 + 1000, out);
  CHECK(out.size() == 50);
  auto a = tone(1.0, 440, 0.5);
  auto s = m.add_source(2);
  REQUIRE(s.is_ok());
  std::vector<Feed> feeds{{*s, &a, kT0 + 1000, {}}};
  run_feeds(m, feeds, out);
  m.mix_until(kT0 + 2500, out);
  m.finish(kT0 + 3000, out);
  REQUIRE(out.size() == 150);  // exactly 3 s of 20 ms frames
  CHECK(out.back().pts_ms == kT0 + 2980);
  auto d = decode_mix(out, kT0, m.pre_skip());
  auto x = d.channel(0);
  double before = rms(x, 0.0, 0.99), during = rms(x, 1.05, 1.95), after = rms(x, 2.05, 2.99);
  INFO("before " << before << ", during " << during << ", after " << after);
  CHECK(before < 1e-3);
  CHECK(after < 1e-3);
  // 0.5 amplitude tone: RMS 0.354, -3 dB: 0.25 (below the limiter threshold).
  CHECK(during == doctest::Approx(0.25).epsilon(0.15));
  CHECK(goertzel(x, 1.05, 1.95, 440) > 20 * goertzel(x, 1.05, 1.95, 1000));
  auto st = m.stats();
  CHECK(st.plc_frames == 0);  // no concealment before the join or after the leave
  CHECK(st.silence_frames == 0);
  // After finish nothing more comes out.
  m.mix_until(kT0 + 5000, out);
  m.finish(kT0 + 5000, out);
  CHECK(out.size() == 150);
}

TEST_CASE("AudioMixer: 10% packet loss is concealed, the output stays continuous") {
  AudioMixer m;
  m.set_start(kT0);
  auto a = tone(3.0, 440, 0.5), b = tone(3.0, 660, 0.5);
  auto sa = m.add_source(2), sb = m.add_source(2);
  REQUIRE(sa.is_ok());
  REQUIRE(sb.is_ok());
  std::vector<Feed> feeds{{*sa, &a, kT0, {}}, {*sb, &b, kT0, {}}};
  feeds[1].lost.assign(b.size(), false);
  size_t lost = 0;
  uint32_t rnd = 12345;
  for (size_t i = 5; i + 1 < b.size(); ++i) {
    rnd = rnd * 1103515245u + 12345u;
    if ((rnd >> 16) % 10 == 0) {
      feeds[1].lost[i] = true;
      ++lost;
    }
  }
  REQUIRE(lost > 5);
  std::vector<EncodedAudio> out;
  run_feeds(m, feeds, out, 100, 0);  // strictly: nothing pushed past what is mixed
  m.finish(kT0 + 3000, out);
  REQUIRE(out.size() == 150);
  auto d = decode_mix(out, kT0, m.pre_skip());  // checks pts: no gap
  auto st = m.stats();
  INFO("lost " << lost << ", plc " << st.plc_frames << ", fec " << st.fec_frames);
  CHECK(st.plc_frames + st.fec_frames == lost);
  CHECK(st.plc_frames > 0);
  CHECK(st.silence_frames == 0);
  // No dropout: every 20 ms window of the lossy tone has what a receiver
  // concealing the same losses has (times the -3 dB headroom).
  auto x = d.channel(0);
  auto ref = reference_decode(b, feeds[1].lost, false);
  double gain = std::pow(10.0, -3.0 / 20), full = goertzel(x, 0.2, 2.8, 660);
  CHECK(full == doctest::Approx(0.5 * gain).epsilon(0.1));
  for (double t = 0.1; t + 0.02 < 2.95; t += 0.02) {
    double g = goertzel(x, t, t + 0.02, 660), r = gain * goertzel(ref, t, t + 0.02, 660);
    INFO("window at " << t << ": " << g << " vs reference " << r);
    CHECK(std::fabs(g - r) < 0.1 * full);
  }
  CHECK(goertzel(x, 0.2, 2.8, 440) > 0.1);
}

TEST_CASE("AudioMixer: a lost packet is rebuilt from the next packet's FEC") {
  AudioMixer m;
  m.set_start(kT0);
  EncodeSetup voice;
  voice.application = OPUS_APPLICATION_VOIP;
  voice.bitrate = 24000;
  voice.fec = true;
  // Speech-like: a 200 Hz tone with a slow tremolo.
  auto a = encode_float(2.0, [](double t) { return 0.4 * std::sin(2 * M_PI * 200 * t) * (0.7 + 0.3 * std::sin(2 * M_PI * 3 * t)); },
                        voice);
  auto s = m.add_source(2);
  REQUIRE(s.is_ok());
  // Lose packets whose successor carries LBRR (the encoder sends it while
  // its VAD hears voice), and one whose successor has none.
  std::vector<Feed> feeds{{*s, &a, kT0, {}}};
  feeds[0].lost.assign(a.size(), false);
  size_t with_fec = 0, without = 0;
  for (size_t i = 10; i + 1 < a.size(); ++i) {
    if (i > 10 && (feeds[0].lost[i - 1] || feeds[0].lost[i - 2] || feeds[0].lost[i - 3])) continue;
    if ((a[i - 1][0] & 0x80) || (a[i][0] & 0x80)) continue;  // keep the decoder in SILK / hybrid
    if (lbrr_flag(a[i + 1]) && with_fec < 5) {
      feeds[0].lost[i] = true;
      ++with_fec;
      i += 8;
    } else if (!lbrr_flag(a[i + 1]) && without < 1) {
      feeds[0].lost[i] = true;
      ++without;
      i += 8;
    }
  }
  REQUIRE(with_fec >= 3);
  REQUIRE(without == 1);
  std::vector<EncodedAudio> out;
  run_feeds(m, feeds, out);
  m.finish(kT0 + 2000, out);
  REQUIRE(out.size() == 100);
  auto st = m.stats();
  INFO("plc " << st.plc_frames << ", fec " << st.fec_frames);
  CHECK(st.fec_frames == with_fec);
  CHECK(st.plc_frames == without);
  // The mix has what a receiver using the same FEC hears.
  auto x = decode_mix(out, kT0, m.pre_skip()).channel(0);
  auto ref = reference_decode(a, feeds[0].lost, true);
  double gain = std::pow(10.0, -3.0 / 20), full = goertzel(x, 0.2, 1.8, 200);
  for (size_t i = 0; i < a.size(); ++i) {
    if (!feeds[0].lost[i]) continue;
    double t = 0.02 * double(i);
    double g = goertzel(x, t, t + 0.02, 200), r = gain * goertzel(ref, t, t + 0.02, 200);
    INFO("lost packet " << i << ": " << g << " vs reference " << r << " (full " << full << ")");
    CHECK(std::fabs(g - r) < 0.15 * full);
  }
}

TEST_CASE("AudioMixer: a long gap is concealed for 100 ms, then silent; DTX is silence") {
  AudioMixer m;
  m.set_start(kT0);
  auto a = tone(3.0, 440, 0.5);
  auto s = m.add_source(2);
  REQUIRE(s.is_ok());
  std::vector<Feed> feeds{{*s, &a, kT0, {}}};
  feeds[0].lost.assign(a.size(), false);
  for (size_t i = 50; i < 65; ++i) feeds[0].lost[i] = true;  // 1.0 .. 1.3 s lost
  for (size_t i = 100; i < 120; ++i) feeds[0].lost[i] = true;  // and 2.0 .. 2.4 s
  std::vector<EncodedAudio> out;
  run_feeds(m, feeds, out);
  m.finish(kT0 + 3000, out);
  REQUIRE(out.size() == 150);
  auto st = m.stats();
  INFO("plc " << st.plc_frames << ", silence " << st.silence_frames);
  // Each gap: 100 ms of PLC (5 frames), then silence (10 and 15 frames).
  CHECK(st.plc_frames == 10);
  CHECK(st.silence_frames == 10 + 15);
  auto x = decode_mix(out, kT0, m.pre_skip()).channel(0);
  CHECK(rms(x, 1.15, 1.29) < 1e-3);
  CHECK(rms(x, 1.35, 1.95) > 0.2);

  // The same with explicit empty packets: silence at once, no PLC.
  AudioMixer m2;
  m2.set_start(kT0);
  auto s2 = m2.add_source(2);
  REQUIRE(s2.is_ok());
  std::vector<EncodedAudio> out2;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i >= 50 && i < 65)
      m2.push(*s2, nullptr, 0, kT0 + 20 * i);
    else
      m2.push(*s2, a[i].data(), a[i].size(), kT0 + 20 * i);
    if (i % 10 == 9) m2.mix_until(kT0 + 20 * (i + 1), out2);
  }
  m2.end_source(*s2);
  m2.finish(kT0 + 3000, out2);
  REQUIRE(out2.size() == 150);
  auto st2 = m2.stats();
  CHECK(st2.plc_frames == 0);
  CHECK(st2.silence_frames == 15);
  auto x2 = decode_mix(out2, kT0, m2.pre_skip()).channel(0);
  CHECK(rms(x2, 1.02, 1.29) < 1e-3);
  CHECK(rms(x2, 1.35, 2.9) > 0.2);
}

TEST_CASE("AudioMixer: a beep comes out at its time, with sample accuracy") {
  auto beep_at = [](double start_s) {
    return [=](double t) { return (t >= start_s && t < start_s + 0.05) ? 0.5 * std::sin(2 * M_PI * 1000 * t) : 0.0; };
  };
  AudioMixer m;
  m.set_start(kT0);
  auto a = encode_float(2.0, beep_at(1.0));
  // A second source whose packets are 13 ms off the 20 ms grid, its beep at
  // 0.5 s of its own stream: 0.513 s on the room timeline.
  auto b = encode_float(1.5, beep_at(0.5));
  auto sa = m.add_source(2), sb = m.add_source(2);
  REQUIRE(sa.is_ok());
  REQUIRE(sb.is_ok());
  std::vector<Feed> feeds{{*sa, &a, kT0, {}}, {*sb, &b, kT0 + 13, {}}};
  std::vector<EncodedAudio> out;
  run_feeds(m, feeds, out);
  m.finish(kT0 + 2000, out);
  REQUIRE(out.size() == 100);
  auto x = decode_mix(out, kT0, m.pre_skip()).channel(0);
  // Each source's own encoder delays its audio by its lookahead (6.5 ms), as
  // a browser's does; the mix's own delay is removed by pre_skip.
  double lookahead = 312.0 / 48000;
  double t1 = onset(x, 0.8, 0.05), t2 = onset(x, 0.3, 0.05);
  INFO("onsets " << t1 << " " << t2);
  CHECK(t1 == doctest::Approx(1.0).epsilon(0.010));
  CHECK(std::fabs(t1 - (1.0 + lookahead)) < 0.002);
  CHECK(std::fabs(t2 - (0.513 + lookahead)) < 0.002);
  CHECK(rms(x, 1.01, 1.05) > 0.15);
  CHECK(rms(x, 1.08, 1.5) < 0.01);
  CHECK(rms(x, 0.1, 0.5) < 0.01);
}

TEST_CASE("AudioMixer: a mono source is on both channels; mono output") {
  auto a = roomrec::testing::encode_opus(1.0, 440, 1);  // 8000/32768 amplitude
  for (uint32_t out_channels : {2u, 1u}) {
    CAPTURE(out_channels);
    AudioMixerOptions o;
    o.channels = out_channels;
    o.bitrate = 48000;
    AudioMixer m(o);
    m.set_start(kT0);
    auto s = m.add_source(1);
    REQUIRE(s.is_ok());
    std::vector<Feed> feeds{{*s, &a, kT0, {}}};
    std::vector<EncodedAudio> out;
    run_feeds(m, feeds, out);
    m.finish(kT0 + 1000, out);
    REQUIRE(out.size() == 50);
    auto d = decode_mix(out, kT0, m.pre_skip(), static_cast<int>(out_channels));
    double expected = 8000.0 / 32768 / std::sqrt(2.0) * std::pow(10.0, -3.0 / 20);
    for (int c = 0; c < 2; ++c) {
      auto x = d.channel(c);
      CHECK(rms(x, 0.1, 0.9) == doctest::Approx(expected).epsilon(0.15));
      CHECK(goertzel(x, 0.1, 0.9, 440) > 20 * goertzel(x, 0.1, 0.9, 1000));
    }
  }
}

TEST_CASE("AudioMixer: jittered and stale packets; lazy start; bad arguments") {
  SUBCASE("bad channel counts") {
    AudioMixer m;
    CHECK(m.add_source(0).status().code() == ErrorCode::invalid_argument);
    CHECK(m.add_source(3).status().code() == ErrorCode::invalid_argument);
    CHECK(m.add_source(1).is_ok());
    // Unknown sources are ignored.
    uint8_t junk[3] = {1, 2, 3};
    m.push(99, junk, sizeof junk, kT0);
    m.end_source(99);
  }
  SUBCASE("bytes that are not Opus are lost packets") {
    AudioMixer m;
    m.set_start(kT0);
    auto a = tone(1.0, 440, 0.5);
    auto s = m.add_source(2);
    REQUIRE(s.is_ok());
    std::vector<EncodedAudio> out;
    std::vector<uint8_t> junk(200);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 37 + 11);
    junk[0] = 0xFF;  // code 3 with a bad frame count
    for (size_t i = 0; i < a.size(); ++i) {
      if (i == 20)
        m.push(*s, junk.data(), junk.size(), kT0 + 20 * i);
      else
        m.push(*s, a[i].data(), a[i].size(), kT0 + 20 * i);
    }
    m.end_source(*s);
    m.finish(kT0 + 1000, out);
    REQUIRE(out.size() == 50);
    CHECK(m.stats().plc_frames + m.stats().fec_frames == 1);
    decode_mix(out, kT0, m.pre_skip());
  }
  SUBCASE("packets up to 19 ms early go at the write position; much older ones are dropped") {
    AudioMixer m;
    m.set_start(kT0);
    auto a = tone(1.0, 440, 0.5);
    auto s = m.add_source(2);
    REQUIRE(s.is_ok());
    std::vector<EncodedAudio> out;
    for (size_t i = 0; i < a.size(); ++i) {
      uint64_t pts = kT0 + 20 * i;
      if (i % 3 == 1) pts -= 7;  // early: overlaps the previous packet by 7 ms
      m.push(*s, a[i].data(), a[i].size(), pts);
      if (i == 30) m.push(*s, a[0].data(), a[0].size(), kT0 + 100);  // stale: dropped
    }
    m.end_source(*s);
    m.finish(kT0 + 1000, out);
    REQUIRE(out.size() == 50);
    auto st = m.stats();
    CHECK(st.plc_frames == 0);
    auto x = decode_mix(out, kT0, m.pre_skip()).channel(0);
    for (double t = 0.05; t + 0.02 < 0.95; t += 0.02) CHECK(goertzel(x, t, t + 0.02, 440) > 0.15);
  }
  SUBCASE("without set_start, the output starts at the earliest pts") {
    AudioMixer m;
    auto a = tone(0.4, 440, 0.5);
    auto s = m.add_source(2);
    REQUIRE(s.is_ok());
    std::vector<EncodedAudio> out;
    for (size_t i = 0; i < a.size(); ++i) m.push(*s, a[i].data(), a[i].size(), kT0 + 40 + 20 * i);
    m.end_source(*s);
    m.mix_until(kT0 + 200, out);
    CHECK(out.size() == 8);
    m.finish(kT0 + 440, out);
    REQUIRE(out.size() == 20);
    CHECK(out.front().pts_ms == kT0 + 40);
    decode_mix(out, kT0 + 40, m.pre_skip());
  }
  SUBCASE("a partial last frame") {
    AudioMixer m;
    m.set_start(kT0);
    std::vector<EncodedAudio> out;
    m.finish(kT0 + 1010, out);
    CHECK(out.size() == 51);
    CHECK(m.stats().frames_out == 51);
  }
}
