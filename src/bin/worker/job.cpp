#include "worker/job.h"

#include <algorithm>
#include <limits>
#include <random>
#include <type_traits>

#include <roomrec/converter.h>

#include "s3/s3_uri.h"
#include "util/utf8.h"
#include "util/text.h"
#include "worker/locations.h"

namespace roomrec::worker {
namespace {

using nlohmann::json;

Status bad(std::string message) { return Status::error(ErrorCode::invalid_argument, std::move(message)); }

Status check_fields(const json& obj, std::string_view where, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) return bad("unknown field " + std::string(where) + "." + key);
  }
  return Status::ok();
}

Status get_bool(const json& obj, const char* where, const char* key, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::ok();
  if (!it->is_boolean()) return bad(std::string(where) + "." + key + " must be true or false");
  out = it->get<bool>();
  return Status::ok();
}

// A whole number that fits; its range is the core's to check (validate()),
// so the worker says the same words as the C ABI, Python and the CLI.
template <class T>
Status get_number(const json& obj, const char* where, const char* key, T& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::ok();
  if constexpr (std::is_signed_v<T>) {
    if (!it->is_number_integer()) return bad(std::string(where) + "." + key + " must be a whole number");
    out = static_cast<T>(std::clamp<int64_t>(it->get<int64_t>(), -1000, 1000));  // still out of range if it was
  } else {
    if (!it->is_number_unsigned() || it->get<uint64_t>() > std::numeric_limits<T>::max())
      return bad(std::string(where) + "." + key + " must be a whole number from 0 to " +
                 std::to_string(std::numeric_limits<T>::max()));
    out = static_cast<T>(it->get<uint64_t>());
  }
  return Status::ok();
}

// custom_s3: absent, null or "" mean none. Transmux writes many objects, so
// it needs an S3 URI; compose also takes a presigned PUT URL. Never a local
// path: a client must not choose files on the worker's host.
Status get_custom_s3(const json& obj, const char* where, bool presigned_ok, std::string& out) {
  auto it = obj.find("custom_s3");
  if (it == obj.end() || it->is_null()) return Status::ok();
  if (!it->is_string()) return bad(std::string(where) + ".custom_s3 must be a string");
  const std::string& v = it->get_ref<const std::string&>();
  if (v.empty()) return Status::ok();
  if (!is_remote(v)) return bad(std::string(where) + ".custom_s3 must be an http:// or https:// S3 URI");
  auto uri = s3::S3Uri::parse(v);
  if (!uri) return bad(std::string(where) + ".custom_s3: " + uri.status().message());
  if (uri->presigned && !presigned_ok)
    return bad(std::string(where) + ".custom_s3 must be an S3 URI (a presigned URL names one object only)");
  out = v;
  return Status::ok();
}

// A client-chosen output: its host must be allowed now (a numeric address in
// any notation), and every connection is checked again when made.
template <class Options>
Status restrict_custom_output(Options& o, const Roots& roots) {
  auto uri = s3::S3Uri::parse(o.output);
  if (!uri) return uri.status();
  if (Status s = roots.custom_s3_allow.check_host(uri->host); !s) return s;
  o.output_address_allowed = roots.custom_s3_allow.for_host(uri->host);
  o.output_request_timeout_ms = roots.custom_s3_request_timeout_ms;
  return Status::ok();
}

// Jobs saved by a worker before the option names were unified (issue 16):
// compose.codec is now video_codec, compose.video_bitrate_kbps video_bitrate
// in bit/s. Only for jobs read back from the state folder or the queue; a
// new request with the old names is refused as an unknown field.
json upgrade_stored_request(json req) {
  auto c = req.find("compose");
  if (c == req.end() || !c->is_object()) return req;
  if (auto it = c->find("codec"); it != c->end()) {
    (*c)["video_codec"] = *it;
    c->erase(it);
  }
  if (auto it = c->find("video_bitrate_kbps"); it != c->end()) {
    if (it->is_number_unsigned() && it->get<uint64_t>() <= 4'000'000) (*c)["video_bitrate"] = it->get<uint64_t>() * 1000;
    c->erase(it);
  }
  return req;
}

Status get_string(const json& obj, const char* where, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::ok();
  if (!it->is_string()) return bad(std::string(where) + "." + key + " must be a string");
  out = it->get<std::string>();
  return Status::ok();
}

Status get_names(const json& obj, const char* key, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::ok();
  if (!it->is_array()) return bad(std::string("selection.") + key + " must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return bad(std::string("selection.") + key + " must be an array of strings");
    out.push_back(util::utf8_replace_invalid(v.get<std::string>()));
  }
  return Status::ok();
}

}  // namespace

Result<JobSpec> parse_job_spec(const json& body) {
  if (!body.is_object()) return bad("the body must be a JSON object");
  if (Status s = check_fields(body, "body", {"record_path", "transmux", "compose", "participants", "selection"}); !s)
    return s;
  JobSpec spec;
  auto rp = body.find("record_path");
  if (rp == body.end() || !rp->is_string()) return bad("record_path (a string) is required");
  spec.record_path = rp->get<std::string>();
  if (Status s = check_record_path(spec.record_path); !s) return s;

  if (auto t = body.find("transmux"); t != body.end() && !t->is_null()) {
    if (!t->is_object()) return bad("transmux must be an object");
    if (Status s = check_fields(*t, "transmux", {"custom_s3", "speakers", "pause_mode", "format", "mp4_mode"}); !s) return s;
    TransmuxSpec ts;
    if (Status s = get_custom_s3(*t, "transmux", false, ts.custom_s3); !s) return s;
    if (Status s = get_bool(*t, "transmux", "speakers", ts.speakers); !s) return s;
    if (Status s = get_string(*t, "transmux", "pause_mode", ts.pause_mode); !s) return s;
    if (Status s = get_string(*t, "transmux", "format", ts.format); !s) return s;
    if (Status s = get_string(*t, "transmux", "mp4_mode", ts.mp4_mode); !s) return s;
    TransmuxOptions check;
    check.pause_mode = ts.pause_mode;
    check.format = ts.format;
    check.mp4_mode = ts.mp4_mode;
    if (Status s = validate(check); !s) return s;
    spec.transmux = std::move(ts);
  }
  if (auto c = body.find("compose"); c != body.end() && !c->is_null()) {
    if (!c->is_object()) return bad("compose must be an object");
    if (Status s = check_fields(*c, "compose",
                                {"audio", "video", "custom_s3", "width", "height", "fps", "video_codec",
                                 "video_bitrate", "audio_bitrate", "layout", "speaker_hold_ms", "speaker_lead_ms",
                                 "names", "speaker_border", "pause_mode", "audio_codec", "thumbnail_interval_s"});
        !s)
      return s;
    ComposeSpec cs;
    ComposeOptions& o = cs.options;
    for (Status s : {get_bool(*c, "compose", "audio", cs.audio), get_bool(*c, "compose", "video", cs.video),
                     get_custom_s3(*c, "compose", true, cs.custom_s3), get_number(*c, "compose", "width", o.width),
                     get_number(*c, "compose", "height", o.height), get_number(*c, "compose", "fps", o.fps),
                     get_number(*c, "compose", "video_bitrate", o.video_bitrate),
                     get_number(*c, "compose", "audio_bitrate", o.audio_bitrate),
                     get_number(*c, "compose", "speaker_hold_ms", o.speaker_hold_ms),
                     get_number(*c, "compose", "speaker_lead_ms", o.speaker_lead_ms),
                     get_number(*c, "compose", "thumbnail_interval_s", o.thumbnail_interval_s),
                     get_bool(*c, "compose", "names", o.names), get_bool(*c, "compose", "speaker_border", o.speaker_border)})
      if (!s) return s;
    if (auto layout = c->find("layout"); layout != c->end() && !layout->is_null()) {
      if (layout->is_string()) o.layout = layout->get<std::string>();
      else if (layout->is_object()) o.layout = layout->dump();  // a custom layout: validate() reads its text
      else return bad("compose.layout must be a string (a layout name) or an object (a custom layout)");
    }
    if (auto codec = c->find("video_codec"); codec != c->end() && !codec->is_null()) {
      if (!codec->is_string()) return bad("compose.video_codec must be a string");
      o.video_codec = codec->get<std::string>();
    }
    if (Status s = get_string(*c, "compose", "pause_mode", o.pause_mode); !s) return s;
    if (Status s = get_string(*c, "compose", "audio_codec", o.audio_codec); !s) return s;
    o.audio = cs.audio;
    o.video = cs.video;
    if (Status s = validate(o); !s) return s;
    spec.compose = std::move(cs);
  }
  if (auto sel = body.find("selection"); sel != body.end() && !sel->is_null()) {
    if (!sel->is_object()) return bad("selection must be an object");
    if (Status s = check_fields(*sel, "selection", {"include_peers", "exclude_peers", "exclude_tracks"}); !s) return s;
    for (Status s : {get_names(*sel, "include_peers", spec.selection.include_peers),
                     get_names(*sel, "exclude_peers", spec.selection.exclude_peers),
                     get_names(*sel, "exclude_tracks", spec.selection.exclude_tracks)})
      if (!s) return s;
    if (Status s = validate(spec.selection); !s) return s;
  }
  if (auto p = body.find("participants"); p != body.end() && !p->is_null()) {
    if (!p->is_object()) return bad("participants must be an object");
    if (Status s = check_fields(*p, "participants", {"speaker_audio", "multichannel"}); !s) return s;
    ParticipantsSpec ps;
    for (Status s : {get_bool(*p, "participants", "speaker_audio", ps.speaker_audio),
                     get_bool(*p, "participants", "multichannel", ps.multichannel)})
      if (!s) return s;
    spec.participants = ps;
  }
  if (!spec.transmux && !spec.compose && !spec.participants)
    return bad("nothing to do: give transmux, compose, participants or several");
  return spec;
}

json spec_to_json(const JobSpec& spec) {
  json j;
  j["record_path"] = spec.record_path;
  if (spec.transmux) {
    j["transmux"] = json::object();
    if (!spec.transmux->custom_s3.empty()) j["transmux"]["custom_s3"] = spec.transmux->custom_s3;
    if (spec.transmux->speakers) j["transmux"]["speakers"] = true;
    if (spec.transmux->format != "auto") j["transmux"]["format"] = spec.transmux->format;
    if (spec.transmux->mp4_mode != "faststart") j["transmux"]["mp4_mode"] = spec.transmux->mp4_mode;
    if (spec.transmux->pause_mode != TransmuxOptions{}.pause_mode) j["transmux"]["pause_mode"] = spec.transmux->pause_mode;
  }
  if (spec.compose) {
    const ComposeOptions& o = spec.compose->options;
    json c = {{"audio", spec.compose->audio}, {"video", spec.compose->video},   {"width", o.width},
              {"height", o.height},           {"fps", o.fps},                   {"video_codec", o.video_codec},
              {"video_bitrate", o.video_bitrate}, {"audio_bitrate", o.audio_bitrate}};
    if (!spec.compose->custom_s3.empty()) c["custom_s3"] = spec.compose->custom_s3;
    if (!o.audio_codec.empty()) c["audio_codec"] = o.audio_codec;
    if (o.layout != "grid") {
      json custom = json::parse(o.layout, nullptr, false);
      c["layout"] = custom.is_object() ? custom : json(o.layout);
    }
    if (o.speaker_hold_ms != ComposeOptions{}.speaker_hold_ms) c["speaker_hold_ms"] = o.speaker_hold_ms;
    if (o.speaker_lead_ms != ComposeOptions{}.speaker_lead_ms) c["speaker_lead_ms"] = o.speaker_lead_ms;
    if (o.names) c["names"] = true;
    if (o.speaker_border) c["speaker_border"] = true;
    if (o.pause_mode != ComposeOptions{}.pause_mode) c["pause_mode"] = o.pause_mode;
    if (o.thumbnail_interval_s) c["thumbnail_interval_s"] = o.thumbnail_interval_s;
    j["compose"] = std::move(c);
  }
  if (!spec.selection.empty()) {
    json sel = json::object();
    if (!spec.selection.include_peers.empty()) sel["include_peers"] = spec.selection.include_peers;
    if (!spec.selection.exclude_peers.empty()) sel["exclude_peers"] = spec.selection.exclude_peers;
    if (!spec.selection.exclude_tracks.empty()) sel["exclude_tracks"] = spec.selection.exclude_tracks;
    j["selection"] = std::move(sel);
  }
  if (spec.participants)
    j["participants"] = {{"speaker_audio", spec.participants->speaker_audio},
                         {"multichannel", spec.participants->multichannel}};
  return j;
}

const char* job_state_name(JobState s) {
  switch (s) {
    case JobState::queued: return "queued";
    case JobState::running: return "running";
    case JobState::completed: return "completed";
    case JobState::failed: return "failed";
  }
  return "failed";
}

std::optional<JobState> job_state_from_name(std::string_view name) {
  for (JobState s : {JobState::queued, JobState::running, JobState::completed, JobState::failed})
    if (name == job_state_name(s)) return s;
  return std::nullopt;
}

std::string new_job_id() {
  static const char* hex = "0123456789abcdef";
  std::random_device rd;  // /dev/urandom: ids are not guessable
  std::string id = "job_";
  for (int i = 0; i < 3; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k) id += hex[(v >> (4 * k)) & 15];
  }
  return id;
}

bool is_job_id(std::string_view s) {
  if (s.size() != 28 || s.substr(0, 4) != "job_") return false;
  for (char c : s.substr(4))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

json job_to_state_json(const Job& job) {
  json j;
  j["job_id"] = job.id;
  j["app"] = job.app;
  j["request"] = spec_to_json(job.spec);
  j["accepted_ms"] = job.accepted_ms;
  j["state"] = job_state_name(job.state);
  j["progress"] = job.progress;
  j["attempts"] = job.attempts;
  j["crashes"] = job.crashes;
  j["started_ms"] = job.started_ms;
  j["finished_ms"] = job.finished_ms;
  j["result"] = job.result;
  j["error"] = job.error;
  return j;
}

Result<Job> job_from_state_json(const json& j) {
  if (!j.is_object()) return bad("not a JSON object");
  Job job;
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto num = [&](const char* key, auto& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return false;
    out = it->get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  std::string state;
  if (!str("job_id", job.id) || !is_job_id(job.id)) return bad("bad or missing job_id");
  if (!str("app", job.app) || !is_path_segment(job.app)) return bad("bad or missing app");
  if (!str("state", state) || !job_state_from_name(state)) return bad("bad or missing state");
  job.state = *job_state_from_name(state);
  if (!num("accepted_ms", job.accepted_ms) || !num("attempts", job.attempts) || !num("crashes", job.crashes) ||
      !num("started_ms", job.started_ms) || !num("finished_ms", job.finished_ms))
    return bad("bad or missing times or counters");
  auto req = j.find("request");
  if (req == j.end()) return bad("missing request");
  auto spec = parse_job_spec(upgrade_stored_request(*req));
  if (!spec) return spec.status().with_context("request");
  job.spec = std::move(*spec);
  if (auto p = j.find("progress"); p != j.end() && p->is_number()) job.progress = p->get<double>();
  if (auto r = j.find("result"); r != j.end()) job.result = *r;
  str("error", job.error);
  return job;
}

json job_to_api_json(const Job& job) {
  json j;
  j["job_id"] = job.id;
  j["app"] = job.app;
  j["record_path"] = job.spec.record_path;
  j["transmux"] = job.spec.transmux.has_value();
  j["compose"] = job.spec.compose.has_value();
  j["participants"] = job.spec.participants.has_value();
  j["state"] = job_state_name(job.state);
  j["progress"] = job.progress;
  j["attempts"] = job.attempts;
  j["accepted_ms"] = job.accepted_ms;
  j["started_ms"] = job.started_ms ? json(job.started_ms) : json(nullptr);
  j["finished_ms"] = job.finished_ms ? json(job.finished_ms) : json(nullptr);
  j["result"] = job.result;
  j["error"] = job.state == JobState::failed ? json(job.error) : json(nullptr);
  return j;
}

Result<ConvertJob> resolve_job(const Job& job, const Roots& roots) {
  ConvertJob cj;
  if (Status s = check_no_links(roots.input, job.spec.record_path); !s) return s;
  cj.input = join_location(roots.input, job.spec.record_path);
  cj.selection = job.spec.selection;
  const std::string day = utc_date_path(job.accepted_ms);
  if (job.spec.transmux) {
    TransmuxOptions t;
    t.speakers = job.spec.transmux->speakers;
    t.format = job.spec.transmux->format;
    t.mp4_mode = job.spec.transmux->mp4_mode;
    t.pause_mode = job.spec.transmux->pause_mode;
    if (!job.spec.transmux->custom_s3.empty()) {
      t.output = job.spec.transmux->custom_s3;
      if (Status s = restrict_custom_output(t, roots); !s) return s.with_context("transmux.custom_s3");
    }
    else if (!roots.transmux.empty())
      t.output = join_location(roots.transmux, job.app + "/transmux/" + day + "/" + job.id);
    else
      return bad("no transmux output: give transmux.custom_s3 (this worker has no --transmux-s3-uri)");
    cj.transmux = std::move(t);
  }
  if (job.spec.compose) {
    ComposeOptions c = job.spec.compose->options;
    c.audio = job.spec.compose->audio;
    c.video = job.spec.compose->video;
    if (!job.spec.compose->custom_s3.empty()) {
      c.output = job.spec.compose->custom_s3;
      if (Status s = restrict_custom_output(c, roots); !s) return s.with_context("compose.custom_s3");
    }
    else if (!roots.compose.empty())
      c.output = join_location(roots.compose, job.app + "/compose/" + day + "/" + job.id + "." + compose_container(c));
    else
      return bad("no compose output: give compose.custom_s3 (this worker has no --compose-s3-uri)");
    cj.compose = std::move(c);
  }
  if (job.spec.participants) {
    ParticipantsOptions p;
    p.speaker_audio = job.spec.participants->speaker_audio;
    p.multichannel = job.spec.participants->multichannel;
    if (roots.transmux.empty())
      return bad("no participants output: this worker has no --transmux-s3-uri (participant files go under it)");
    p.output = join_location(roots.transmux, job.app + "/participants/" + day + "/" + job.id);
    cj.participants = std::move(p);
  }
  if (Status s = validate(cj); !s) return s;
  return cj;
}

hooks::HookEvent completed_event(uint32_t node, uint64_t ts, const std::string& app, const std::string& job_id,
                                 const ConvertResult& result) {
  std::optional<hooks::ComposeOutput> composed;
  if (result.compose) composed = hooks::ComposeOutput{result.compose->media_uri, result.compose->duration_ms};
  hooks::CompletedExtra extra;
  if (result.transmux && result.transmux->speakers) {
    const auto& who = *result.transmux->speakers;
    extra.has_speakers = true;
    for (const auto& p : who.peers) {
      auto& spans = extra.speakers[p.peer];
      for (const auto& s : p.spans) spans.emplace_back(s.start_ms, s.end_ms);
    }
    if (!result.transmux->speakers_uri.empty())
      extra.outputs.push_back({"speakers", result.transmux->speakers_uri, "", who.to_json(2).size(),  // as written
                               result.transmux->duration_ms, ""});
  }
  if (result.compose && !result.compose->thumbnails_vtt.empty())
    extra.outputs.push_back({"thumbnails", result.compose->thumbnails_vtt, "", 0, result.compose->duration_ms, ""});
  const std::string people = result.participants ? result.participants->to_json(-1) : std::string();
  return hooks::compose_completed(node, ts, app, job_id, result.transmux ? &result.transmux->summary_json : nullptr,
                                  composed ? &*composed : nullptr, result.participants ? &people : nullptr, &extra);
}

}  // namespace roomrec::worker
