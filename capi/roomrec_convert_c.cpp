// The convert half of the C ABI (capi/roomrec_convert.h) over the conversion
// library: transmux / compose jobs and replay. Compiled into
// libroomrec-convert; errors go to libroomrec's per-thread last error.
#include "roomrec_convert.h"

#include <roomrec/converter.h>
#include <roomrec/replayer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "capi_common.h"

using namespace roomrec;
using namespace roomrec::capi;

namespace {

// ---- conversion jobs --------------------------------------------------------

std::vector<std::string> names(const Obj& o, const char* k) {
  std::vector<std::string> out;
  if (!o.has(k)) return out;
  const json& v = o.at(k);
  if (!v.is_array()) throw JsonError{o.name(k) + " must be an array of strings"};
  for (const auto& x : v) {
    if (!x.is_string()) throw JsonError{o.name(k) + " must be an array of strings"};
    out.push_back(x.get<std::string>());
  }
  return out;
}

ConvertJob parse_job(const char* job_json) {
  json j = parse_json(job_json, "job_json");
  Obj o(j, "job", {"input", "transmux", "compose", "participants", "selection"});
  ConvertJob job;
  job.input = o.required_str("input");
  if (o.has("transmux")) {
    Obj t(o.at("transmux"), "job.transmux", {"output", "temp_dir", "threads", "speakers", "format", "mp4_mode", "pause_mode"});
    TransmuxOptions opt;
    opt.output = t.required_str("output");
    opt.temp_dir = t.str("temp_dir");
    opt.threads = t.u32("threads", 0);
    opt.speakers = t.boolean("speakers", false);
    opt.format = t.str("format", opt.format);
    opt.mp4_mode = t.str("mp4_mode", opt.mp4_mode);
    opt.pause_mode = t.str("pause_mode", opt.pause_mode);
    job.transmux = std::move(opt);
  }
  if (o.has("compose")) {
    Obj c(o.at("compose"), "job.compose",
          {"output", "audio", "video", "width", "height", "fps", "video_codec", "audio_codec", "video_bitrate", "audio_bitrate",
           "threads", "keyframe_interval_s", "cpu_used", "temp_dir", "thumbnail_interval_s", "layout",
           "speaker_hold_ms", "speaker_lead_ms", "names", "speaker_border", "pause_mode"});
    ComposeOptions opt;
    opt.output = c.required_str("output");
    opt.temp_dir = c.str("temp_dir");
    opt.audio = c.boolean("audio", opt.audio);
    opt.video = c.boolean("video", opt.video);
    opt.width = c.u32("width", opt.width);
    opt.height = c.u32("height", opt.height);
    opt.fps = c.u32("fps", opt.fps);
    opt.video_codec = c.str("video_codec", opt.video_codec);
    opt.audio_codec = c.str("audio_codec", opt.audio_codec);
    opt.video_bitrate = c.u32("video_bitrate", opt.video_bitrate);
    opt.audio_bitrate = c.u32("audio_bitrate", opt.audio_bitrate);
    opt.threads = c.u32("threads", opt.threads);
    opt.keyframe_interval_s = c.u32("keyframe_interval_s", opt.keyframe_interval_s);
    opt.thumbnail_interval_s = c.u32("thumbnail_interval_s", 0);
    if (c.has("layout")) {  // a name, or a custom layout object (validate() reads its text)
      const json& l = c.at("layout");
      if (l.is_string()) opt.layout = l.get<std::string>();
      else if (l.is_object()) opt.layout = l.dump();
      else throw JsonError{c.name("layout") + " must be a string (a layout name) or an object (a custom layout)"};
    }
    opt.speaker_hold_ms = c.u32("speaker_hold_ms", opt.speaker_hold_ms);
    opt.speaker_lead_ms = c.u32("speaker_lead_ms", opt.speaker_lead_ms);
    opt.names = c.boolean("names", false);
    opt.speaker_border = c.boolean("speaker_border", false);
    opt.pause_mode = c.str("pause_mode", opt.pause_mode);
    // Ranges are the core's (validate()): out of int's range still reads as out of range.
    opt.cpu_used = static_cast<int>(std::clamp<int64_t>(c.i64("cpu_used", opt.cpu_used), -1000, 1000));
    job.compose = std::move(opt);
  }
  if (o.has("selection")) {
    Obj sel(o.at("selection"), "job.selection", {"include_peers", "exclude_peers", "exclude_tracks"});
    job.selection.include_peers = names(sel, "include_peers");
    job.selection.exclude_peers = names(sel, "exclude_peers");
    job.selection.exclude_tracks = names(sel, "exclude_tracks");
  }
  if (o.has("participants")) {
    Obj p(o.at("participants"), "job.participants",
          {"output", "temp_dir", "threads", "speaker_audio", "multichannel"});
    ParticipantsOptions opt;
    opt.output = p.required_str("output");
    opt.temp_dir = p.str("temp_dir");
    opt.threads = p.u32("threads", 0);
    opt.speaker_audio = p.boolean("speaker_audio", opt.speaker_audio);
    opt.multichannel = p.boolean("multichannel", opt.multichannel);
    job.participants = std::move(opt);
  }
  return job;
}

}  // namespace

struct roomrec_replayer {
  std::unique_ptr<Replayer> r;
  ReplayItem item;  // what the last roomrec_replayer_next handed out
  std::atomic<bool> stop{false};
};

struct roomrec_convert_job {
  ConvertJob job;
  std::atomic<bool> cancel{false};
  roomrec_progress_cb progress = nullptr;
  void* user = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int code = ROOMREC_OK;
  std::string message, result;
  std::thread thread;
};

extern "C" {

// ---- conversion ------------------------------------------------------------------------

int roomrec_convert(const char* job_json, char** result_json) {
  if (result_json) *result_json = nullptr;
  return guarded([&] {
    if (!result_json) return invalid("result_json is NULL");
    ConvertJob job = parse_job(job_json);
    auto r = convert(job);
    if (!r) return fail(r.status());
    *result_json = dup_string(r->to_json(2));
    return ROOMREC_OK;
  });
}

int roomrec_convert_job_start(const char* job_json, roomrec_progress_cb progress, void* user,
                              roomrec_convert_job** out) {
  if (out) *out = nullptr;
  return guarded([&] {
    if (!out) return invalid("out is NULL");
    auto job = std::make_unique<roomrec_convert_job>();
    job->job = parse_job(job_json);
    if (Status s = validate(job->job); !s) return fail(s);
    job->progress = progress;
    job->user = user;
    roomrec_convert_job* jp = job.get();
    job->job.cancel = &jp->cancel;
    job->job.progress = [jp](const ConvertProgress& p) {
      if (jp->progress) jp->progress(p.phase, p.done_ms, p.total_ms, p.fraction, jp->user);
    };
    job->thread = std::thread([jp] {
      int code = ROOMREC_OK;
      std::string message, result;
      try {
        auto r = convert(jp->job);
        if (r) {
          result = r->to_json(2);
        } else {
          code = code_of(r.status().code());
          message = r.status().message();
        }
      } catch (const std::bad_alloc&) {
        code = ROOMREC_ERR_INTERNAL;
        message = "out of memory";
      } catch (const std::exception& e) {
        code = ROOMREC_ERR_INTERNAL;
        message = std::string("internal error: ") + e.what();
      } catch (...) {
        code = ROOMREC_ERR_INTERNAL;
        message = "internal error: unknown exception";
      }
      std::lock_guard lock(jp->mu);
      jp->code = code;
      jp->message = std::move(message);
      jp->result = std::move(result);
      jp->done = true;
      jp->cv.notify_all();
    });
    *out = job.release();
    return ROOMREC_OK;
  });
}

int roomrec_convert_job_cancel(roomrec_convert_job* job) {
  if (!job) return invalid("job is NULL");
  job->cancel.store(true);
  return ROOMREC_OK;
}

int roomrec_convert_job_wait(roomrec_convert_job* job, int64_t timeout_ms) {
  return guarded([&] {
    if (!job) return invalid("job is NULL");
    std::unique_lock lock(job->mu);
    if (timeout_ms < 0) {
      job->cv.wait(lock, [&] { return job->done; });
      return 1;
    }
    return job->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return job->done; }) ? 1 : 0;
  });
}

int roomrec_convert_job_result(roomrec_convert_job* job, char** result_json) {
  if (result_json) *result_json = nullptr;
  return guarded([&] {
    if (!job) return invalid("job is NULL");
    std::unique_lock lock(job->mu);
    job->cv.wait(lock, [&] { return job->done; });
    if (job->code != ROOMREC_OK) return fail(job->code, job->message);
    if (result_json) *result_json = dup_string(job->result);
    return ROOMREC_OK;
  });
}

void roomrec_convert_job_free(roomrec_convert_job* job) {
  if (!job) return;
  job->cancel.store(true);
  if (job->thread.joinable()) {
    if (job->thread.get_id() == std::this_thread::get_id())
      job->thread.detach();  // freed from its own progress callback: a misuse the header forbids
    else
      job->thread.join();
  }
  delete job;
}

// ---- replay ------------------------------------------------------------------------------------

namespace {

// The first version of roomrec_replay_item ends with `size`: a caller's
// struct_size must reach that far; fields added later are filled only when
// the caller's struct has room for them.
constexpr size_t kReplayItemV1Size = offsetof(roomrec_replay_item, size) + sizeof(size_t);
static_assert(kReplayItemV1Size == sizeof(roomrec_replay_item), "new fields: fill them only when struct_size has room");

void fill_item(const ReplayItem& it, roomrec_replay_item* out) {
  out->struct_size = sizeof(roomrec_replay_item);
  out->kind = it.kind == ReplayItemKind::rtp ? ROOMREC_REPLAY_RTP
              : it.kind == ReplayItemKind::rtcp ? ROOMREC_REPLAY_RTCP
                                                : ROOMREC_REPLAY_DATA;
  out->track_id = it.track_id;
  out->due_ms = it.due_ms;
  out->media_ms = it.media_ms;
  out->recorded_ms = it.recorded_ms;
  out->keyframe = it.keyframe ? 1 : 0;
  out->binary = it.binary ? 1 : 0;
  out->label = it.label.c_str();
  out->bytes = it.bytes.data();
  out->size = it.bytes.size();
}

}  // namespace

int roomrec_replayer_open(const char* config_json, roomrec_replayer** out) {
  if (out) *out = nullptr;
  return guarded([&] {
    if (!out) return invalid("out is NULL");
    json j = parse_json(config_json, "config_json");
    Obj o(j, "replay", {"input", "peer", "session", "tracks", "data", "seek_ms", "speed", "rtcp", "rtcp_interval_ms",
                        "cname", "ntp_origin_ms", "map", "srtp"});
    std::string input = o.required_str("input");
    ReplayOptions opt;
    opt.peer = o.required_str("peer");
    if (o.has("session")) opt.session = o.u64("session", 0);
    if (o.has("tracks")) {
      const json& t = o.at("tracks");
      if (!t.is_array()) return invalid("replay.tracks must be an array of track names or ids");
      for (const auto& v : t) {
        if (v.is_string()) opt.tracks.push_back(v.get<std::string>());
        else if (v.is_number_unsigned()) opt.tracks.push_back(std::to_string(v.get<uint64_t>()));
        else return invalid("replay.tracks must be an array of track names or ids");
      }
    }
    opt.include_data = o.boolean("data", true);
    opt.seek_ms = o.u64("seek_ms", 0);
    if (o.has("speed")) {
      const json& v = o.at("speed");
      if (!v.is_number()) return invalid("replay.speed must be a number");
      opt.speed = v.get<double>();
    }
    opt.rtcp = o.boolean("rtcp", true);
    opt.rtcp_interval_ms = o.u32("rtcp_interval_ms", 1000);
    opt.cname = o.str("cname");
    opt.ntp_origin_ms = o.u64("ntp_origin_ms", 0);
    if (o.has("map")) {
      const json& m = o.at("map");
      if (!m.is_object()) return invalid("replay.map must be an object of track names or ids to mappings");
      for (auto it = m.begin(); it != m.end(); ++it) {
        Obj t(it.value(), "replay.map." + it.key(), {"ssrc", "payload_type", "first_seq", "first_timestamp"});
        ReplayTrackMapping mp;
        if (t.has("ssrc")) mp.ssrc = t.u32("ssrc", 0);
        if (t.has("payload_type")) mp.payload_type = static_cast<uint8_t>(t.u64("payload_type", 0, 127));
        if (t.has("first_seq")) mp.first_seq = static_cast<uint16_t>(t.u64("first_seq", 0, 65535));
        if (t.has("first_timestamp")) mp.first_timestamp = t.u32("first_timestamp", 0);
        opt.mapping[it.key()] = mp;
      }
    }
    if (o.has("srtp")) {
      auto key = srtp_key_from_json(o.at("srtp"), "replay.srtp");
      if (!key) return fail(key.status());
      opt.srtp = std::move(key.value());
    }
    auto r = Replayer::open(input, opt);
    if (!r) return fail(r.status());
    auto h = std::make_unique<roomrec_replayer>();
    h->r = std::move(r.value());
    *out = h.release();
    return ROOMREC_OK;
  });
}

int roomrec_replayer_info(roomrec_replayer* r, char** info_json) {
  if (info_json) *info_json = nullptr;
  return guarded([&] {
    if (!r) return invalid("replayer is NULL");
    if (!info_json) return invalid("info_json is NULL");
    json tracks = json::array();
    for (const auto& t : r->r->tracks())
      tracks.push_back({{"id", t.id},
                        {"name", t.info.name},
                        {"kind", t.info.kind == TrackKind::video ? "video" : "audio"},
                        {"codec", t.info.codec},
                        {"clock_rate", t.info.clock_rate},
                        {"channels", t.info.channels},
                        {"fmtp", t.info.fmtp},
                        {"ssrc", t.ssrc},
                        {"payload_type", t.payload_type},
                        {"packets", t.packets},
                        {"keyframes", t.keyframes}});
    json j = {{"peer", r->r->peer()},
              {"session", r->r->session()},
              {"cname", r->r->cname()},
              {"duration_ms", r->r->duration_ms()},
              {"start_ms", r->r->start_recorded_ms()},
              {"tracks", tracks}};
    *info_json = dup_string(j.dump(-1, ' ', false, json::error_handler_t::replace));
    return ROOMREC_OK;
  });
}

int roomrec_replayer_sdp(roomrec_replayer* r, const char* address, uint16_t first_port, char** sdp) {
  if (sdp) *sdp = nullptr;
  return guarded([&] {
    if (!r) return invalid("replayer is NULL");
    if (!address || !*address) return invalid("address is NULL or empty");
    if (!sdp) return invalid("sdp is NULL");
    auto text = r->r->sdp(address, first_port);
    if (!text) return fail(text.status());
    *sdp = dup_string(*text);
    return ROOMREC_OK;
  });
}

int roomrec_replayer_next(roomrec_replayer* r, roomrec_replay_item* item) {
  return guarded([&] {
    if (!r) return invalid("replayer is NULL");
    if (!item) return invalid("item is NULL");
    if (item->struct_size < kReplayItemV1Size)
      return invalid("item->struct_size must be sizeof(roomrec_replay_item) (use ROOMREC_REPLAY_ITEM_INIT)");
    const size_t caller_size = item->struct_size;
    if (r->r->next(r->item)) {
      roomrec_replay_item full;
      fill_item(r->item, &full);
      std::memcpy(item, &full, std::min(caller_size, sizeof full));
      item->struct_size = caller_size;
      return 1;
    }
    Status s = r->r->status();
    if (!s) return fail(s);
    return 0;
  });
}

int roomrec_replayer_run(roomrec_replayer* r, roomrec_replay_cb cb, void* user) {
  return guarded([&] {
    if (!r) return invalid("replayer is NULL");
    if (!cb) return invalid("callback is NULL");
    r->stop.store(false);
    roomrec_replay_item item;
    Status s = r->r->run(
        [&](const ReplayItem& it) {
          fill_item(it, &item);
          return cb(&item, user) == 0;
        },
        &r->stop);
    if (!s) return fail(s);
    return ROOMREC_OK;
  });
}

int roomrec_replayer_stop(roomrec_replayer* r) {
  if (!r) return invalid("replayer is NULL");
  r->stop.store(true);
  return ROOMREC_OK;
}

int roomrec_replayer_stats(roomrec_replayer* r, char** stats_json) {
  if (stats_json) *stats_json = nullptr;
  return guarded([&] {
    if (!r) return invalid("replayer is NULL");
    if (!stats_json) return invalid("stats_json is NULL");
    const ReplayStats& st = r->r->stats();
    json j = {{"rtp_packets", st.rtp_packets},
              {"rtp_bytes", st.rtp_bytes},
              {"rtcp_packets", st.rtcp_packets},
              {"data_messages", st.data_messages},
              {"duplicates_dropped", st.duplicates_dropped},
              {"skipped_before_start", st.skipped_before_start},
              {"segments", st.segments},
              {"malformed", st.malformed},
              {"protect_failures", st.protect_failures},
              {"problems", r->r->problems()}};
    *stats_json = dup_string(j.dump(-1, ' ', false, json::error_handler_t::replace));
    return ROOMREC_OK;
  });
}

void roomrec_replayer_free(roomrec_replayer* r) {
  if (!r) return;
  guarded([&] {
    delete r;
    return ROOMREC_OK;
  });
}

}  // extern "C"
