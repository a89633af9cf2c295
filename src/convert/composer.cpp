#include <roomrec/composer.h>
#include <roomrec/log.h>
#include <roomrec/speakers.h>
#include <roomrec/thumbnails.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "util/text.h"
#include "convert/audio_mixer.h"
#include "convert/layout.h"
#include "convert/output_http.h"
#include "convert/sender_reports.h"
#include "convert/video_compositor.h"
#include "media/frame_assembler.h"
#include "media/video_decoder.h"
#include "media/aac_encoder.h"
#include "media/mp4_writer.h"
#include "media/webm_writer.h"
#include "read/room_reader.h"
#include "rtp/depacketizer.h"
#include "rtp/rtp_packet.h"
#include "s3/http_client.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"

namespace roomrec {
namespace fs = std::filesystem;

namespace {

constexpr const char* kComponent = "compose";
// Frames leave a FrameAssembler up to its reorder window after they arrive;
// mixing and rendering stay this far behind the newest row.
constexpr uint64_t kSafetyMs = 1500;
constexpr uint64_t kStepMs = 200;
// Sanity bounds (issue 21 item 6): the longest room composed, how far a row's
// time may stray from the span the chunk names give, and the media time
// produced between two cancellation checks.
constexpr uint64_t kMaxRoomSpanMs = 7ull * 24 * 3600 * 1000;
constexpr uint64_t kRowSlackMs = 60'000;
constexpr uint64_t kProduceStepMs = 10'000;

enum class Target { local, s3, presigned };

struct Track {
  TrackKind kind = TrackKind::audio;
  std::unique_ptr<media::FrameAssembler> assembler;
  std::unique_ptr<media::VideoDecoder> decoder;
  uint32_t source = 0;  // in the mixer or the compositor
  bool ended = false;
  uint8_t cvo_id = 0;   // video-orientation extension id, 0: none
  bool placed = false;  // the sender report lookup was done at its first packet
  int rotation = 0;     // latest CVO rotation (degrees)
};

class Compose {
 public:
  Compose(RecordingSource& src, const ComposeOptions& opt) : src_(src), opt_(opt) {}

  Result<ComposeResult> run() {
    if (!opt_.audio && !opt_.video) return Status::error(ErrorCode::invalid_argument, "compose needs audio, video or both");
    Status s = resolve_output();
    if (!s) return s;
    auto listing = src_.list();
    if (!listing) return listing.status();
    for (auto& p : listing->problems) result_.problems.push_back(p);
    start_ = UINT64_MAX;
    for (auto& ss : listing->sessions)
      if (!ss.chunks.empty()) {
        start_ = std::min(start_, ss.chunks.front().key.from_ts);
        end_ = std::max(end_, ss.chunks.back().key.to_ts);
      }
    if (start_ == UINT64_MAX) return Status::error(ErrorCode::not_found, "the recording has no chunks");
    // Every chunk's span was bounded when listed; the room's is bounded here, before any loop over it.
    if (end_ - start_ > kMaxRoomSpanMs)
      return Status::error(ErrorCode::invalid_argument,
                           "the recording's chunk names span " + std::to_string((end_ - start_) / 3'600'000) +
                               " h (from " + std::to_string(start_) + " to " + std::to_string(end_) +
                               " ms); a room longer than " + std::to_string(kMaxRoomSpanMs / 3'600'000) +
                               " h is not composed");
    produced_ = start_;
    RoomReader reader(src_, std::move(listing.value()));

    if (opt_.audio) {
      convert::AudioMixerOptions ao;
      ao.bitrate = opt_.audio_bitrate;
      ao.pcm = aac_;  // AAC: the mixed PCM goes to FFmpeg's encoder instead of libopus
      mixer_ = std::make_unique<convert::AudioMixer>(ao);
      if (aac_) {
        auto enc = media::AacEncoder::create(2, opt_.audio_bitrate);
        if (!enc) return enc.status();
        aac_encoder_ = std::move(enc.value());
      }
      mixer_->set_start(start_);
    }
    if (opt_.video) {
      convert::CompositorOptions vo;
      vo.width = opt_.width;
      vo.height = opt_.height;
      vo.fps = opt_.fps;
      vo.codec = opt_.video_codec;
      vo.bitrate = opt_.video_bitrate;
      // Two threads or more: the encoder runs on its own thread (with the
      // rest as libvpx threads) while this one reads, decodes and lays out.
      vo.encode_thread = opt_.threads >= 2;
      vo.threads = opt_.threads >= 2 ? opt_.threads - 1 : 1;
      vo.keyframe_interval_frames = opt_.keyframe_interval_s * opt_.fps;
      vo.cpu_used = opt_.cpu_used;
      auto plan = convert::parse_layout(opt_.layout);
      if (!plan) return plan.status();
      vo.plan = std::move(plan.value());
      vo.names = opt_.names;
      vo.speaker_border = opt_.speaker_border;
      const bool follow_speaker = vo.plan.needs_speaker() || vo.speaker_border;
      compositor_ = std::make_unique<convert::VideoCompositor>(std::move(vo));
      s = compositor_->init();
      if (!s) return s;
      compositor_->set_start(start_);
      if (follow_speaker) {
        // The whole recording is at hand: who speaks when is known before the first frame.
        SpeakerOptions so;
        so.cancel = opt_.cancel;
        auto who = detect_speakers(src_, so);
        if (!who) {
          if (who.status().code() == ErrorCode::cancelled) return who.status();
          note("the active speaker is not known (" + who.status().message() + "): the first camera is shown as speaker");
        } else {
          compositor_->set_speaker_turns(
              convert::speaker_turns(who->peers, start_, opt_.speaker_hold_ms, opt_.speaker_lead_ms));
        }
      }
    }
    s = open_writer();
    if (!s) return s;

    RoomRow rr;
    uint64_t watermark = start_;
    while (reader.next(rr)) {
      if (opt_.cancel && opt_.cancel->load()) return Status::error(ErrorCode::cancelled, "compose cancelled");
      const Row& row = rr.row;
      // Row times come from the chunk's content: a row far outside the span
      // the chunk names give is not used (it would move the timeline there).
      if (row.ts + kRowSlackMs < start_ || row.ts > end_ + kRowSlackMs) {
        note("rows with times outside the recording's span (" + std::to_string(start_) + "-" + std::to_string(end_) +
             " ms) were skipped");
        continue;
      }
      auto key = std::make_pair(rr.session_index, row.track_id);
      switch (row.kind) {
        case RowKind::rtp: {
          Track* t = track_for(reader, rr.session_index, row.track_id);
          if (!t || !t->assembler) break;
          if (t->cvo_id) {
            rtp::RtpHeader h;
            const uint8_t* v;
            size_t n;
            if (rtp::parse_rtp(row.payload.data(), row.payload.size(), h) &&
                rtp::find_extension(row.payload.data(), h, t->cvo_id, &v, &n) && n >= 1)
              t->rotation = rtp::cvo_rotation(v[0]);
          }
          if (!t->placed) {
            t->placed = true;
            auto known = sender_reports_.find(rr.session_index);
            if (known == sender_reports_.end())
              known = sender_reports_
                          .emplace(rr.session_index,
                                   convert::first_sender_reports(src_, reader.session(rr.session_index)))
                          .first;
            const auto& srs = known->second;
            auto sr = srs.find(media::rtp_ssrc(row.payload.data(), row.payload.size()));
            if (sr != srs.end()) t->assembler->sender_report(sr->second.rtp_ts, sr->second.ntp_unix_ms);
          }
          t->assembler->push(row.payload.data(), row.payload.size(), row.ts);
          drain(*t);
          break;
        }
        case RowKind::track_started: {
          auto it = tracks_.find(key);
          if (it != tracks_.end()) end_track(it->second);
          tracks_.erase(key);
          track_for(reader, rr.session_index, row.track_id, &row.track);
          break;
        }
        case RowKind::track_stopped: {
          auto it = tracks_.find(key);
          if (it != tracks_.end()) end_track(it->second);
          break;
        }
        case RowKind::leave:
          for (auto& [k, t] : tracks_)
            if (k.first == rr.session_index) end_track(t);
          break;
        case RowKind::pause:
          // A paused peer leaves the mix and the grid now; its tracks start afresh after the resume.
          for (auto it = tracks_.begin(); it != tracks_.end();) {
            if (it->first.first == rr.session_index && (row.track_id == 0 || it->first.second == row.track_id)) {
              end_track(it->second);
              it = tracks_.erase(it);
            } else {
              ++it;
            }
          }
          break;
        default:
          break;
      }
      if (cut_) note_room_pause(reader, rr.session_index, row);
      if (row.ts >= watermark + kStepMs) {
        watermark = row.ts;
        if (watermark > start_ + kSafetyMs) {
          s = produce(out_time(watermark - kSafetyMs), false);
          if (!s) return s;
        }
        if (opt_.progress) opt_.progress(std::min(row.ts, end_) - start_, end_ - start_);
      }
    }
    for (auto& [k, t] : tracks_) end_track(t);
    if (room_paused_since_) {  // paused to the end: that time is cut too
      cuts_.emplace_back(*room_paused_since_, std::max(end_, *room_paused_since_));
      room_paused_since_.reset();
    }
    const uint64_t out_end = out_time(end_);
    s = produce(out_end, true);
    if (!s) return s;
    s = writer_ ? writer_->finish() : mp4_writer_->finish();
    if (!s) return s;
    writer_.reset();
    mp4_writer_.reset();
    result_.container = mp4_ ? "mp4" : "webm";
    for (auto& p : reader.problems())
      if (std::find(result_.problems.begin(), result_.problems.end(), p) == result_.problems.end())
        result_.problems.push_back(p);
    s = deliver();
    if (!s) return s;
    result_.duration_ms = out_end - start_;
    result_.paused_ms = end_ - out_end;
    if (opt_.progress) opt_.progress(end_ - start_, end_ - start_);
    return std::move(result_);
  }

  ~Compose() {
    if (target_ != Target::local && !local_path_.empty()) {
      std::error_code ec;
      fs::remove(local_path_, ec);
    }
  }

 private:
  Status resolve_output() {
    std::string_view out = opt_.output;
    if (util::is_http_uri(out)) {
      auto uri = s3::S3Uri::parse(out);
      if (!uri) return uri.status().with_context("compose.output");
      uri_ = uri.value();
      target_ = uri_.presigned ? Target::presigned : Target::s3;
      std::string base = opt_.temp_dir.empty() ? (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") : opt_.temp_dir;
      std::string tmpl = base + "/roomrec-compose-XXXXXX.webm";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      int fd = ::mkstemps(buf.data(), 5);
      if (fd < 0) return Status::error(ErrorCode::io, "cannot create a temporary file in " + base);
      ::close(fd);
      local_path_ = buf.data();
    } else {
      if (out.rfind("file://", 0) == 0) out.remove_prefix(7);
      local_path_ = std::string(out);
      std::error_code ec;
      auto parent = fs::path(local_path_).parent_path();
      if (!parent.empty()) fs::create_directories(parent, ec);
    }
    return Status::ok();
  }

  Status open_writer() {
    if (mp4_) {
      auto w = media::Mp4Writer::create(local_path_, media::Mp4Mode::faststart);
      if (!w) return w.status();
      mp4_writer_ = std::move(w.value());
      mp4_writer_->set_creation_time_ms(start_);  // the room's start: same recording, same bytes
      if (compositor_) {
        media::Mp4VideoParams p;
        p.codec = opt_.video_codec;
        p.width = opt_.width;
        p.height = opt_.height;
        p.codec_private = compositor_->codec_private();
        auto t = mp4_writer_->add_video_track(p);
        if (!t) return t.status();
        video_track_ = *t;
      }
      if (mixer_) {
        media::Mp4AudioParams p;
        p.channels = 2;
        if (aac_) {
          p.codec = "aac";
          p.codec_private = aac_encoder_->audio_specific_config();
          p.initial_padding = aac_encoder_->delay();
          p.frame_size = aac_encoder_->frame_size();
        } else {
          p.codec = "opus";
          p.initial_padding = mixer_->pre_skip();
        }
        auto t = mp4_writer_->add_audio_track(p);
        if (!t) return t.status();
        audio_track_ = *t;
      }
      return Status::ok();
    }
    auto w = media::WebmWriter::create(local_path_, media::Container::webm);
    if (!w) return w.status();
    writer_ = std::move(w.value());
    writer_->set_date_utc_ms(start_);  // the room's start: same recording, same bytes
    if (compositor_) {
      media::VideoTrackParams p;
      p.codec = opt_.video_codec;
      p.width = opt_.width;
      p.height = opt_.height;
      p.frame_rate = opt_.fps;
      auto t = writer_->add_video_track(p);
      if (!t) return t.status();
      video_track_ = *t;
    }
    if (mixer_) {
      media::AudioTrackParams p;
      p.channels = 2;
      p.pre_skip = mixer_->pre_skip();
      auto t = writer_->add_audio_track(p);
      if (!t) return t.status();
      audio_track_ = *t;
    }
    return Status::ok();
  }

  // AAC: the mixer's PCM frames become AAC packets (contiguous, 1024 samples
  // each, the first starting at the room's start: the encoder's priming is the
  // MP4's edit list). Packets not yet written stay ahead of the new ones.
  Status encode_aac(bool final) {
    std::vector<convert::EncodedAudio> out;
    for (auto& e : audio_out_) {
      if (e.pcm.empty()) {
        out.push_back(std::move(e));
        continue;
      }
      Status s = aac_encoder_->push(e.pcm.data(), e.pcm.size() / 2, aac_out_);
      if (!s) return s;
    }
    if (final) {
      Status s = aac_encoder_->finish(aac_out_);
      if (!s) return s;
    }
    for (auto& p : aac_out_) {
      convert::EncodedAudio e;
      e.data = std::move(p.data);
      const uint64_t us = p.index * aac_encoder_->frame_size() * 1'000'000ull / 48'000;
      e.pts_ms = start_ + us / 1000;
      e.pts_us = start_ * 1000 + us;
      out.push_back(std::move(e));
    }
    aac_out_.clear();
    audio_out_ = std::move(out);
    return Status::ok();
  }

  Track* track_for(RoomReader& reader, size_t session, uint32_t id, const TrackInfo* given = nullptr) {
    auto key = std::make_pair(session, id);
    auto it = tracks_.find(key);
    if (it != tracks_.end()) return it->second.ended ? nullptr : &it->second;
    const TrackInfo* info = given ? given : reader.session_reader(session).track(id);
    if (!info) return nullptr;
    Track t;
    t.kind = info->kind;
    t.cvo_id = info->cvo_extension_id;
    bool wanted = info->kind == TrackKind::audio ? mixer_ != nullptr : compositor_ != nullptr;
    if (wanted) {
      std::string codec = util::ascii_lowercase(info->codec);
      auto dep = rtp::make_depacketizer(codec, info->fmtp);
      if (!dep) {
        note("unsupported codec \"" + info->codec + "\" for track " + info->name + ": left out of the composition");
      } else if (info->kind == TrackKind::audio) {
        if (std::string(dep->codec()) != "opus") {
          note("audio codec " + info->codec + " cannot be mixed: left out");
        } else {
          auto src = mixer_->add_source(info->channels ? info->channels : 2);
          if (src) {
            t.source = *src;
            t.assembler = std::make_unique<media::FrameAssembler>(std::move(dep), 48000, TrackKind::audio);
          }
        }
      } else {
        auto dec = media::VideoDecoder::create(dep->codec(), dep->codec_private());
        if (!dec) {
          note(dec.status().message());
        } else {
          t.decoder = std::move(dec.value());
          const std::string& peer = reader.session(session).peer;
          const bool screen = convert::is_screen_track(info->name);
          t.source = compositor_->add_source(screen ? peer + " (screen)" : peer, peer, screen);
          t.assembler = std::make_unique<media::FrameAssembler>(std::move(dep), info->clock_rate, TrackKind::video);
        }
      }
    }
    return &tracks_.emplace(key, std::move(t)).first->second;
  }

  void drain(Track& t) {
    media::AssembledFrame f;
    while (t.assembler->pop(f)) {
      if (t.kind == TrackKind::audio) {
        mixer_->push(t.source, f.frame.data.data(), f.frame.data.size(), out_time(f.pts_ms));
        result_.source_frames++;
      } else {
        if (f.frame.keyframe) t.decoder->set_codec_private(t.assembler->depacketizer().codec_private());
        if (t.decoder->decode(f.frame.data.data(), f.frame.data.size(), f.frame.keyframe, picture_)) {
          compositor_->push(t.source, picture_, out_time(f.pts_ms), t.rotation);
          result_.source_frames++;
        }
      }
    }
  }

  // pause_mode "cut": the room is paused while somebody is present and every present session is
  // paused (as a whole, or all its open tracks). Called after each row. A session's state is taken
  // from its reader at its own rows only: the RoomReader has read one row ahead in every other
  // session (which may be the resume that ends its pause).
  void note_room_pause(RoomReader& reader, size_t session, const Row& row) {
    if (present_.size() < reader.session_count()) {
      present_.resize(reader.session_count(), false);
      session_paused_.resize(reader.session_count(), false);
    }
    const SessionReader& sr = reader.session_reader(session);
    bool paused = sr.session_paused();
    if (!paused) {
      bool open = false, every = true;
      for (const auto& [id, info] : sr.tracks())
        if (sr.track_open(id)) {
          open = true;
          every = every && sr.track_paused(id);
        }
      paused = open && every;
    }
    const bool present = row.kind != RowKind::leave;
    if (present == present_[session] && paused == session_paused_[session]) return;
    present_[session] = present;
    session_paused_[session] = paused;
    bool any = false, all = true;
    for (size_t i = 0; i < present_.size(); ++i)
      if (present_[i]) {
        any = true;
        all = all && session_paused_[i];
      }
    const bool room_paused = any && all;
    if (room_paused && !room_paused_since_) room_paused_since_ = row.ts;
    if (!room_paused && room_paused_since_) {
      if (row.ts > *room_paused_since_) cuts_.emplace_back(*room_paused_since_, row.ts);
      room_paused_since_.reset();
    }
  }

  // Output time of room time `ms`: the cut time before it taken out (the identity with pause_mode "keep").
  uint64_t out_time(uint64_t ms) const {
    uint64_t cut = 0;
    for (auto [a, b] : cuts_) {
      if (ms >= b) cut += b - a;
      else if (ms > a) cut += ms - a;
    }
    if (room_paused_since_ && ms > *room_paused_since_) cut += ms - *room_paused_since_;
    return ms - cut;
  }

  void end_track(Track& t) {
    if (t.ended) return;
    t.ended = true;
    if (!t.assembler) return;
    t.assembler->flush();
    drain(t);
    if (t.kind == TrackKind::audio)
      mixer_->end_source(t.source);
    else
      compositor_->end_source(t.source);
  }

  // Mixes/renders up to `until` and writes what is ready, interleaved by time.
  Status produce(uint64_t until, bool final) {
    // Catch up in steps of media time: each checks cancellation and writes what is ready.
    while (produced_ + kProduceStepMs < until) {
      if (opt_.cancel && opt_.cancel->load()) return Status::error(ErrorCode::cancelled, "compose cancelled");
      produced_ += kProduceStepMs;
      Status s = produce_to(produced_, false);
      if (!s) return s;
    }
    if (opt_.cancel && opt_.cancel->load()) return Status::error(ErrorCode::cancelled, "compose cancelled");
    produced_ = std::max(produced_, until);
    return produce_to(until, final);
  }

  Status produce_to(uint64_t until, bool final) {
    if (mixer_) {
      if (final)
        mixer_->finish(until, audio_out_);
      else
        mixer_->mix_until(until, audio_out_);
    }
    if (aac_) {
      Status s = encode_aac(final);
      if (!s) return s;
    }
    if (compositor_) {
      Status s = final ? compositor_->finish(until, video_out_) : compositor_->render_until(until, video_out_);
      if (!s) return s;
    }
    return write_ready(final);
  }

  Status write_ready(bool all) {
    size_t a = 0, v = 0;
    auto write = [&](uint64_t track, const std::vector<uint8_t>& data, uint64_t pts, bool key, uint64_t pts_us = 0) {
      uint64_t rel = pts > start_ ? pts - start_ : 0;
      if (writer_) return writer_->write_frame(track, data.data(), data.size(), rel * 1'000'000ull, key);
      const uint64_t rel_us = pts_us ? (pts_us > start_ * 1000 ? pts_us - start_ * 1000 : 0) : rel * 1000;
      return mp4_writer_->write_frame(static_cast<uint32_t>(track), data.data(), data.size(), rel_us, key);
    };
    for (;;) {
      bool have_a = a < audio_out_.size(), have_v = v < video_out_.size();
      if (!have_a && !have_v) break;
      // Without both kinds at hand, only write what cannot be overtaken.
      if (!all && mixer_ && compositor_ && (!have_a || !have_v)) break;
      bool take_v = have_v && (!have_a || video_out_[v].pts_ms <= audio_out_[a].pts_ms);
      Status s = take_v ? write(video_track_, video_out_[v].data, video_out_[v].pts_ms, video_out_[v].keyframe)
                        : write(audio_track_, audio_out_[a].data, audio_out_[a].pts_ms, true, audio_out_[a].pts_us);
      if (!s) return s;
      take_v ? ++v : ++a;
    }
    audio_out_.erase(audio_out_.begin(), audio_out_.begin() + static_cast<std::ptrdiff_t>(a));
    video_out_.erase(video_out_.begin(), video_out_.begin() + static_cast<std::ptrdiff_t>(v));
    return Status::ok();
  }

  // Thumbnails of the composed file (thumbnail_interval_s), made from the local file before it goes
  // anywhere: beside it ("{stem}-thumbnails/") for a local output; for an S3 output in a temporary folder,
  // then uploaded under "{object key stem}-thumbnails/" (JPEGs, sprite, .vtt: the .vtt names the sprite
  // relatively, so it works wherever the folder is served from) and the temporaries removed.
  Status make_thumbnails_of_output() {
    if (!opt_.thumbnail_interval_s || !opt_.video || result_.source_frames == 0) return Status::ok();
    auto stem_of = [](const std::string& p) {
      auto dot = p.rfind('.');
      auto slash = p.rfind('/');
      return dot != std::string::npos && (slash == std::string::npos || dot > slash) ? p.substr(0, dot) : p;
    };
    ThumbnailOptions to;
    to.interval_s = opt_.thumbnail_interval_s;
    to.cancel = opt_.cancel;
    to.name = fs::path(stem_of(target_ == Target::local ? local_path_ : uri_.prefix)).filename().string();
    to.output_dir = target_ == Target::local ? stem_of(local_path_) + "-thumbnails" : local_path_ + "-thumbnails";
    auto t = make_thumbnails(local_path_, to);
    if (!t) return t.status().with_context("compose thumbnails");
    result_.thumbnails = t->thumbnails.size();
    if (target_ == Target::local) {
      result_.thumbnails_vtt = t->vtt_path;
      return Status::ok();
    }
    struct RemoveDir {
      std::string dir;
      ~RemoveDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    } remove{to.output_dir};
    s3::S3Client client(uri_, s3::S3ClientOptions{output_http_options(opt_)});
    const std::string key_dir = stem_of(uri_.prefix) + "-thumbnails/";
    std::vector<std::string> files{t->sprite_path, t->vtt_path};
    for (const auto& th : t->thumbnails) files.push_back(th.path);
    for (const auto& path : files) {
      auto src = file_source(path);
      if (!src) return src.status();
      std::error_code ec;
      const uint64_t size = fs::file_size(path, ec);
      if (ec) return Status::error(ErrorCode::io, "cannot size " + path + ": " + ec.message());
      const bool vtt = path == t->vtt_path;
      Status s = client.put(key_dir + fs::path(path).filename().string(), *src.value(), size,
                            vtt ? "text/vtt" : "image/jpeg");
      if (!s) return s.with_context("uploading the thumbnails");
    }
    result_.thumbnails_vtt = key_dir + fs::path(t->vtt_path).filename().string();
    return Status::ok();
  }

  Status deliver() {
    std::error_code size_ec;
    result_.bytes = fs::file_size(local_path_, size_ec);
    if (size_ec) return Status::error(ErrorCode::io, "cannot size " + local_path_ + ": " + size_ec.message());
    if (Status s = make_thumbnails_of_output(); !s) return s;
    if (target_ == Target::local) {
      result_.media_uri = local_path_;
      return Status::ok();
    }
    if (target_ == Target::s3) {
      auto src = file_source(local_path_);
      if (!src) return src.status();
      s3::S3Client client(uri_, s3::S3ClientOptions{output_http_options(opt_)});
      Status s = client.put(uri_.prefix, *src.value(), result_.bytes, mp4_ ? "video/mp4" : "video/webm");
      if (!s) return s.with_context("uploading the composed file");
      result_.media_uri = uri_.prefix;
    } else {
      s3::HttpClient http(output_http_options(opt_));
      Status s = s3::put_presigned_file(http, uri_.presigned_url, local_path_);
      if (!s) return s.with_context("uploading the composed file");
      result_.media_uri = s3::strip_query(uri_.presigned_url);
    }
    return Status::ok();
  }

  void note(const std::string& p) {
    if (std::find(result_.problems.begin(), result_.problems.end(), p) == result_.problems.end()) {
      result_.problems.push_back(p);
      log_message(LogLevel::warn, kComponent, p);
    }
  }

  RecordingSource& src_;
  const ComposeOptions& opt_;
  Target target_ = Target::local;
  s3::S3Uri uri_;
  std::string local_path_;
  uint64_t start_ = 0, end_ = 0;
  uint64_t produced_ = 0;  // media time mixed and rendered up to
  std::unique_ptr<convert::AudioMixer> mixer_;
  std::unique_ptr<convert::VideoCompositor> compositor_;
  std::unique_ptr<media::WebmWriter> writer_;         // webm
  std::unique_ptr<media::Mp4Writer> mp4_writer_;      // mp4 (video_codec h264, or AAC audio)
  const bool mp4_ = compose_container(opt_) == "mp4";
  const bool aac_ = opt_.audio && compose_audio_codec(opt_) == "aac";
  std::unique_ptr<media::AacEncoder> aac_encoder_;
  std::vector<media::AacPacket> aac_out_;
  uint64_t video_track_ = 0, audio_track_ = 0;
  std::map<std::pair<size_t, uint32_t>, Track> tracks_;
  // Per session (RoomReader index): its first sender reports, read on first use.
  std::map<size_t, std::map<uint32_t, rtp::SenderReport>> sender_reports_;
  std::vector<convert::EncodedAudio> audio_out_;
  std::vector<convert::EncodedVideo> video_out_;
  media::I420Frame picture_;
  ComposeResult result_;
  // pause_mode "cut": room time taken out (closed spans, and one open since a time).
  const bool cut_ = opt_.pause_mode == "cut";
  std::vector<std::pair<uint64_t, uint64_t>> cuts_;
  std::optional<uint64_t> room_paused_since_;
  std::vector<bool> present_;         // per session: a row seen and no leave yet
  std::vector<bool> session_paused_;  // per session, as of its last row
};

}  // namespace

Result<ComposeResult> compose(RecordingSource& source, const ComposeOptions& options) {
  if (options.output.empty())
    return Status::error(ErrorCode::invalid_argument, "compose needs an output (a file path, an S3 URI or a presigned URL)");
  if (Status s = validate(options); !s) return s;
  Compose c(source, options);
  return c.run();
}

}  // namespace roomrec
