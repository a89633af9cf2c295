#include <roomrec/log.h>
#include <roomrec/transmuxer.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <tuple>

#include "util/base64.h"
#include "util/text.h"
#include "util/utf8.h"
#include "convert/output_http.h"
#include "convert/sender_reports.h"
#include "media/frame_assembler.h"
#include "media/mp4_writer.h"
#include "media/webm_writer.h"
#include "read/session_reader.h"
#include "rtp/depacketizer.h"
#include "rtp/rtp_packet.h"
#include "s3/s3_client.h"
#include "s3/s3_uri.h"

namespace roomrec {
namespace fs = std::filesystem;

namespace {

constexpr const char* kComponent = "transmux";

// File names keep to a safe alphabet: other bytes become '_'.
std::string safe_name(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '_';
  if (out.empty()) out = "_";
  return out;
}

// Where the files go: a local folder, or S3 through a local staging folder.
class Output {
 public:
  static Result<Output> open(const TransmuxOptions& o) {
    Output out;
    std::string_view target = o.output;
    if (util::is_http_uri(target)) {
      auto uri = s3::S3Uri::parse(target);
      if (!uri) return uri.status().with_context("transmux.output");
      out.s3_ = std::make_shared<s3::S3Client>(uri.value(), s3::S3ClientOptions{output_http_options(o)});
      std::string base = o.temp_dir.empty() ? (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") : o.temp_dir;
      std::string tmpl = base + "/roomrec-transmux-XXXXXX";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      if (!::mkdtemp(buf.data())) return Status::error(ErrorCode::io, "cannot create a temporary folder in " + base);
      out.dir_ = buf.data();
      out.staging_ = true;
    } else {
      if (target.rfind("file://", 0) == 0) target.remove_prefix(7);
            out.dir_ = std::string(target);
      std::error_code ec;
      fs::create_directories(out.dir_, ec);
      if (ec) return Status::error(ErrorCode::io, "cannot create " + out.dir_ + ": " + ec.message());
    }
    return out;
  }

  std::string local_path(const std::string& name) const { return dir_ + "/" + name; }

  struct Stored {
    std::string uri;     // the local path or the S3 key
    uint64_t bytes = 0;
  };

  // Stores a finished local file at `name`; says where it went and its size.
  Result<Stored> store(const std::string& name, const char* content_type) {
    std::string path = local_path(name);
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return Status::error(ErrorCode::io, "cannot size " + path + ": " + ec.message());
    if (!s3_) return Stored{path, size};
    std::lock_guard lock(*s3_mu_);  // one S3 client, shared by the session threads
    auto src = file_source(path);
    if (!src) return src.status();
    std::string key = s3_->uri().key(name);
    Status s = s3_->put(key, *src.value(), size, content_type);
    if (!s) return s.with_context("uploading " + name);
    fs::remove(path, ec);
    return Stored{key, size};
  }

  void discard(const std::string& name) {
    std::error_code ec;
    fs::remove(local_path(name), ec);
  }

  ~Output() {
    if (staging_ && !dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  Output() = default;
  Output(Output&& o) noexcept
      : dir_(std::move(o.dir_)), staging_(o.staging_), s3_(std::move(o.s3_)), s3_mu_(std::move(o.s3_mu_)) {
    o.staging_ = false;
    o.dir_.clear();
  }

 private:
  std::string dir_;
  bool staging_ = false;
  std::shared_ptr<s3::S3Client> s3_;
  std::shared_ptr<std::mutex> s3_mu_ = std::make_shared<std::mutex>();
};

// The container of a codec's file under TransmuxOptions::format; `fell_back`
// says the asked one cannot hold the codec (see transmuxer.h).
std::string container_for(const std::string& format, const std::string& codec, bool& fell_back) {
  fell_back = false;
  const bool mp4_codec = codec == "h264" || codec == "av1" || codec == "opus";
  if (format == "mkv") return "mkv";
  if (format == "mp4") {
    if (mp4_codec) return "mp4";
    fell_back = true;
    return "webm";
  }
  if (format == "webm") {
    if (codec != "h264") return "webm";
    fell_back = true;
    return "mkv";
  }
  return codec == "h264" || codec == "av1" ? "mp4" : "webm";  // auto
}

bool valid_utf8(const std::vector<uint8_t>& b) {
  return util::is_valid_utf8(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// One data channel of one session, written as JSON lines.
struct DataChannel {
  std::string label, name;
  std::unique_ptr<FILE, FileCloser> file;
  uint64_t first_ms = 0, last_ms = 0, messages = 0;
};

// One span of one track: start -> stop, written to one file.
struct TrackSpan {
  uint32_t id = 0;
  TrackInfo info;
  std::string codec;  // of the frames (red -> opus)
  std::unique_ptr<media::FrameAssembler> assembler;
  bool placed = false;  // the sender report lookup was done at its first packet
  std::unique_ptr<media::WebmWriter> writer;  // webm, mkv
  std::unique_ptr<media::Mp4Writer> mp4;      // mp4
  std::string container;
  uint64_t writer_track = 0;
  uint8_t cvo_id = 0;          // video-orientation extension id, 0: none
  int rotation = -1;           // latest CVO rotation seen (degrees), -1: none yet
  int file_rotation = 0;       // the one the MP4's display matrix carries
  bool rotation_changed = false;  // after the file was opened
  bool open() const { return writer || mp4; }
  std::string name;    // file name once opened
  uint64_t span_start_ms = 0;  // track_started time
  uint64_t span_end_ms = 0;    // track_stopped (or leave, or last row) time
  uint64_t first_ms = 0, last_ms = 0;
  uint32_t width = 0, height = 0;
  uint64_t frames = 0;
  // Recording pauses of this track (its session's and its own), in room time.
  std::vector<std::pair<uint64_t, uint64_t>> pauses;
  std::optional<uint64_t> paused_since;
  uint64_t first_out_ms = 0;  // the first frame's output time (pause_mode "cut")
  uint64_t written_ms = 0;    // room time of the last frame or silence written (pause_mode "keep")

  // Paused time before `ms` (room time) of this span, the open pause counted up to `ms`.
  uint64_t paused_before(uint64_t ms) const {
    uint64_t cut = 0;
    for (auto [a, b] : pauses) {
      if (ms >= b) cut += b - a;
      else if (ms > a) cut += ms - a;
    }
    if (paused_since && ms > *paused_since) cut += ms - *paused_since;
    return cut;
  }
  // Paused time within [from, to].
  uint64_t paused_within(uint64_t from, uint64_t to) const {
    return to > from ? paused_before(to) - paused_before(from) : 0;
  }
};

// The pause rows of a session as spans; `until` ends one still open.
nlohmann::json pause_spans(const std::vector<std::pair<uint64_t, uint64_t>>& spans,
                           std::optional<uint64_t> open_since = std::nullopt, uint64_t until = 0) {
  nlohmann::json a = nlohmann::json::array();
  for (auto [s, e] : spans) a.push_back({{"start", s}, {"end", e}});
  if (open_since) a.push_back({{"start", *open_since}, {"end", std::max(until, *open_since)}});
  return a;
}

// A 20 ms Opus frame of silence (CELT, fullband, mono: any Opus decoder, mono or stereo stream).
constexpr uint8_t kOpusSilence[] = {0xF8, 0xFF, 0xFE};

class Transmux {
 public:
  Transmux(RecordingSource& src, const TransmuxOptions& opt, Output& out) : src_(src), opt_(opt), out_(out) {}

  Result<TransmuxResult> run() {
    auto listing = src_.list();
    if (!listing) return listing.status();
    room_ = std::move(listing.value());
    for (auto& p : room_.problems) result_.problems.push_back(p);
    for (auto& s : room_.sessions) {
      if (s.chunks.empty()) continue;
      uint64_t from = s.chunks.front().key.from_ts, to = s.chunks.back().key.to_ts;
      total_ms_ += to > from ? to - from : 0;
    }
    // Sessions are independent: convert several at once.
    unsigned threads = opt_.threads ? opt_.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = std::min<unsigned>(threads, static_cast<unsigned>(room_.sessions.size()));
    std::atomic<size_t> next{0};
    Status first_error;
    auto worker = [&] {
      for (size_t i; (i = next.fetch_add(1)) < room_.sessions.size();) {
        {
          std::lock_guard lock(mu_);
          if (!first_error.is_ok()) return;
        }
        Status st;
        try {  // a pool thread must not end the process: the job fails instead
          st = session(room_.sessions[i]);
        } catch (const std::exception& e) {
          st = Status::error(ErrorCode::internal, "session " + room_.sessions[i].peer + "/" +
                                                      std::to_string(room_.sessions[i].session) +
                                                      ": internal error: " + util::printable_text(e.what(), 200));
        } catch (...) {
          st = Status::error(ErrorCode::internal, "session " + room_.sessions[i].peer + ": internal error");
        }
        if (!st) {
          std::lock_guard lock(mu_);
          if (first_error.is_ok()) first_error = st;
          stop_ = true;
        }
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (!first_error.is_ok()) return first_error;
    std::sort(result_.files.begin(), result_.files.end(), [](const TransmuxFile& a, const TransmuxFile& b) {
      return std::tie(a.peer, a.session, a.track, a.start_ms) < std::tie(b.peer, b.session, b.track, b.start_ms);
    });
    std::sort(result_.data_files.begin(), result_.data_files.end(),
              [](const TransmuxDataFile& a, const TransmuxDataFile& b) {
                return std::tie(a.peer, a.session, a.label) < std::tie(b.peer, b.session, b.label);
              });
    if (room_first_ != UINT64_MAX && room_last_ >= room_first_) result_.duration_ms = room_last_ - room_first_;
    nlohmann::json meta = {{"app", room_.app}, {"room", room_.room}, {"room_record_id", room_.room_record_id}};
    summary_["metadata_json"] = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    summary_["app"] = room_.app;
    summary_["room"] = room_.room;
    summary_["room_record_id"] = room_.room_record_id;
    summary_["duration_ms"] = result_.duration_ms;
    if (!summary_.contains("peers")) summary_["peers"] = nlohmann::json::object();
    summary_["problems"] = result_.problems;
    result_.summary_json = summary_.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    if (Status s = store_json("summary.json", result_.summary_json); !s) return s;
    if (opt_.speakers) {
      SpeakerOptions so = opt_.speaker_options;
      so.cancel = opt_.cancel;
      auto who = detect_speakers(src_, so);
      if (!who) return who.status().with_context("speakers");
      if (Status s = store_json("speakers.json", who->to_json(2), &result_.speakers_uri); !s) return s;
      who->problems.clear();  // the same as the transmux's own, already listed
      result_.speakers = std::move(who.value());
    }
    return std::move(result_);
  }

 private:
  // A JSON file of the output (summary.json, speakers.json): written locally, then stored.
  Status store_json(const std::string& name, const std::string& text, std::string* uri = nullptr) {
    std::string path = out_.local_path(name);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return Status::error(ErrorCode::io, "cannot write " + path);
    std::fwrite(text.data(), 1, text.size(), f);
    if (std::fclose(f) != 0) return Status::error(ErrorCode::io, "cannot write " + path);
    auto stored = out_.store(name, "application/json");
    if (!stored) return stored.status();
    if (uri) *uri = stored->uri;
    return Status::ok();
  }

  Status session(const SessionRef& ref) {
    SessionReader reader(src_, ref);
    std::map<uint32_t, TrackSpan> open;
    std::map<std::string, DataChannel> channels;  // by label
    const auto sender_reports = convert::first_sender_reports(src_, ref);
    uint64_t session_from = ref.chunks.empty() ? 0 : ref.chunks.front().key.from_ts;
    uint64_t reported = 0;
    // The session's own pauses (summary.json), and the pause state each open span last saw.
    std::vector<std::pair<uint64_t, uint64_t>> session_pauses;
    std::optional<uint64_t> session_paused_since;
    uint64_t last_ts = 0;
    auto update_pauses = [&](uint64_t ts) {
      if (reader.session_paused() && !session_paused_since) session_paused_since = ts;
      if (!reader.session_paused() && session_paused_since) {
        session_pauses.emplace_back(*session_paused_since, ts);
        session_paused_since.reset();
      }
      for (auto& [id, t] : open) {
        bool p = reader.paused(id);
        if (p && !t.paused_since) t.paused_since = ts;
        if (!p && t.paused_since) {
          t.pauses.emplace_back(*t.paused_since, ts);
          t.paused_since.reset();
        }
      }
    };
    Row row;
    while (reader.next(row)) {
      last_ts = std::max(last_ts, row.ts);
      if (opt_.cancel && opt_.cancel->load()) return Status::error(ErrorCode::cancelled, "transmux cancelled");
      if (stop_) return Status::error(ErrorCode::cancelled, "stopped: another session failed");
      // The pause state changes at pause/resume rows, and at the first row of a chunk whose header
      // says otherwise (an earlier chunk missing); media rows never come while paused.
      if (row.kind != RowKind::rtp && row.kind != RowKind::track_started) update_pauses(row.ts);
      switch (row.kind) {
        case RowKind::track_started:
          if (open.count(row.track_id)) {
            Status s = close_span(ref, open.at(row.track_id), row.ts);
            if (!s) return s;
            open.erase(row.track_id);
          }
          start_span(ref, open, row.track_id, row.track, row.ts);
          update_pauses(row.ts);  // started while its session is paused
          break;
        case RowKind::rtp: {
          auto it = open.find(row.track_id);
          if (it == open.end()) {
            // Started in a chunk we do not have: the chunk headers still say what it is.
            const TrackInfo* info = reader.track(row.track_id);
            if (!info) {
              note_once("rtp for unknown track " + std::to_string(row.track_id) + " in " + reader.name());
              break;
            }
            if (!start_span(ref, open, row.track_id, *info, row.ts)) break;
            it = open.find(row.track_id);
          }
          TrackSpan& t = it->second;
          if (!t.assembler) break;  // unsupported codec
          if (t.cvo_id) {
            rtp::RtpHeader h;
            const uint8_t* v;
            size_t n;
            if (rtp::parse_rtp(row.payload.data(), row.payload.size(), h) &&
                rtp::find_extension(row.payload.data(), h, t.cvo_id, &v, &n) && n >= 1)
              t.rotation = rtp::cvo_rotation(v[0]);
            if (t.open() && t.rotation != t.file_rotation) t.rotation_changed = true;
          }
          if (!t.placed) {
            t.placed = true;
            auto sr = sender_reports.find(media::rtp_ssrc(row.payload.data(), row.payload.size()));
            if (sr != sender_reports.end()) t.assembler->sender_report(sr->second.rtp_ts, sr->second.ntp_unix_ms);
          }
          t.assembler->push(row.payload.data(), row.payload.size(), row.ts);
          Status s = drain(ref, t);
          if (!s) return s;
          break;
        }
        case RowKind::track_stopped: {
          auto it = open.find(row.track_id);
          if (it != open.end()) {
            Status s = close_span(ref, it->second, row.ts);
            if (!s) return s;
            open.erase(it);
          }
          break;
        }
        case RowKind::data: {
          Status s = write_data(ref, channels, row);
          if (!s) return s;
          break;
        }
        case RowKind::leave:
          for (auto& [id, t] : open) {
            Status s = close_span(ref, t, row.ts);
            if (!s) return s;
          }
          open.clear();
          break;
        default:
          break;
      }
      if (opt_.progress && row.ts > session_from && row.ts - session_from >= reported + 1000) {
        uint64_t step = row.ts - session_from - reported;
        reported += step;
        std::lock_guard lock(mu_);
        done_ms_ += step;
        opt_.progress(std::min(done_ms_, total_ms_), total_ms_);
      }
    }
    for (auto& [id, t] : open) {
      Status s = close_span(ref, t, last_ts);
      if (!s) return s;
    }
    if (!session_pauses.empty() || session_paused_since) {
      std::lock_guard lock(mu_);
      summary_["peers"][ref.peer]["sessions"][std::to_string(ref.session)]["pauses"] =
          pause_spans(session_pauses, session_paused_since, last_ts);
    }
    for (auto& [label, c] : channels) {
      Status s = close_data(ref, c);
      if (!s) return s;
    }
    std::lock_guard lock(mu_);
    for (auto& p : reader.problems()) result_.problems.push_back(p);
    if (!ref.chunks.empty()) {
      uint64_t from = ref.chunks.front().key.from_ts, to = ref.chunks.back().key.to_ts;
      uint64_t span = to > from ? to - from : 0;
      done_ms_ += span > reported ? span - reported : 0;  // the rest of this session
    }
    if (opt_.progress) opt_.progress(std::min(done_ms_, total_ms_), total_ms_);
    return Status::ok();
  }

  bool start_span(const SessionRef& ref, std::map<uint32_t, TrackSpan>& open, uint32_t id, const TrackInfo& info,
                  uint64_t ts) {
    TrackSpan t;
    t.id = id;
    t.info = info;
    t.span_start_ms = ts;
    if (info.kind == TrackKind::video) t.cvo_id = info.cvo_extension_id;
    std::string codec = util::ascii_lowercase(info.codec);
    auto dep = rtp::make_depacketizer(codec, info.fmtp);
    if (!dep) {
      note_once("unsupported codec \"" + info.codec + "\" for track " + info.name + " of " + ref.peer + "/" +
                std::to_string(ref.session) + ": not converted");
    } else {
      t.codec = dep->codec();
      t.assembler = std::make_unique<media::FrameAssembler>(std::move(dep), info.clock_rate, info.kind);
    }
    open.emplace(id, std::move(t));
    return true;
  }

  Status open_writer(const SessionRef& ref, TrackSpan& t, const media::AssembledFrame& f) {
    bool fell_back = false;
    t.container = container_for(opt_.format, t.codec, fell_back);
    if (fell_back)
      note_once(t.codec + " cannot go into " + opt_.format + ": track " + t.info.name + " of " + ref.peer + "/" +
                std::to_string(ref.session) + " written as " + t.container);
    t.name = safe_name(ref.peer) + "-" + std::to_string(ref.session) + "-" + t.codec + "-" + safe_name(t.info.name) +
             "-" + std::to_string(f.pts_ms) + "." + t.container;
    Result<uint64_t> track = Status::error(ErrorCode::internal, "no track");
    if (t.container == "mp4") {
      auto w = media::Mp4Writer::create(out_.local_path(t.name), opt_.mp4_mode == "fragmented"
                                                                     ? media::Mp4Mode::fragmented
                                                                     : media::Mp4Mode::faststart);
      if (!w) return w.status();
      t.mp4 = std::move(w.value());
      t.mp4->set_creation_time_ms(f.pts_ms);  // the file's first frame: same recording, same bytes
      Result<uint32_t> added = Status::error(ErrorCode::internal, "no track");
      if (t.info.kind == TrackKind::video) {
        media::Mp4VideoParams p;
        p.codec = t.codec;
        p.width = f.frame.width;
        p.height = f.frame.height;
        p.codec_private = t.assembler->depacketizer().codec_private();
        t.file_rotation = std::max(t.rotation, 0);
        p.rotation = t.file_rotation;
        added = t.mp4->add_video_track(p);
      } else {
        media::Mp4AudioParams p;
        p.codec = t.codec;
        p.sample_rate = t.info.clock_rate ? t.info.clock_rate : 48000;
        p.channels = t.info.channels ? t.info.channels : 2;
        added = t.mp4->add_audio_track(p);
      }
      if (!added) return added.status().with_context(t.name);
      track = uint64_t{*added};
    } else {
      const bool mkv = t.container == "mkv";
      auto w = media::WebmWriter::create(out_.local_path(t.name), mkv ? media::Container::mkv : media::Container::webm);
      if (!w) return w.status();
      t.writer = std::move(w.value());
      t.writer->set_date_utc_ms(f.pts_ms);  // the file's first frame: same recording, same bytes
      if (t.info.kind == TrackKind::video) {
        media::VideoTrackParams p;
        p.codec = t.codec;
        p.width = f.frame.width;  // 0 when the keyframe did not say: the writer takes note_video_size()
        p.height = f.frame.height;
        p.codec_private = t.assembler->depacketizer().codec_private();
        track = t.writer->add_video_track(p);
      } else {
        media::AudioTrackParams p;
        p.codec = t.codec;
        p.sample_rate = t.info.clock_rate ? t.info.clock_rate : 48000;
        p.channels = t.info.channels ? t.info.channels : 2;
        track = t.writer->add_audio_track(p);
      }
    }
    if (!track) return track.status().with_context(t.name);
    t.writer_track = *track;
    t.first_ms = f.pts_ms;
    t.first_out_ms = f.pts_ms - t.paused_before(f.pts_ms);
    t.written_ms = f.pts_ms;
    return Status::ok();
  }

  Status drain(const SessionRef& ref, TrackSpan& t) {
    media::AssembledFrame f;
    while (t.assembler->pop(f)) {
      if (!t.open()) {
        if (t.info.kind == TrackKind::video && !f.frame.keyframe) continue;  // the assembler gates this already
        if (t.codec == "h264" && t.assembler->depacketizer().codec_private().empty()) {
          note_once("h264 track " + t.info.name + " of " + ref.peer + " has no SPS/PPS before its first keyframe");
          continue;
        }
        if (t.codec == "av1" && t.assembler->depacketizer().codec_private().empty()) {
          note_once("av1 track " + t.info.name + " of " + ref.peer + " has no sequence header before its first keyframe");
          continue;
        }
        Status s = open_writer(ref, t, f);
        if (!s) return s;
      }
      if (f.frame.width && f.frame.height) {
        if (t.writer) t.writer->note_video_size(t.writer_track, f.frame.width, f.frame.height);
        if (t.mp4) t.mp4->note_video_size(static_cast<uint32_t>(t.writer_track), f.frame.width, f.frame.height);
        t.width = std::max(t.width, f.frame.width);
        t.height = std::max(t.height, f.frame.height);
      }
      uint64_t rel;
      if (cut_) {
        // The paused time before this frame is taken out (a frame stamped inside a pause lands at its start).
        uint64_t out = f.pts_ms - t.paused_before(f.pts_ms);
        rel = out >= t.first_out_ms ? out - t.first_out_ms : 0;
      } else {
        rel = f.pts_ms >= t.first_ms ? f.pts_ms - t.first_ms : 0;
        if (t.codec == "opus" && t.frames > 0) {
          Status s = fill_silence(t, f.pts_ms);
          if (!s) return s.with_context(t.name);
        }
        t.written_ms = std::max(t.written_ms, f.pts_ms);
      }
      Status s = t.writer ? t.writer->write_frame(t.writer_track, f.frame.data.data(), f.frame.data.size(),
                                                  rel * 1'000'000ull, f.frame.keyframe)
                          : t.mp4->write_frame(static_cast<uint32_t>(t.writer_track), f.frame.data.data(),
                                               f.frame.data.size(), rel * 1'000ull, f.frame.keyframe);
      if (!s) return s.with_context(t.name);
      t.last_ms = std::max(t.last_ms, f.pts_ms);
      t.frames++;
    }
    return Status::ok();
  }

  // pause_mode "keep", Opus: 20 ms silent frames from the last frame written up to `pts_ms`, across
  // a recording pause that lies between them (other gaps, such as DTX, stay as recorded).
  Status fill_silence(TrackSpan& t, uint64_t pts_ms) {
    if (t.paused_within(t.written_ms, pts_ms) == 0) return Status::ok();
    for (uint64_t at = t.written_ms + 20; at + 20 <= pts_ms; at += 20) {
      Status s = t.writer ? t.writer->write_frame(t.writer_track, kOpusSilence, sizeof kOpusSilence,
                                                  (at - t.first_ms) * 1'000'000ull, true)
                          : t.mp4->write_frame(static_cast<uint32_t>(t.writer_track), kOpusSilence,
                                               sizeof kOpusSilence, (at - t.first_ms) * 1'000ull, true);
      if (!s) return s;
      t.written_ms = at;
    }
    return Status::ok();
  }

  Status close_span(const SessionRef& ref, TrackSpan& t, uint64_t end_ts) {
    t.span_end_ms = end_ts;
    if (!t.assembler) return Status::ok();
    t.assembler->flush();
    Status s = drain(ref, t);
    if (!s) return s;
    const auto& st = t.assembler->stats();
    if (!t.open()) {
      std::lock_guard lock(mu_);
      if (st.packets > 0)
        result_.problems.push_back("track " + t.info.name + " of " + ref.peer + "/" + std::to_string(ref.session) +
                                   " had " + std::to_string(st.packets) + " packets but no " +
                                   (t.info.kind == TrackKind::video ? "keyframe" : "playable frame") +
                                   ": no file written");
      return Status::ok();
    }
    s = t.writer ? t.writer->finish() : t.mp4->finish();
    if (!s) return s.with_context(t.name);
    t.writer.reset();
    t.mp4.reset();
    const bool video = t.info.kind == TrackKind::video;
    const char* type = t.container == "mkv"   ? (video ? "video/x-matroska" : "audio/x-matroska")
                       : t.container == "mp4" ? (video ? "video/mp4" : "audio/mp4")
                                              : (video ? "video/webm" : "audio/webm");
    if (t.rotation_changed && t.container == "mp4")
      note_once("track " + t.info.name + " of " + ref.peer + "/" + std::to_string(ref.session) +
                " changed its rotation while recording; " + t.name + " is displayed at its first (" +
                std::to_string(t.file_rotation) + " degrees)");
    auto stored = out_.store(t.name, type);
    if (!stored) return stored.status();
    std::lock_guard lock(mu_);
    room_first_ = std::min(room_first_, t.first_ms);
    room_last_ = std::max(room_last_, t.last_ms);

    nlohmann::json entry = {{"path", t.name},
                            {"start", t.first_ms},
                            {"end", t.last_ms},
                            {"codec", t.codec},
                            {"container", t.container},
                            {"frames", t.frames},
                            {"first_keyframe_offset_ms", t.first_ms - std::min(t.first_ms, t.span_start_ms)},
                            {"packets", st.packets},
                            {"packets_lost", st.lost},
                            {"packets_reordered", st.reordered},
                            {"packets_duplicated", st.duplicates},
                            {"frames_dropped", st.frames_incomplete + st.frames_invalid + st.frames_before_keyframe},
                            {"timestamp_jumps", st.reanchors}};
    if (t.info.kind == TrackKind::video) {
      entry["width"] = t.width;
      entry["height"] = t.height;
      if (t.cvo_id && t.container == "mp4") entry["rotation"] = t.file_rotation;  // in the file's display matrix
    }
    const uint64_t paused_ms = t.paused_within(t.first_ms, t.last_ms);
    if (!t.pauses.empty() || t.paused_since) {
      entry["pauses"] = pause_spans(t.pauses, t.paused_since, std::max(t.last_ms, t.span_end_ms));
      entry["paused_ms"] = paused_ms;
    }
    auto& track = summary_["peers"][ref.peer]["sessions"][std::to_string(ref.session)]["track"][t.info.name];
    track["kind"] = t.info.kind == TrackKind::video ? 1 : 0;
    track["timeline"].push_back(entry);

    TransmuxFile file;
    file.path = t.name;
    file.uri = stored->uri;
    file.bytes = stored->bytes;
    file.peer = ref.peer;
    file.session = ref.session;
    file.track = t.info.name;
    file.codec = t.codec;
    file.container = t.container;
    file.start_ms = t.first_ms;
    file.end_ms = t.last_ms;
    file.width = t.width;
    file.height = t.height;
    file.frames = t.frames;
    file.paused_ms = paused_ms;
    result_.files.push_back(std::move(file));
    log_message(LogLevel::info, kComponent, "wrote " + t.name + " (" + std::to_string(t.frames) + " frames)");
    return Status::ok();
  }

  Status write_data(const SessionRef& ref, std::map<std::string, DataChannel>& channels, const Row& row) {
    auto it = channels.find(row.label);
    if (it == channels.end()) {
      DataChannel c;
      c.label = row.label;
      std::string base = safe_name(ref.peer) + "-" + std::to_string(ref.session) + "-data-" + safe_name(row.label);
      c.name = base + ".jsonl";
      // Two labels may map to one safe name ("a b", "a_b"): number the later ones.
      for (unsigned k = 2;; ++k) {
        bool clash = false;
        for (auto& [l, o] : channels) clash = clash || o.name == c.name;
        if (!clash) break;
        c.name = base + "-" + std::to_string(k) + ".jsonl";
      }
      std::string path = out_.local_path(c.name);
      c.file.reset(std::fopen(path.c_str(), "wb"));
      if (!c.file) return Status::error(ErrorCode::io, "cannot write " + path);
      c.first_ms = row.ts;
      it = channels.emplace(row.label, std::move(c)).first;
    }
    DataChannel& c = it->second;
    nlohmann::ordered_json line;
    line["time"] = row.ts;
    if (!row.binary && valid_utf8(row.payload)) {
      line["binary"] = false;
      line["text"] = std::string(row.payload.begin(), row.payload.end());
    } else {
      line["binary"] = row.binary;
      line["base64"] = util::base64_encode(row.payload.data(), row.payload.size());
    }
    std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    text += '\n';
    if (std::fwrite(text.data(), 1, text.size(), c.file.get()) != text.size())
      return Status::error(ErrorCode::io, "cannot write " + out_.local_path(c.name));
    c.last_ms = std::max(c.last_ms, row.ts);
    c.messages++;
    return Status::ok();
  }

  Status close_data(const SessionRef& ref, DataChannel& c) {
    if (!c.file) return Status::ok();
    int rc = std::fclose(c.file.release());
    if (rc != 0) return Status::error(ErrorCode::io, "cannot write " + out_.local_path(c.name));
    auto stored = out_.store(c.name, "application/x-ndjson");
    if (!stored) return stored.status();
    std::lock_guard lock(mu_);
    std::vector<uint8_t> label_bytes(c.label.begin(), c.label.end());
    const std::string key = valid_utf8(label_bytes) ? c.label : safe_name(c.label);  // JSON keys must be UTF-8
    summary_["peers"][ref.peer]["sessions"][std::to_string(ref.session)]["data"][key] = {
        {"path", c.name}, {"start", c.first_ms}, {"end", c.last_ms}, {"messages", c.messages}};
    TransmuxDataFile f;
    f.path = c.name;
    f.uri = stored->uri;
    f.bytes = stored->bytes;
    f.peer = ref.peer;
    f.label = key;
    f.session = ref.session;
    f.start_ms = c.first_ms;
    f.end_ms = c.last_ms;
    f.messages = c.messages;
    result_.data_files.push_back(std::move(f));
    log_message(LogLevel::info, kComponent, "wrote " + c.name + " (" + std::to_string(c.messages) + " messages)");
    return Status::ok();
  }

  void note_once(const std::string& problem) {
    std::lock_guard lock(mu_);
    for (auto& p : result_.problems)
      if (p == problem) return;
    result_.problems.push_back(problem);
  }

  RecordingSource& src_;
  const TransmuxOptions& opt_;
  Output& out_;
  RoomListing room_;
  TransmuxResult result_;
  nlohmann::json summary_ = nlohmann::json::object();
  uint64_t total_ms_ = 0, done_ms_ = 0;
  uint64_t room_first_ = UINT64_MAX, room_last_ = 0;
  std::mutex mu_;  // guards result_, summary_, the room times and progress across session threads
  std::atomic<bool> stop_{false};
  const bool cut_ = opt_.pause_mode == "cut";
};

}  // namespace

Result<TransmuxResult> transmux(RecordingSource& source, const TransmuxOptions& options) {
  if (options.output.empty()) return Status::error(ErrorCode::invalid_argument, "transmux needs an output (a folder or an S3 URI)");
  if (Status s = validate(options); !s) return s;
  auto out = Output::open(options);
  if (!out) return out.status();
  Transmux t(source, options, out.value());
  return t.run();
}

}  // namespace roomrec
