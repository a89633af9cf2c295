// detect_speakers(): every Opus track of every session decoded (mono, 48 kHz),
// each 20 ms frame's RMS level in dBFS fed to a hysteresis detector on the
// room's timeline (FrameAssembler's presentation times, placed by sender
// reports as in the transmuxer), the spans merged per peer.
#include <roomrec/speakers.h>

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "convert/sender_reports.h"
#include "media/frame_assembler.h"
#include "read/session_reader.h"
#include "rtp/depacketizer.h"
#include "util/text.h"

namespace roomrec {
namespace {

Status invalid(std::string m) { return Status::error(ErrorCode::invalid_argument, std::move(m)); }

// Speech on at on_dbfs, held above off_dbfs, ended by a quiet stretch of
// hangover_ms; spans shorter than min_span_ms dropped.
class Detector {
 public:
  explicit Detector(const SpeakerOptions& o) : o_(o) {}

  void frame(uint64_t pts, uint64_t dur, double dbfs) {
    if (speaking_ && pts >= loud_end_ + o_.hangover_ms) close();
    if (speaking_) {
      if (dbfs >= o_.off_dbfs) loud_end_ = std::max(loud_end_, pts + dur);
    } else if (dbfs >= o_.on_dbfs) {
      speaking_ = true;
      start_ = pts;
      loud_end_ = pts + dur;
    }
  }
  std::vector<SpeakingSpan> finish() {
    if (speaking_) close();
    return std::move(spans_);
  }

 private:
  void close() {
    speaking_ = false;
    if (loud_end_ - start_ >= o_.min_span_ms) spans_.push_back({start_, loud_end_});
  }
  const SpeakerOptions& o_;
  bool speaking_ = false;
  uint64_t start_ = 0, loud_end_ = 0;
  std::vector<SpeakingSpan> spans_;
};

struct OpusDecoderDeleter {
  void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};

struct AudioTrack {
  std::unique_ptr<media::FrameAssembler> assembler;
  std::unique_ptr<OpusDecoder, OpusDecoderDeleter> decoder;
  std::unique_ptr<Detector> detector;
  bool placed = false;
};

double rms_dbfs(const float* pcm, int n) {
  if (n <= 0) return -120;
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(pcm[i]) * pcm[i];
  double rms = std::sqrt(sum / n);
  return rms > 1e-6 ? 20 * std::log10(rms) : -120;
}

}  // namespace

Status validate(const SpeakerOptions& o) {
  if (!(o.on_dbfs <= 0 && o.on_dbfs >= -100)) return invalid("speakers.on_dbfs must be -100..0");
  if (!(o.off_dbfs <= o.on_dbfs && o.off_dbfs >= -100)) return invalid("speakers.off_dbfs must be -100..on_dbfs");
  if (o.hangover_ms > 10'000) return invalid("speakers.hangover_ms must be 0..10000");
  if (o.min_span_ms > 10'000) return invalid("speakers.min_span_ms must be 0..10000");
  return Status::ok();
}

Result<SpeakersResult> detect_speakers(RecordingSource& src, const SpeakerOptions& opt) {
  if (Status s = validate(opt); !s) return s;
  auto listing = src.list();
  if (!listing) return listing.status();
  SpeakersResult out;
  out.app = listing->app;
  out.room = listing->room;
  out.room_record_id = listing->room_record_id;
  std::map<std::string, PeerSpeech> peers;
  std::vector<float> pcm(5760);  // 120 ms at 48 kHz, the longest Opus frame

  for (const SessionRef& ref : listing->sessions) {
    SessionReader reader(src, ref);
    const auto sender_reports = convert::first_sender_reports(src, ref);
    std::map<uint32_t, AudioTrack> tracks;
    PeerSpeech& speech = peers[ref.peer];
    speech.peer = ref.peer;
    std::vector<SpeakingSpan> spans;
    auto drain = [&](AudioTrack& t) {
      media::AssembledFrame f;
      while (t.assembler->pop(f)) {
        const auto& p = f.frame.data;
        int n = opus_decode_float(t.decoder.get(), p.data(), static_cast<opus_int32>(p.size()), pcm.data(), 5760, 0);
        if (n <= 0) continue;  // a damaged frame: heard as nothing
        const uint64_t dur = static_cast<uint64_t>(n) / 48;
        speech.audio_ms += dur;
        t.detector->frame(f.pts_ms, dur, rms_dbfs(pcm.data(), n));
      }
    };
    auto finish = [&](AudioTrack& t) {
      t.assembler->flush();
      drain(t);
      auto s = t.detector->finish();
      spans.insert(spans.end(), s.begin(), s.end());
    };
    Row row;
    while (reader.next(row)) {
      if (opt.cancel && opt.cancel->load()) return Status::error(ErrorCode::cancelled, "speaker detection cancelled");
      if (row.kind == RowKind::track_stopped || row.kind == RowKind::leave) {
        for (auto it = tracks.begin(); it != tracks.end();) {
          if (row.kind == RowKind::leave || it->first == row.track_id) {
            finish(it->second);
            it = tracks.erase(it);
          } else {
            ++it;
          }
        }
        continue;
      }
      if (row.kind != RowKind::rtp) continue;
      auto it = tracks.find(row.track_id);
      if (it == tracks.end()) {
        const TrackInfo* info = reader.track(row.track_id);
        if (!info || info->kind != TrackKind::audio || util::ascii_lowercase(info->codec) != "opus") continue;
        auto dep = rtp::make_depacketizer("opus", info->fmtp);
        if (!dep) continue;
        AudioTrack t;
        t.assembler = std::make_unique<media::FrameAssembler>(std::move(dep), info->clock_rate ? info->clock_rate : 48000,
                                                              TrackKind::audio);
        int err = 0;
        t.decoder.reset(opus_decoder_create(48000, 1, &err));
        if (err != OPUS_OK || !t.decoder) return Status::error(ErrorCode::internal, "cannot create an Opus decoder");
        t.detector = std::make_unique<Detector>(opt);
        it = tracks.emplace(row.track_id, std::move(t)).first;
      }
      AudioTrack& t = it->second;
      if (!t.placed) {
        t.placed = true;
        auto sr = sender_reports.find(media::rtp_ssrc(row.payload.data(), row.payload.size()));
        if (sr != sender_reports.end()) t.assembler->sender_report(sr->second.rtp_ts, sr->second.ntp_unix_ms);
      }
      t.assembler->push(row.payload.data(), row.payload.size(), row.ts);
      drain(t);
    }
    for (auto& [id, t] : tracks) finish(t);
    for (auto& p : reader.problems()) out.problems.push_back(p);
    speech.spans.insert(speech.spans.end(), spans.begin(), spans.end());
  }
  for (auto& [name, p] : peers) {
    if (p.audio_ms == 0) continue;  // no audio at all: not a speaker
    std::sort(p.spans.begin(), p.spans.end(),
              [](const SpeakingSpan& a, const SpeakingSpan& b) { return a.start_ms < b.start_ms; });
    std::vector<SpeakingSpan> merged;  // two sessions or tracks of one peer overlapping
    for (const auto& s : p.spans) {
      if (!merged.empty() && s.start_ms <= merged.back().end_ms)
        merged.back().end_ms = std::max(merged.back().end_ms, s.end_ms);
      else
        merged.push_back(s);
    }
    p.spans = std::move(merged);
    p.speaking_ms = 0;
    for (const auto& s : p.spans) p.speaking_ms += s.end_ms - s.start_ms;
    out.peers.push_back(std::move(p));
  }
  for (auto& p : listing->problems) out.problems.push_back(p);
  return out;
}

std::string SpeakersResult::to_json(int indent) const {
  using nlohmann::json;
  json peers_j = json::array(), timeline = json::array();
  struct Entry {
    uint64_t start, end;
    const std::string* peer;
  };
  std::vector<Entry> all;
  for (const auto& p : peers) {
    json spans = json::array();
    for (const auto& s : p.spans) {
      spans.push_back({{"start", s.start_ms}, {"end", s.end_ms}});
      all.push_back({s.start_ms, s.end_ms, &p.peer});
    }
    peers_j.push_back({{"peer", p.peer}, {"speaking_ms", p.speaking_ms}, {"audio_ms", p.audio_ms}, {"spans", spans}});
  }
  std::stable_sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) { return a.start < b.start; });
  for (const auto& e : all) timeline.push_back({{"start", e.start}, {"end", e.end}, {"peer", *e.peer}});
  json j = {{"app", app},        {"room", room},         {"room_record_id", room_record_id},
            {"peers", peers_j},  {"timeline", timeline}, {"problems", problems}};
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace roomrec
