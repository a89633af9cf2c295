// make_participant_files(): per peer, two passes over its sessions (in the
// order they started). The first runs only the video through FrameAssembler
// to learn the codecs and key-frame sizes, which decides remux or re-encode
// and the file's video track. The second assembles audio and video frames on
// the room's timeline (sender reports place them, as in the transmuxer) and
// writes them interleaved by time once they are 2.5 s behind the newest row
// (the assemblers' reorder window has settled by then), filling the audio
// with silent Opus frames so it stays continuous, and re-encoding through a
// one-source VideoCompositor when the sessions' video cannot be joined as is.
#include <roomrec/log.h>
#include <roomrec/participants.h>

#include <opus/opus.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "convert/output_http.h"
#include "convert/sender_reports.h"
#include "convert/video_compositor.h"
#include "media/frame_assembler.h"
#include "media/video_decoder.h"
#include "media/webm_writer.h"
#include "read/session_reader.h"
#include "rtp/depacketizer.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"
#include "util/text.h"
#include "util/utf8.h"

namespace roomrec {
namespace fs = std::filesystem;

namespace {

constexpr const char* kComponent = "participants";
constexpr uint64_t kFrameMs = 20;        // one Opus silence frame
constexpr uint64_t kSettleMs = 2500;     // a frame this far behind the newest row is final
constexpr uint32_t kReencodeFps = 15;
constexpr uint64_t kBlackEndMs = 66;     // the closing black frame, this far before the room's end
constexpr uint32_t kMixRate = 16000;     // the multichannel WAV
constexpr uint64_t kMaxWavData = 0xFFFFFFFFull - 64;

Status invalid(std::string m) { return Status::error(ErrorCode::invalid_argument, std::move(m)); }

std::string safe_name(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '_';
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

std::string local_folder(const std::string& output) {
  return output.rfind("file://", 0) == 0 ? output.substr(7) : output;
}

struct OpusEncoderDeleter {
  void operator()(OpusEncoder* e) const { opus_encoder_destroy(e); }
};
struct OpusDecoderDeleter {
  void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// One 20 ms Opus frame of digital silence for `channels` channels (what a
// steady encoder makes of zeros: a few bytes, decoded as silence).
Result<std::vector<uint8_t>> opus_silence(uint32_t channels) {
  int err = 0;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> enc(
      opus_encoder_create(48000, channels == 1 ? 1 : 2, OPUS_APPLICATION_AUDIO, &err));
  if (err != OPUS_OK || !enc) return Status::error(ErrorCode::internal, "cannot create an Opus encoder");
  std::vector<opus_int16> zeros(960 * 2, 0);
  std::vector<uint8_t> out(1500);
  int n = 0;
  for (int i = 0; i < 5; ++i) {  // past the encoder's start-up
    n = opus_encode(enc.get(), zeros.data(), 960, out.data(), static_cast<opus_int32>(out.size()));
    if (n <= 0) return Status::error(ErrorCode::internal, "cannot encode an Opus silence frame");
  }
  out.resize(static_cast<size_t>(n));
  return out;
}

// The sessions of one peer, and what the first pass found of their video.
struct PeerSessions {
  std::string peer;
  std::vector<const SessionRef*> sessions;  // by start
};

struct VideoProbe {
  std::set<std::string> codecs;
  std::set<std::pair<uint32_t, uint32_t>> sizes;  // key-frame sizes
  std::string codec;                              // of the first frame
  std::vector<uint8_t> codec_private;             // h264 avcC / av1C of the first session
  uint64_t frames = 0;
  uint32_t audio_channels = 0;                    // of the first Opus track
};

// The tracks of one session a participant file is made of: its first video
// track and its first Opus track (others are reported, not joined).
struct TrackChoice {
  uint32_t audio = 0, video = 0;  // 0: none chosen yet
};

bool choose(const SessionReader& reader, uint32_t id, TrackChoice& c, TrackKind& kind) {
  const TrackInfo* info = reader.track(id);
  if (!info) return false;
  kind = info->kind;
  if (info->kind == TrackKind::video) {
    if (!c.video) c.video = id;
    return c.video == id;
  }
  std::string codec = util::ascii_lowercase(info->codec);
  if (codec != "opus" && codec != "red") return false;
  if (!c.audio) c.audio = id;
  return c.audio == id;
}

std::string size_text(uint32_t w, uint32_t h) { return std::to_string(w) + "x" + std::to_string(h); }

// A mono 16-bit PCM stream at kMixRate kept in an anonymous temporary file.
struct PcmChannel {
  std::unique_ptr<FILE, FileCloser> file;
  uint64_t samples = 0;
};

Status write_wav(const std::string& path, std::vector<PcmChannel>& channels, uint64_t samples) {
  const uint32_t n = static_cast<uint32_t>(channels.size());
  const uint64_t data = samples * n * 2;
  if (data > kMaxWavData)
    return invalid("participants.multichannel: " + std::to_string(n) + " channels of " +
                   std::to_string(samples / kMixRate) + " s exceed a WAV file's 4 GiB");
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) return Status::error(ErrorCode::io, "cannot write " + path);
  std::string h;
  auto u16 = [&](uint32_t v) { h += static_cast<char>(v & 0xff), h += static_cast<char>((v >> 8) & 0xff); };
  auto u32 = [&](uint32_t v) { u16(v & 0xffff), u16(v >> 16); };
  const bool extensible = n > 2;  // WAVE_FORMAT_EXTENSIBLE: more than two channels, no speaker positions
  const uint32_t fmt_size = extensible ? 40 : 16;
  h += "RIFF";
  u32(static_cast<uint32_t>(4 + 8 + fmt_size + 8 + data));
  h += "WAVEfmt ";
  u32(fmt_size);
  u16(extensible ? 0xFFFE : 1);
  u16(n);
  u32(kMixRate);
  u32(kMixRate * n * 2);
  u16(n * 2);
  u16(16);
  if (extensible) {
    u16(22);
    u16(16);  // valid bits
    u32(0);   // channel mask: none (one channel per speaker, not loudspeaker positions)
    // KSDATAFORMAT_SUBTYPE_PCM {00000001-0000-0010-8000-00aa00389b71}
    static const unsigned char guid[16] = {1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71};
    h.append(reinterpret_cast<const char*>(guid), 16);
  }
  h += "data";
  u32(static_cast<uint32_t>(data));
  if (std::fwrite(h.data(), 1, h.size(), f.get()) != h.size()) return Status::error(ErrorCode::io, "cannot write " + path);
  for (auto& c : channels) std::rewind(c.file.get());
  constexpr size_t kBlock = 4096;
  std::vector<int16_t> in(kBlock), out(kBlock * n);
  for (uint64_t done = 0; done < samples;) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(kBlock, samples - done));
    for (uint32_t c = 0; c < n; ++c) {
      size_t got = std::fread(in.data(), 2, k, channels[c].file.get());
      std::fill(in.begin() + static_cast<std::ptrdiff_t>(got), in.begin() + static_cast<std::ptrdiff_t>(k), 0);
      for (size_t i = 0; i < k; ++i) out[i * n + c] = in[i];
    }
    if (std::fwrite(out.data(), 2, k * n, f.get()) != k * n) return Status::error(ErrorCode::io, "cannot write " + path);
    done += k;
  }
  if (std::fclose(f.release()) != 0) return Status::error(ErrorCode::io, "cannot write " + path);
  return Status::ok();
}

class Participants {
 public:
  Participants(RecordingSource& src, const ParticipantsOptions& opt) : src_(src), opt_(opt) {}

  ~Participants() {
    if (staging_ && !dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  Result<ParticipantsResult> run() {
    std::error_code ec;
    if (util::is_http_uri(opt_.output)) {
      auto uri = s3::S3Uri::parse(opt_.output);
      if (!uri) return uri.status().with_context("participants.output");
      result_.output = uri->to_string();  // the secret redacted
      s3_ = std::make_unique<s3::S3Client>(uri.value(), s3::S3ClientOptions{output_http_options(opt_)});
      const std::string base = temp_base();
      std::string tmpl = base + "/roomrec-participants-XXXXXX";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      if (!::mkdtemp(buf.data())) return Status::error(ErrorCode::io, "cannot create a temporary folder in " + base);
      dir_ = buf.data();
      staging_ = true;
    } else {
      dir_ = local_folder(opt_.output);
      fs::create_directories(dir_, ec);
      if (ec) return Status::error(ErrorCode::io, "cannot create " + dir_ + ": " + ec.message());
    }
    auto listing = src_.list();
    if (!listing) return listing.status();
    for (auto& p : listing->problems) result_.problems.push_back(p);
    uint64_t start = UINT64_MAX, end = 0;
    std::map<std::string, PeerSessions> peers;
    for (const SessionRef& s : listing->sessions) {
      if (s.chunks.empty()) continue;
      start = std::min(start, s.chunks.front().key.from_ts);
      end = std::max(end, s.chunks.back().key.to_ts);
      auto& p = peers[s.peer];
      p.peer = s.peer;
      p.sessions.push_back(&s);
    }
    if (start == UINT64_MAX || end <= start) return Status::error(ErrorCode::not_found, "the recording has no media span");
    start_ = start;
    end_ = end;
    if (!s3_) result_.output = opt_.output;
    result_.start_ms = start;
    result_.end_ms = end;
    auto stereo = opus_silence(2), mono = opus_silence(1);
    if (!stereo) return stereo.status();
    if (!mono) return mono.status();
    silence_stereo_ = std::move(stereo.value());
    silence_mono_ = std::move(mono.value());
    total_ms_ = (end - start) * peers.size();

    // Peers are independent: several at once (each on its own thread), the results kept in peer order.
    std::vector<PeerSessions*> order;
    for (auto& [name, p] : peers) {
      std::sort(p.sessions.begin(), p.sessions.end(), [](const SessionRef* a, const SessionRef* b) {
        return std::make_pair(a->chunks.front().key.from_ts, a->session) <
               std::make_pair(b->chunks.front().key.from_ts, b->session);
      });
      order.push_back(&p);
    }
    std::vector<PcmChannel> mix(opt_.multichannel ? order.size() : 0);
    for (auto& pcm : mix) {
      pcm.file.reset(temp_file());
      if (!pcm.file) return Status::error(ErrorCode::io, "cannot create a temporary file for the multichannel mix");
    }
    std::vector<std::vector<ParticipantFile>> made(order.size());
    unsigned threads = opt_.threads ? opt_.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(order.size())));
    std::atomic<size_t> next{0};
    Status first_error;
    auto worker = [&] {
      for (size_t i; (i = next.fetch_add(1)) < order.size();) {
        {
          std::lock_guard lock(mu_);
          if (!first_error.is_ok()) return;
        }
        Status st;
        try {  // a pool thread must not end the process: the job fails instead
          st = peer(*order[i], opt_.multichannel ? &mix[i] : nullptr, made[i]);
        } catch (const std::exception& e) {
          st = Status::error(ErrorCode::internal, "internal error: " + util::printable_text(e.what(), 200));
        }
        std::lock_guard lock(mu_);
        if (!st) {
          if (first_error.is_ok()) first_error = st.with_context(order[i]->peer);
          stop_ = true;
          return;
        }
        done_ms_ += end - start;
        if (opt_.progress) opt_.progress(done_ms_, total_ms_);
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (!first_error.is_ok()) return first_error;
    for (size_t i = 0; i < order.size(); ++i) {
      for (auto& f : made[i]) result_.files.push_back(std::move(f));
      if (opt_.multichannel) result_.channels.push_back(order[i]->peer);
    }
    if (opt_.multichannel && !mix.empty()) {
      ParticipantFile f;
      f.kind = "multichannel";
      f.path = "speakers-multichannel.wav";
      f.uri = dir_ + "/" + f.path;
      f.audio = "pcm";
      f.duration_ms = end - start;
      Status s = write_wav(f.uri, mix, (end - start) * kMixRate / 1000);
      if (!s) return s;
      if (Status st = store(f, "audio/wav"); !st) return st;
      result_.files.push_back(std::move(f));
    }
    std::string text = result_.to_json(2);
    std::string path = dir_ + "/participants.json";
    std::unique_ptr<FILE, FileCloser> jf(std::fopen(path.c_str(), "wb"));
    if (!jf || std::fwrite(text.data(), 1, text.size(), jf.get()) != text.size() || std::fclose(jf.release()) != 0)
      return Status::error(ErrorCode::io, "cannot write " + path);
    ParticipantFile summary;
    summary.path = "participants.json";
    if (Status st = store(summary, "application/json"); !st) return st;
    return std::move(result_);
  }

 private:
  // A finished file of the output folder: its size, and for S3 its upload (uri becomes the key).
  Status store(ParticipantFile& f, const char* content_type) {
    const std::string path = dir_ + "/" + f.path;
    std::error_code ec;
    f.bytes = fs::file_size(path, ec);
    if (ec) return Status::error(ErrorCode::io, "cannot size " + path + ": " + ec.message());
    f.uri = path;
    if (!s3_) return Status::ok();
    auto src = file_source(path);
    if (!src) return src.status();
    const std::string key = s3_->uri().key(f.path);
    {
      std::lock_guard lock(s3_mu_);  // one S3 client, shared by the peer threads
      if (Status s = s3_->put(key, *src.value(), f.bytes, content_type); !s)
        return s.with_context("uploading " + f.path);
    }
    src.value().reset();
    fs::remove(path, ec);
    f.uri = key;
    return Status::ok();
  }

  std::string temp_base() const {
    const char* tmp = std::getenv("TMPDIR");
    return !opt_.temp_dir.empty() ? opt_.temp_dir : (tmp && *tmp ? tmp : "/tmp");
  }

  // An anonymous temporary file in temp_dir (or $TMPDIR, /tmp): removed from the folder at once.
  FILE* temp_file() const {
    std::string tmpl = temp_base() + "/roomrec-mix-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = ::mkstemp(buf.data());
    if (fd < 0) return nullptr;
    ::unlink(buf.data());
    FILE* f = ::fdopen(fd, "w+b");
    if (!f) ::close(fd);
    return f;
  }

  bool cancelled() const { return (opt_.cancel && opt_.cancel->load()) || stop_.load(); }
  Status cancel_status() const {
    return stop_ ? Status::error(ErrorCode::cancelled, "stopped: another participant failed")
                 : Status::error(ErrorCode::cancelled, "participant files cancelled");
  }

  void note(std::string p) {
    std::lock_guard lock(mu_);
    for (auto& q : result_.problems)
      if (q == p) return;
    result_.problems.push_back(std::move(p));
  }

  // Pass 1: the codecs and key-frame sizes of the peer's video (no decoding).
  Result<VideoProbe> probe(const PeerSessions& p) {
    VideoProbe v;
    for (const SessionRef* ref : p.sessions) {
      SessionReader reader(src_, *ref);
      TrackChoice choice;
      std::unique_ptr<media::FrameAssembler> video;
      bool first_session_video = v.frames == 0;
      auto drain = [&] {
        media::AssembledFrame f;
        while (video->pop(f)) {
          if (f.frame.keyframe && f.frame.width && f.frame.height) v.sizes.insert({f.frame.width, f.frame.height});
          if (v.frames == 0) v.codec = video->depacketizer().codec();
          v.frames++;
        }
        if (first_session_video && v.codec_private.empty() && video->seen_keyframe())
          v.codec_private = video->depacketizer().codec_private();
      };
      Row row;
      while (reader.next(row)) {
        if (cancelled()) return cancel_status();
        if (row.kind != RowKind::rtp) continue;
        TrackKind kind;
        if (!choose(reader, row.track_id, choice, kind)) continue;
        if (kind == TrackKind::audio) {
          if (!v.audio_channels) v.audio_channels = reader.track(row.track_id)->channels ? reader.track(row.track_id)->channels : 2;
          continue;
        }
        if (!video) {
          const TrackInfo* info = reader.track(row.track_id);
          auto dep = rtp::make_depacketizer(util::ascii_lowercase(info->codec), info->fmtp);
          if (!dep) {
            note("unsupported video codec \"" + info->codec + "\" of " + ref->peer + "/" + std::to_string(ref->session) +
                 ": not in its participant file");
            choice.video = UINT32_MAX;  // nothing else chosen either
            continue;
          }
          v.codecs.insert(dep->codec());
          video = std::make_unique<media::FrameAssembler>(std::move(dep), info->clock_rate ? info->clock_rate : 90000,
                                                          TrackKind::video);
        }
        video->push(row.payload.data(), row.payload.size(), row.ts);
        drain();
      }
      if (video) {
        video->flush();
        drain();
      }
      for (auto& [id, info] : reader.tracks())
        if (id != choice.audio && id != choice.video && (info.kind == TrackKind::video ||
                                                          util::ascii_lowercase(info.codec) == "opus"))
          note("track " + info.name + " of " + ref->peer + "/" + std::to_string(ref->session) +
               ": only the first audio and video track of a session go into its participant file");
    }
    return v;
  }

  // Pass 2 state for one peer's file.
  struct Out {
    std::unique_ptr<media::WebmWriter> av, audio;  // audio: the per-speaker file
    uint64_t av_audio = 0, av_video = 0, audio_track = 0;
    std::string av_name, audio_name;
    const std::vector<uint8_t>* silence = nullptr;
    uint64_t next_audio_ms = 0;   // relative: where the next audio frame goes
    uint64_t last_video_ms = 0;
    bool video_written = false;
    bool need_keyframe = true;    // remux: at the start of every session's video
    bool black_end = false;       // remux: a black key frame was made (black)
    std::vector<uint8_t> black;
    // re-encode
    bool reencode = false;
    std::unique_ptr<convert::VideoCompositor> compositor;
    uint32_t source = 0;
    std::unique_ptr<media::VideoDecoder> decoder;
    // multichannel
    PcmChannel* pcm = nullptr;
    std::unique_ptr<OpusDecoder, OpusDecoderDeleter> pcm_decoder;
    std::vector<int16_t> pcm_buf = std::vector<int16_t>(5760);
    ParticipantFile file, audio_file;
  };

  Status write_audio_frame(Out& o, const uint8_t* data, size_t n, bool silence) {
    const uint64_t ns = o.next_audio_ms * 1'000'000ull;
    if (Status s = o.av->write_frame(o.av_audio, data, n, ns, true); !s) return s.with_context(o.av_name);
    if (o.audio)
      if (Status s = o.audio->write_frame(o.audio_track, data, n, ns, true); !s) return s.with_context(o.audio_name);
    int samples = opus_packet_get_nb_samples(data, static_cast<opus_int32>(n), 48000);
    uint64_t dur = samples > 0 ? static_cast<uint64_t>(samples) / 48 : kFrameMs;
    if (o.pcm) {
      int got = opus_decode(o.pcm_decoder.get(), data, static_cast<opus_int32>(n), o.pcm_buf.data(), 5760 / 3, 0);
      const uint64_t want = dur * kMixRate / 1000;
      if (got < 0) got = 0;
      std::fill(o.pcm_buf.begin() + got, o.pcm_buf.begin() + static_cast<std::ptrdiff_t>(want), 0);
      if (std::fwrite(o.pcm_buf.data(), 2, want, o.pcm->file.get()) != want)
        return Status::error(ErrorCode::io, "cannot write the multichannel mix's temporary file");
      o.pcm->samples += want;
    }
    o.next_audio_ms += dur;
    (silence ? o.file.silence_frames : o.file.audio_frames)++;
    return Status::ok();
  }

  // Silence frames until the audio reaches `rel_ms` (to the nearest 20 ms).
  Status fill_audio(Out& o, uint64_t rel_ms) {
    while (o.next_audio_ms + kFrameMs / 2 <= rel_ms && o.next_audio_ms < end_ - start_) {
      Status s = write_audio_frame(o, o.silence->data(), o.silence->size(), true);
      if (!s) return s;
    }
    return Status::ok();
  }

  Status audio_frame(Out& o, uint64_t pts, const std::vector<uint8_t>& data) {
    uint64_t rel = pts > start_ ? pts - start_ : 0;
    if (rel >= end_ - start_) return Status::ok();
    if (rel + kFrameMs < o.next_audio_ms) return Status::ok();  // overlaps audio already written (sessions overlapping)
    if (Status s = advance_video(o, pts); !s) return s;
    if (Status s = fill_audio(o, rel); !s) return s;
    return write_audio_frame(o, data.data(), data.size(), false);
  }

  Status write_video(Out& o, uint64_t rel, const uint8_t* data, size_t n, bool key) {
    if (Status s = fill_audio(o, rel); !s) return s;
    if (o.video_written && rel <= o.last_video_ms) rel = o.last_video_ms + 1;
    Status s = o.av->write_frame(o.av_video, data, n, rel * 1'000'000ull, key);
    if (!s) return s.with_context(o.av_name);
    o.last_video_ms = rel;
    o.video_written = true;
    o.file.video_frames++;
    return Status::ok();
  }

  // Re-encode: output frames up to just before `pts` (every picture before it is pushed).
  Status advance_video(Out& o, uint64_t pts) {
    if (!o.reencode || pts <= start_) return Status::ok();
    std::vector<convert::EncodedVideo> out;
    if (Status s = o.compositor->render_until(std::min(pts, end_) - 1, out); !s) return s;
    for (auto& e : out)
      if (Status s = write_video(o, e.pts_ms - start_, e.data.data(), e.data.size(), e.keyframe); !s) return s;
    return Status::ok();
  }

  Status video_frame(Out& o, const media::AssembledFrame& f) {
    uint64_t rel = f.pts_ms > start_ ? f.pts_ms - start_ : 0;
    if (rel >= end_ - start_) return Status::ok();
    if (o.reencode) {
      if (Status s = advance_video(o, f.pts_ms); !s) return s;
      if (!o.decoder) return Status::ok();
      media::I420Frame pic;
      if (o.decoder->decode(f.frame.data.data(), f.frame.data.size(), f.frame.keyframe, pic))
        o.compositor->push(o.source, pic, std::max(f.pts_ms, start_));
      return Status::ok();
    }
    if (o.video_written && rel < o.last_video_ms) {
      o.need_keyframe = true;  // overlaps video already written: wait for a key frame after it
      return Status::ok();
    }
    if (o.need_keyframe && !f.frame.keyframe) return Status::ok();
    o.need_keyframe = false;
    if (f.frame.width && f.frame.height) o.av->note_video_size(o.av_video, f.frame.width, f.frame.height);
    return write_video(o, rel, f.frame.data.data(), f.frame.data.size(), f.frame.keyframe);
  }

  Status open_files(const PeerSessions& p, const VideoProbe& v, Out& o) {
    const bool has_video = v.frames > 0;
    o.reencode = has_video && (v.codecs.size() > 1 || v.sizes.size() > 1);
    const bool h264 = has_video && !o.reencode && v.codec == "h264";
    o.av_name = safe_name(p.peer) + (h264 ? ".mkv" : ".webm");
    auto w = media::WebmWriter::create(dir_ + "/" + o.av_name, h264 ? media::Container::mkv : media::Container::webm);
    if (!w) return w.status();
    o.av = std::move(w.value());
    o.av->set_date_utc_ms(start_);
    const uint32_t channels = v.audio_channels == 1 ? 1 : 2;
    o.silence = channels == 1 ? &silence_mono_ : &silence_stereo_;
    media::AudioTrackParams ap;
    ap.channels = channels;
    auto at = o.av->add_audio_track(ap);
    if (!at) return at.status().with_context(o.av_name);
    o.av_audio = *at;
    o.file.kind = "av";
    o.file.peer = p.peer;
    o.file.path = o.av_name;
    for (auto* s : p.sessions) o.file.sessions.push_back(s->session);
    if (has_video) {
      uint32_t width = 0, height = 0;
      for (auto [sw, sh] : v.sizes) width = std::max(width, sw), height = std::max(height, sh);
      media::VideoTrackParams vp;
      if (o.reencode) {
        std::string reason;
        if (v.codecs.size() > 1) {
          reason = "codecs differ:";
          for (auto& c : v.codecs) reason += " " + c;
        }
        if (v.sizes.size() > 1) {
          reason += reason.empty() ? "sizes differ:" : "; sizes differ:";
          for (auto [sw, sh] : v.sizes) reason += " " + size_text(sw, sh);
        }
        width += width & 1;
        height += height & 1;
        convert::CompositorOptions co;
        co.width = width;
        co.height = height;
        co.fps = kReencodeFps;
        co.codec = "vp8";
        co.bitrate = std::clamp<uint32_t>(width * height * 3, 200'000, 6'000'000);
        co.threads = 1;
        co.keyframe_interval_frames = kReencodeFps * 10;
        co.hold_ms = UINT64_MAX / 4;  // a gap shows the last picture however long it is
        o.compositor = std::make_unique<convert::VideoCompositor>(co);
        if (Status s = o.compositor->init(); !s) return s;
        o.source = o.compositor->add_source(p.peer);
        o.compositor->set_start(start_);
        vp.codec = "vp8";
        o.file.video = "reencoded";
        o.file.video_reason = reason;
      } else {
        vp.codec = v.codec;
        vp.codec_private = v.codec_private;
        o.file.video = "remuxed";
      }
      vp.width = width;
      vp.height = height;
      o.file.video_codec = vp.codec;
      o.file.width = width;
      o.file.height = height;
      auto vt = o.av->add_video_track(vp);
      if (!vt) return vt.status().with_context(o.av_name);
      o.av_video = *vt;
      if (!o.reencode) {
        Status s = black_lead_in(p, o, v.codec, width, height);
        if (!s) return s;
      }
    }
    if (opt_.speaker_audio) {
      o.audio_name = safe_name(p.peer) + "-audio.webm";
      auto aw = media::WebmWriter::create(dir_ + "/" + o.audio_name, media::Container::webm);
      if (!aw) return aw.status();
      o.audio = std::move(aw.value());
      o.audio->set_date_utc_ms(start_);
      auto t = o.audio->add_audio_track(ap);
      if (!t) return t.status().with_context(o.audio_name);
      o.audio_track = *t;
      o.audio_file.kind = "audio";
      o.audio_file.peer = p.peer;
      o.audio_file.path = o.audio_name;
      o.audio_file.sessions = o.file.sessions;
    }
    if (o.pcm) {
      int err = 0;
      o.pcm_decoder.reset(opus_decoder_create(kMixRate, 1, &err));
      if (err != OPUS_OK || !o.pcm_decoder) return Status::error(ErrorCode::internal, "cannot create an Opus decoder");
    }
    return Status::ok();
  }

  // Remux: the time before the first frame shows one black key frame of the
  // stream's codec and size, at 0 (the first real frame replaces it).
  Status black_lead_in(const PeerSessions& p, Out& o, const std::string& codec, uint32_t width, uint32_t height) {
    o.need_keyframe = true;
    if (width < 2 || height < 2) {
      note("participant " + p.peer + ": the video's size is not known from its key frames: no black lead-in");
      return Status::ok();
    }
    if (codec != "vp8" && codec != "vp9") {
      note("participant " + p.peer + ": " + codec + " video starts at its first frame (no black lead-in for " + codec +
           ")");
      return Status::ok();
    }
    convert::CompositorOptions co;
    co.width = width;
    co.height = height;
    co.codec = codec;
    co.threads = 1;
    co.fps = 1;
    co.bitrate = 100'000;
    convert::VideoCompositor black(co);
    black.set_start(0);
    std::vector<convert::EncodedVideo> out;
    if (Status s = black.finish(0, out); !s) return s.with_context("black frame");
    if (out.empty() || !out.front().keyframe)
      return Status::error(ErrorCode::internal, "the encoder made no black key frame");
    // First in the file, before any audio: the frames after it keep their times.
    o.black = std::move(out.front().data);
    o.black_end = true;
    return write_video(o, 0, o.black.data(), o.black.size(), true);
  }

  // One peer's files (made: what was written); runs on a pool thread.
  Status peer(const PeerSessions& p, PcmChannel* pcm, std::vector<ParticipantFile>& made) {
    auto v = probe(p);
    if (!v) return v.status();
    Out o;
    o.pcm = pcm;
    if (Status s = open_files(p, *v, o); !s) return s;
    bool any_audio = false;
    for (const SessionRef* ref : p.sessions) {
      SessionReader reader(src_, *ref);
      const auto sender_reports = convert::first_sender_reports(src_, *ref);
      TrackChoice choice;
      std::unique_ptr<media::FrameAssembler> audio, video;
      bool audio_placed = false, video_placed = false;
      std::deque<media::AssembledFrame> aq, vq;
      o.need_keyframe = true;
      if (o.reencode) o.decoder.reset();
      if (o.pcm_decoder) opus_decoder_ctl(o.pcm_decoder.get(), OPUS_RESET_STATE);
      // Writes the queued frames with pts <= until, in time order (audio first on a tie).
      auto emit = [&](uint64_t until) -> Status {
        for (;;) {
          const bool a = !aq.empty() && aq.front().pts_ms <= until;
          const bool vv = !vq.empty() && vq.front().pts_ms <= until;
          if (!a && !vv) return Status::ok();
          if (a && (!vv || aq.front().pts_ms <= vq.front().pts_ms)) {
            if (Status s = audio_frame(o, aq.front().pts_ms, aq.front().frame.data); !s) return s;
            aq.pop_front();
          } else {
            if (Status s = video_frame(o, vq.front()); !s) return s;
            vq.pop_front();
          }
        }
      };
      auto drain = [&] {
        media::AssembledFrame f;
        if (audio)
          while (audio->pop(f)) aq.push_back(std::move(f));
        if (video)
          while (video->pop(f)) vq.push_back(std::move(f));
      };
      Row row;
      bool paused = false;
      uint64_t paused_at = 0, last_row = 0;
      while (reader.next(row)) {
        if (cancelled()) return cancel_status();
        last_row = std::max(last_row, row.ts);
        // The session's pause state as of this row (its Pause/Resume rows, or a chunk header
        // saying the chunk started paused when the chunk with the Pause row is missing).
        if (reader.session_paused() != paused) {
          if (!paused) paused_at = row.ts;
          else o.file.pauses.push_back({paused_at, row.ts});
          paused = !paused;
        }
        if (row.kind != RowKind::rtp) continue;
        TrackKind kind;
        if (!choose(reader, row.track_id, choice, kind)) continue;
        auto& asm_ = kind == TrackKind::audio ? audio : video;
        bool& placed = kind == TrackKind::audio ? audio_placed : video_placed;
        if (!asm_) {
          const TrackInfo* info = reader.track(row.track_id);
          auto dep = rtp::make_depacketizer(util::ascii_lowercase(info->codec), info->fmtp);
          if (!dep) {
            if (kind == TrackKind::video) choice.video = UINT32_MAX;
            else choice.audio = UINT32_MAX;
            continue;
          }
          if (kind == TrackKind::video && o.reencode) {
            auto d = media::VideoDecoder::create(dep->codec(), dep->codec_private());
            if (d) o.decoder = std::move(d.value());
            else note("participant " + p.peer + ": cannot decode " + dep->codec() + ": " + d.status().message());
          }
          asm_ = std::make_unique<media::FrameAssembler>(
              std::move(dep), info->clock_rate ? info->clock_rate : (kind == TrackKind::audio ? 48000 : 90000), kind);
        }
        if (!placed) {
          placed = true;
          auto sr = sender_reports.find(media::rtp_ssrc(row.payload.data(), row.payload.size()));
          if (sr != sender_reports.end()) asm_->sender_report(sr->second.rtp_ts, sr->second.ntp_unix_ms);
        }
        asm_->push(row.payload.data(), row.payload.size(), row.ts);
        if (kind == TrackKind::video && o.decoder && o.decoder->codec() == std::string("h264"))
          o.decoder->set_codec_private(video->depacketizer().codec_private());
        drain();
        if (row.ts > kSettleMs)
          if (Status s = emit(row.ts - kSettleMs); !s) return s;
      }
      if (paused) o.file.pauses.push_back({paused_at, std::max(paused_at, last_row)});  // left while paused
      if (audio) audio->flush();
      if (video) video->flush();
      drain();
      if (Status s = emit(UINT64_MAX); !s) return s;
      any_audio = any_audio || audio != nullptr;
      for (auto& prob : reader.problems()) note(prob);
    }
    // To the room's end: the last picture held (re-encode), silence.
    if (o.reencode) {
      std::vector<convert::EncodedVideo> out;
      if (Status s = o.compositor->finish(end_ - 1, out); !s) return s;
      for (auto& e : out)
        if (Status s = write_video(o, e.pts_ms - start_, e.data.data(), e.data.size(), e.keyframe); !s) return s;
    }
    if (!o.reencode && o.black_end && o.video_written && o.last_video_ms + 2 * kBlackEndMs < end_ - start_) {
      // Remux: the last frame is held from the leave; a black key frame one
      // frame before the room's end makes the video track last as long as the room.
      const uint64_t at = end_ - start_ - kBlackEndMs;
      if (Status s = write_video(o, at, o.black.data(), o.black.size(), true); !s) return s;
    }
    if (Status s = fill_audio(o, end_ - start_); !s) return s;
    if (o.next_audio_ms == 0)  // a room shorter than one frame
      if (Status s = write_audio_frame(o, o.silence->data(), o.silence->size(), true); !s) return s;
    o.file.audio = any_audio ? "remuxed" : "silence";
    o.file.duration_ms = end_ - start_;
    if (Status s = o.av->finish(); !s) return s.with_context(o.av_name);
    if (Status s = store(o.file, o.av_name.size() > 4 && o.av_name.substr(o.av_name.size() - 4) == ".mkv"
                                     ? "video/x-matroska"
                                     : (o.file.video == "none" ? "audio/webm" : "video/webm"));
        !s)
      return s;
    log_message(LogLevel::info, kComponent,
                "wrote " + o.av_name + " (video " + o.file.video + ", " + std::to_string(o.file.audio_frames) +
                    " audio frames, " + std::to_string(o.file.silence_frames) + " silence frames)");
    made.push_back(o.file);
    if (o.audio) {
      if (Status s = o.audio->finish(); !s) return s.with_context(o.audio_name);
      o.audio_file.audio = o.file.audio;
      o.audio_file.audio_frames = o.file.audio_frames;
      o.audio_file.silence_frames = o.file.silence_frames;
      o.audio_file.duration_ms = o.file.duration_ms;
      o.audio_file.pauses = o.file.pauses;
      if (Status s = store(o.audio_file, "audio/webm"); !s) return s;
      made.push_back(o.audio_file);
    }
    if (o.pcm) {
      // Exactly the room's samples: the frames may end up to one frame past it.
      const uint64_t want = (end_ - start_) * kMixRate / 1000;
      std::vector<int16_t> zeros(4096, 0);
      while (o.pcm->samples < want) {
        size_t k = static_cast<size_t>(std::min<uint64_t>(zeros.size(), want - o.pcm->samples));
        if (std::fwrite(zeros.data(), 2, k, o.pcm->file.get()) != k)
          return Status::error(ErrorCode::io, "cannot write the multichannel mix's temporary file");
        o.pcm->samples += k;
      }
      if (std::fflush(o.pcm->file.get()) != 0)
        return Status::error(ErrorCode::io, "cannot write the multichannel mix's temporary file");
    }
    return Status::ok();
  }

  RecordingSource& src_;
  const ParticipantsOptions& opt_;
  std::string dir_;
  uint64_t start_ = 0, end_ = 0;
  uint64_t total_ms_ = 0, done_ms_ = 0;
  bool staging_ = false;                 // dir_ is a temporary folder for an S3 output
  std::unique_ptr<s3::S3Client> s3_;
  std::vector<uint8_t> silence_stereo_, silence_mono_;
  std::mutex mu_;       // result_.problems, progress, the first error across peer threads
  std::mutex s3_mu_;
  std::atomic<bool> stop_{false};
  ParticipantsResult result_;
};

}  // namespace

Status validate(const ParticipantsOptions& o) {
  if (o.threads > 256) return invalid("participants.threads must be 0..256 (0: one per core)");
  if (!o.output.empty()) {
    if (util::is_http_uri(o.output)) {
      auto uri = s3::S3Uri::parse(o.output);
      if (!uri) return uri.status().with_context("participants.output");
      if (uri->presigned)
        return invalid("participants.output must be an S3 URI with credentials or a folder, not a presigned URL");
      return Status::ok();
    }
    auto scheme_end = o.output.find("://");
    if (scheme_end != std::string::npos && o.output.rfind("file://", 0) != 0 && o.output.find('/') > scheme_end)
      return invalid("participants.output: unsupported URI scheme '" + o.output.substr(0, scheme_end) +
                     "' (use http(s):// for S3, file:// or a path for a local folder)");
  }
  return Status::ok();
}

Result<ParticipantsResult> make_participant_files(RecordingSource& source, const ParticipantsOptions& options) {
  if (options.output.empty()) return invalid("participants needs an output (a folder or an S3 URI)");
  if (Status s = validate(options); !s) return s;
  Participants p(source, options);
  return p.run();
}

std::string ParticipantsResult::to_json(int indent) const {
  using nlohmann::ordered_json;
  ordered_json fs_j = ordered_json::array();
  for (const auto& f : files) {
    ordered_json j;
    j["path"] = f.path;
    j["uri"] = f.uri;
    j["kind"] = f.kind;
    j["peer"] = f.kind == "multichannel" ? ordered_json(nullptr) : ordered_json(f.peer);
    j["sessions"] = f.sessions;
    j["video"] = f.video;
    j["video_reason"] = f.video_reason;
    j["video_codec"] = f.video_codec;
    j["width"] = f.width;
    j["height"] = f.height;
    j["audio"] = f.audio;
    j["audio_frames"] = f.audio_frames;
    j["silence_frames"] = f.silence_frames;
    j["video_frames"] = f.video_frames;
    ordered_json pauses = ordered_json::array();
    for (const auto& p : f.pauses) pauses.push_back({{"start", p.start_ms}, {"end", p.end_ms}});
    j["pauses"] = std::move(pauses);
    j["duration_ms"] = f.duration_ms;
    j["bytes"] = f.bytes;
    fs_j.push_back(std::move(j));
  }
  ordered_json ch = ordered_json::array();
  for (size_t i = 0; i < channels.size(); ++i) ch.push_back({{"channel", i}, {"peer", channels[i]}});
  ordered_json j;
  j["output"] = output;
  j["start"] = start_ms;
  j["end"] = end_ms;
  j["duration_ms"] = end_ms - start_ms;
  j["files"] = std::move(fs_j);
  j["channels"] = std::move(ch);
  j["problems"] = problems;
  return j.dump(indent, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace roomrec
