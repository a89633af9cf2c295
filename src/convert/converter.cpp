// One conversion job: transmux then compose over the same recording source.
#include <roomrec/converter.h>
#include <roomrec/recording_source.h>

#include <algorithm>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "convert/layout_check.h"
#include "s3/s3_uri.h"
#include "util/text.h"
#include "util/utf8.h"

namespace roomrec {
namespace {

// An S3 URI must parse; a local path or file:// is taken as is; any other
// scheme ("ftp://", "s3://") is refused rather than made a folder name.
Status check_remote(std::string_view what, std::string_view uri) {
  if (!util::is_http_uri(uri)) {
    auto scheme_end = uri.find("://");
    if (scheme_end != std::string_view::npos && !util::starts_with_nocase(uri, "file://") &&
        uri.find('/') > scheme_end)
      return Status::error(ErrorCode::invalid_argument,
                           std::string(what) + ": unsupported URI scheme '" + std::string(uri.substr(0, scheme_end)) +
                               "' (use http(s):// for S3, file:// or a path for a local folder)");
    return Status::ok();
  }
  auto parsed = s3::S3Uri::parse(uri);
  if (!parsed) return parsed.status().with_context(what);
  return Status::ok();
}

// Relative cost of the phases per media second: transmuxing copies packets,
// composing decodes, scales and encodes (measured: ~100x apart).
constexpr double kTransmuxWeight = 1.0;
constexpr double kComposeWeight = 20.0;
constexpr double kParticipantsWeight = 3.0;  // two reads per peer, Opus decoded for the mix, rarely video encoded

// The transmux's summary lists the participant files too (in the result,
// the Completed hook, and summary.json when the transmux output is local).
Status add_participants_to_summary(const TransmuxOptions& t, TransmuxResult& tr, const ParticipantsResult& pr) {
  auto summary = nlohmann::ordered_json::parse(tr.summary_json, nullptr, false);
  if (summary.is_discarded()) return Status::ok();
  auto parts = nlohmann::ordered_json::parse(pr.to_json(-1), nullptr, false);
  parts.erase("problems");  // already in the summary's own list
  summary["participants"] = std::move(parts);
  tr.summary_json = summary.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (util::is_http_uri(t.output)) return Status::ok();  // stored in S3 as the transmux wrote it
  std::string dir = t.output.rfind("file://", 0) == 0 ? t.output.substr(7) : t.output;
  std::string path = dir + "/summary.json";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::error(ErrorCode::io, "cannot write " + path);
  const bool ok = std::fwrite(tr.summary_json.data(), 1, tr.summary_json.size(), f) == tr.summary_json.size();
  if (std::fclose(f) != 0 || !ok) return Status::error(ErrorCode::io, "cannot write " + path);
  return Status::ok();
}

}  // namespace

namespace {
Status invalid(std::string message) { return Status::error(ErrorCode::invalid_argument, std::move(message)); }
}  // namespace

Status validate(const TransmuxOptions& t) {
  if (!t.output.empty()) {
    if (Status s = check_remote("transmux.output", t.output); !s) return s;
    if (util::is_http_uri(t.output) && s3::S3Uri::parse(t.output)->presigned)
      return invalid("transmux.output must be an S3 URI with credentials or a folder, not a presigned URL");
  }
  if (t.threads > 256) return invalid("transmux.threads must be 0..256 (0: one per core)");
  if (t.format != "auto" && t.format != "webm" && t.format != "mkv" && t.format != "mp4")
    return invalid("transmux.format must be auto, webm, mkv or mp4");
  if (t.mp4_mode != "faststart" && t.mp4_mode != "fragmented")
    return invalid("transmux.mp4_mode must be faststart or fragmented");
  if (t.pause_mode != "keep" && t.pause_mode != "cut") return invalid("transmux.pause_mode must be keep or cut");
  if (t.speakers)
    if (Status s = validate(t.speaker_options); !s) return s;
  return Status::ok();
}

Status validate(const ComposeOptions& c) {
  if (!c.audio && !c.video) return invalid("compose needs audio, video or both");
  if (!c.output.empty()) {
    if (Status s = check_remote("compose.output", c.output); !s) return s;
    if (util::is_http_uri(c.output)) {
      auto uri = s3::S3Uri::parse(c.output);
      if (!uri->presigned && uri->prefix.empty())
        return invalid("compose.output S3 URI must name the object: " + uri->to_string());
    }
  }
  if (c.width < 16 || c.height < 16 || c.width > 7680 || c.height > 4320 || (c.width | c.height) & 1)
    return invalid("compose.width and compose.height must be even, 16x16 to 7680x4320");
  if (c.fps < 1 || c.fps > 120) return invalid("compose.fps must be 1..120");
  if (c.video_codec != "vp8" && c.video_codec != "vp9" && c.video_codec != "h264")
    return invalid("compose.video_codec must be vp8, vp9 or h264");
  if (!c.audio_codec.empty() && c.audio_codec != "opus" && c.audio_codec != "aac")
    return invalid("compose.audio_codec must be opus or aac");
  if (c.audio_codec == "aac" && c.video && c.video_codec != "h264")
    return invalid("compose.audio_codec aac goes into MP4, which needs compose.video_codec h264 (vp8 and vp9 compose into WebM with opus)");
  if (c.thumbnail_interval_s && compose_container(c) == "mp4")
    return invalid("compose.thumbnail_interval_s needs a WebM compose (video_codec vp8 or vp9)");
  if (c.video_bitrate < 50'000 || c.video_bitrate > 50'000'000)
    return invalid("compose.video_bitrate must be 50000..50000000 bit/s");
  if (c.audio_bitrate < 6'000 || c.audio_bitrate > 510'000)
    return invalid("compose.audio_bitrate must be 6000..510000 bit/s");
  if (c.threads < 1 || c.threads > 64) return invalid("compose.threads must be 1..64");
  if (c.keyframe_interval_s < 1 || c.keyframe_interval_s > 3600)
    return invalid("compose.keyframe_interval_s must be 1..3600");
  if (c.cpu_used < -16 || c.cpu_used > 16) return invalid("compose.cpu_used must be -16..16");
  if (c.pause_mode != "keep" && c.pause_mode != "cut") return invalid("compose.pause_mode must be keep or cut");
  if (c.thumbnail_interval_s > 3600) return invalid("compose.thumbnail_interval_s must be 0..3600 (0: none)");
  if (c.thumbnail_interval_s && !c.video) return invalid("compose.thumbnail_interval_s needs video");
  if (c.thumbnail_interval_s && util::is_http_uri(c.output)) {
    auto uri = s3::S3Uri::parse(c.output);
    if (uri && uri->presigned)
      return invalid("compose.thumbnail_interval_s needs a local or S3 compose output (a presigned URL names one object)");
  }
  if (Status s = check_layout(c.layout); !s) return s;
  if (c.speaker_hold_ms > 60'000) return invalid("compose.speaker_hold_ms must be 0..60000");
  if (c.speaker_lead_ms > 5'000) return invalid("compose.speaker_lead_ms must be 0..5000");
  if (!c.video && (c.layout != "grid" || c.names || c.speaker_border))
    return invalid("compose.layout, compose.names and compose.speaker_border need video");
  return Status::ok();
}

Status validate(const ConvertJob& job) {
  if (job.input.empty()) return invalid("no input recording given");
  if (!job.transmux && !job.compose && !job.participants)
    return invalid("nothing to do: give a transmux, a compose, participants or several");
  if (Status s = check_remote("input", job.input); !s) return s;
  if (Status s = validate(job.selection); !s) return s;
  if (job.transmux) {
    if (job.transmux->output.empty()) return invalid("transmux needs an output (a folder or an S3 URI)");
    if (Status s = validate(*job.transmux); !s) return s;
  }
  if (job.compose) {
    if (job.compose->output.empty())
      return invalid("compose needs an output (a file path, an S3 URI or a presigned URL)");
    if (Status s = validate(*job.compose); !s) return s;
  }
  if (job.participants) {
    if (job.participants->output.empty()) return invalid("participants needs an output (a folder or an S3 URI)");
    if (Status s = validate(*job.participants); !s) return s;
  }
  return Status::ok();
}

Result<ConvertResult> convert(const ConvertJob& job) {
  if (Status s = validate(job); !s) return s;
  auto source = RecordingSource::open(job.input);
  if (!source) return source.status().with_context("input");
  // Every phase reads the room through the selection (consent): peers and tracks left out are never read.
  std::unique_ptr<RecordingSource> selected;
  if (!job.selection.empty()) selected = select_from(*source.value(), job.selection);
  RecordingSource& src = selected ? *selected : *source.value();

  ConvertResult result;
  result.input_description = src.describe();
  if (job.cancel && job.cancel->load()) return Status::error(ErrorCode::cancelled, "conversion cancelled");
  // Listing up front: an empty or unreachable recording fails before any output is made.
  auto listing = src.list();
  if (!listing) return listing.status();
  result.app = listing->app;
  result.room = listing->room;
  result.room_record_id = listing->room_record_id;

  const double wt = job.transmux ? kTransmuxWeight : 0;
  const double wc = job.compose ? kComposeWeight * ((job.compose->video ? 1.0 : 0.1)) : 0;
  const double wp = job.participants ? kParticipantsWeight : 0;
  std::mutex progress_mu;
  auto report = [&](const char* phase, double base, double weight, uint64_t done, uint64_t total) {
    if (!job.progress) return;
    ConvertProgress p;
    p.phase = phase;
    p.done_ms = done;
    p.total_ms = total;
    double f = total ? static_cast<double>(std::min(done, total)) / static_cast<double>(total) : 1.0;
    p.fraction = std::clamp((base + weight * f) / (wt + wc + wp), 0.0, 1.0);
    std::lock_guard lock(progress_mu);
    job.progress(p);
  };

  std::set<std::string> seen;
  auto add_problems = [&](const std::vector<std::string>& ps) {
    for (const auto& raw : ps) {
      std::string p = util::printable_text(raw);  // already so where they arose; a backstop
      if (seen.insert(p).second) result.problems.push_back(std::move(p));
    }
  };
  add_problems(listing->problems);

  if (job.transmux) {
    TransmuxOptions opt = *job.transmux;
    opt.cancel = job.cancel;
    opt.progress = [&](uint64_t done, uint64_t total) { report("transmux", 0, wt, done, total); };
    auto r = transmux(src, opt);
    if (!r) return r.status().with_context("transmux");
    add_problems(r->problems);
    result.transmux = std::move(r.value());
  }
  if (job.compose) {
    ComposeOptions opt = *job.compose;
    opt.cancel = job.cancel;
    opt.progress = [&](uint64_t done, uint64_t total) { report("compose", wt, wc, done, total); };
    auto r = compose(src, opt);
    if (!r) return r.status().with_context("compose");
    add_problems(r->problems);
    result.compose = std::move(r.value());
  }
  if (job.participants) {
    ParticipantsOptions opt = *job.participants;
    opt.cancel = job.cancel;
    opt.progress = [&](uint64_t done, uint64_t total) { report("participants", wt + wc, wp, done, total); };
    auto r = make_participant_files(src, opt);
    if (!r) return r.status().with_context("participants");
    add_problems(r->problems);
    if (result.transmux) {
      if (Status s = add_participants_to_summary(*job.transmux, *result.transmux, *r); !s) return s;
    }
    result.participants = std::move(r.value());
  }
  return result;
}

uint64_t ConvertResult::output_bytes() const {
  uint64_t n = 0;
  if (transmux) {
    for (const auto& f : transmux->files) n += f.bytes;
    for (const auto& f : transmux->data_files) n += f.bytes;
  }
  if (compose) n += compose->bytes;
  if (participants)
    for (const auto& f : participants->files) n += f.bytes;
  return n;
}

std::string ConvertResult::to_json(int indent) const {
  nlohmann::ordered_json j;
  j["input"] = input_description;
  j["app"] = app;
  j["room"] = room;
  j["room_record_id"] = room_record_id;
  if (transmux) {
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const auto& f : transmux->files) {
      files.push_back({{"path", f.path},
                       {"uri", f.uri},
                       {"peer", f.peer},
                       {"session", f.session},
                       {"track", f.track},
                       {"codec", f.codec},
                       {"container", f.container},
                       {"start", f.start_ms},
                       {"end", f.end_ms},
                       {"width", f.width},
                       {"height", f.height},
                       {"frames", f.frames},
                       {"paused_ms", f.paused_ms},
                       {"bytes", f.bytes}});
    }
    nlohmann::ordered_json data_files = nlohmann::ordered_json::array();
    for (const auto& f : transmux->data_files)
      data_files.push_back({{"path", f.path},
                            {"uri", f.uri},
                            {"peer", f.peer},
                            {"session", f.session},
                            {"label", f.label},
                            {"start", f.start_ms},
                            {"end", f.end_ms},
                            {"messages", f.messages},
                            {"bytes", f.bytes}});
    nlohmann::ordered_json t;
    t["duration_ms"] = transmux->duration_ms;
    t["files"] = std::move(files);
    t["data_files"] = std::move(data_files);
    t["summary"] = nlohmann::ordered_json::parse(transmux->summary_json, nullptr, false);
    t["speakers"] = transmux->speakers ? nlohmann::ordered_json::parse(transmux->speakers->to_json(-1), nullptr, false)
                                       : nlohmann::ordered_json(nullptr);
    j["transmux"] = std::move(t);
  } else {
    j["transmux"] = nullptr;
  }
  if (compose)
    j["compose"] = {{"media_uri", compose->media_uri},
                    {"duration_ms", compose->duration_ms},
                    {"paused_ms", compose->paused_ms},
                    {"bytes", compose->bytes},
                    {"container", compose->container},
                    {"thumbnails", compose->thumbnails},
                    {"thumbnails_vtt", compose->thumbnails_vtt.empty() ? nlohmann::ordered_json(nullptr)
                                                                       : nlohmann::ordered_json(compose->thumbnails_vtt)}};
  else
    j["compose"] = nullptr;
  j["participants"] = participants ? nlohmann::ordered_json::parse(participants->to_json(-1), nullptr, false)
                                   : nlohmann::ordered_json(nullptr);
  j["problems"] = problems;
  // Every text in it is valid UTF-8 where it entered; replace is the backstop that never throws.
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace roomrec
