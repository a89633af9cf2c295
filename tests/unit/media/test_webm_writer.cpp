// WebmWriter: real VP8/VP9 (libvpx), Opus (libopus) and H264 (ffmpeg's
// libx264, made at run time) frames muxed into files that are then read back
// with mkvparser (always) and checked with ffprobe / ffmpeg (when installed).
#include <doctest/doctest.h>
#include <mkvparser/mkvparser.h>
#include <mkvparser/mkvreader.h>
#include <opus/opus.h>
#include <unistd.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <chrono>
#include <fstream>
#include <thread>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "media/webm_writer.h"

using namespace roomrec;
using namespace roomrec::media;
namespace fs = std::filesystem;

namespace {

// ---- helpers: files, processes ------------------------------------------------

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("roomrec_webm_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    if (std::getenv("ROOMREC_KEEP_TEST_FILES")) return;  // for debugging
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool have_ffmpeg() {
  static const bool have = run("ffprobe -version >/dev/null 2>&1").exit_code == 0 &&
                           run("ffmpeg -version >/dev/null 2>&1").exit_code == 0;
  return have;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

nlohmann::json probe(const std::string& file) {
  const RunResult r = run(
      "ffprobe -v error -show_entries stream=codec_name,width,height,channels,sample_rate:format=duration "
      "-of json " +
      q(file));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return nlohmann::json::parse(r.output);
}

double probe_duration(const nlohmann::json& j) { return std::stod(j.at("format").at("duration").get<std::string>()); }

const nlohmann::json* stream_of(const nlohmann::json& j, const std::string& codec) {
  for (const auto& s : j.at("streams"))
    if (s.value("codec_name", "") == codec) return &s;
  return nullptr;
}

// Full decode: nothing printed at level error, exit status 0.
void check_decodes(const std::string& file, const std::string& output_options = "") {
  const RunResult r =
      run("ffmpeg -v error -nostdin -threads 1 -i " + q(file) + " " + output_options + " -f null - 2>&1");
  CHECK_MESSAGE(r.exit_code == 0, file << ": " << r.output);
  CHECK_MESSAGE(r.output.empty(), file << ": " << r.output);
}

long long count_frames(const std::string& file, const char* stream) {
  const RunResult r = run(std::string("ffprobe -v error -count_frames -select_streams ") + stream +
                          " -show_entries stream=nb_read_frames -of csv=p=0 " + q(file));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return std::stoll(r.output);
}

long long count_packets(const std::string& file, const char* stream) {
  const RunResult r = run(std::string("ffprobe -v error -count_packets -select_streams ") + stream +
                          " -show_entries stream=nb_read_packets -of csv=p=0 " + q(file));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return std::stoll(r.output);
}

// ---- encoders ------------------------------------------------------------------

struct EncodedFrame {
  std::vector<uint8_t> data;
  bool key = false;
  uint64_t ts_ns = 0;
  uint32_t width = 0, height = 0;
};

struct SizeRun {
  uint32_t width, height;
  int frames;
};

// Encodes runs of frames (a new encoder, hence a key frame, at every size
// change) with a forced key frame every kf_every frames of a run (0: only at
// the run's start).
std::vector<EncodedFrame> encode_vpx(bool vp9, const std::vector<SizeRun>& runs, int fps, int kf_every) {
  std::vector<EncodedFrame> out;
  vpx_codec_iface_t* iface = vp9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();
  int index = 0;
  for (const SizeRun& run_size : runs) {
    vpx_codec_enc_cfg_t cfg;
    REQUIRE(vpx_codec_enc_config_default(iface, &cfg, 0) == VPX_CODEC_OK);
    cfg.g_w = run_size.width;
    cfg.g_h = run_size.height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = fps;
    cfg.rc_target_bitrate = 400;
    cfg.g_lag_in_frames = 0;
    cfg.g_threads = 1;
    cfg.rc_dropframe_thresh = 0;
    cfg.kf_mode = VPX_KF_DISABLED;
    vpx_codec_ctx_t ctx;
    REQUIRE(vpx_codec_enc_init(&ctx, iface, &cfg, 0) == VPX_CODEC_OK);
    vpx_codec_control(&ctx, VP8E_SET_CPUUSED, vp9 ? 9 : 16);
    vpx_image_t img;
    REQUIRE(vpx_img_alloc(&img, VPX_IMG_FMT_I420, run_size.width, run_size.height, 16) != nullptr);
    auto drain = [&](uint64_t ts_ns) {
      vpx_codec_iter_t iter = nullptr;
      while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&ctx, &iter)) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
        EncodedFrame f;
        const auto* p = static_cast<const uint8_t*>(pkt->data.frame.buf);
        f.data.assign(p, p + pkt->data.frame.sz);
        f.key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
        f.ts_ns = ts_ns;
        f.width = run_size.width;
        f.height = run_size.height;
        out.push_back(std::move(f));
      }
    };
    for (int i = 0; i < run_size.frames; ++i, ++index) {
      for (unsigned y = 0; y < run_size.height; ++y)
        for (unsigned x = 0; x < run_size.width; ++x)
          img.planes[0][y * img.stride[0] + x] = static_cast<uint8_t>((x + y + 4 * index) & 0xFF);
      for (int plane = 1; plane < 3; ++plane)
        for (unsigned y = 0; y < (run_size.height + 1) / 2; ++y)
          for (unsigned x = 0; x < (run_size.width + 1) / 2; ++x)
            img.planes[plane][y * img.stride[plane] + x] = static_cast<uint8_t>(plane == 1 ? 128 + (x & 31) : 96);
      const bool force = i == 0 || (kf_every > 0 && i % kf_every == 0);
      REQUIRE(vpx_codec_encode(&ctx, &img, i, 1, force ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME) ==
              VPX_CODEC_OK);
      drain(static_cast<uint64_t>(std::llround(index * 1e9 / fps)));
    }
    vpx_img_free(&img);
    vpx_codec_destroy(&ctx);
  }
  return out;
}

struct OpusStream {
  std::vector<EncodedFrame> frames;
  uint16_t pre_skip = 0;
};

// 48 kHz stereo, 20 ms packets of a 440 Hz sine.
OpusStream encode_opus(int packets) {
  OpusStream s;
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
  REQUIRE(err == OPUS_OK);
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(64000));
  opus_int32 lookahead = 0;
  opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&lookahead));
  s.pre_skip = static_cast<uint16_t>(lookahead);
  std::vector<opus_int16> pcm(960 * 2);
  std::vector<uint8_t> buf(4000);
  for (int p = 0; p < packets; ++p) {
    for (int i = 0; i < 960; ++i) {
      const double t = (p * 960 + i) / 48000.0;
      const auto v = static_cast<opus_int16>(std::lround(0.3 * 32767 * std::sin(2 * M_PI * 440 * t)));
      pcm[2 * i] = v;
      pcm[2 * i + 1] = v;
    }
    const opus_int32 n = opus_encode(enc, pcm.data(), 960, buf.data(), static_cast<opus_int32>(buf.size()));
    REQUIRE(n > 0);
    EncodedFrame f;
    f.data.assign(buf.begin(), buf.begin() + n);
    f.key = true;
    f.ts_ns = static_cast<uint64_t>(p) * 20000000ULL;
    s.frames.push_back(std::move(f));
  }
  opus_encoder_destroy(enc);
  return s;
}

// ---- muxing ----------------------------------------------------------------------

struct TrackFrames {
  uint64_t track;
  const std::vector<EncodedFrame>* frames;
  bool video;
  uint64_t offset_ns = 0;  // added to every timestamp
};

// Writes the tracks interleaved by time (audio first on ties), reporting
// video frame sizes as a depacketizer would (from key frames).
void mux(WebmWriter& w, const std::vector<TrackFrames>& tracks) {
  struct Item {
    uint64_t ts;
    size_t track_index;
    size_t frame_index;
  };
  std::vector<Item> items;
  for (size_t t = 0; t < tracks.size(); ++t)
    for (size_t i = 0; i < tracks[t].frames->size(); ++i)
      items.push_back({(*tracks[t].frames)[i].ts_ns + tracks[t].offset_ns, t, i});
  std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
    if (a.ts != b.ts) return a.ts < b.ts;
    return !tracks[a.track_index].video && tracks[b.track_index].video;
  });
  for (const Item& it : items) {
    const TrackFrames& t = tracks[it.track_index];
    const EncodedFrame& f = (*t.frames)[it.frame_index];
    if (t.video && f.key) w.note_video_size(t.track, f.width, f.height);
    const Status st = w.write_frame(t.track, f.data.data(), f.data.size(), it.ts, f.key);
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
}

// ---- reading back with mkvparser -------------------------------------------------

struct ParsedTrack {
  long long number = 0, type = 0;
  std::string codec_id;
  std::vector<uint8_t> codec_private;
  long long width = 0, height = 0;
  double sampling_rate = 0;
  long long channels = 0;
  unsigned long long codec_delay = 0, seek_pre_roll = 0;
  long long blocks = 0, key_blocks = 0;
};

struct ParsedFile {
  std::string doc_type;
  std::string writing_app;
  long long duration_ns = 0;
  std::map<long long, ParsedTrack> tracks;
  long long clusters = 0;
  long long cues = 0;
  long long cues_on_non_key = 0;
  long long cues_unresolved = 0;
};

ParsedFile parse_file(const std::string& path) {
  ParsedFile out;
  mkvparser::MkvReader reader;
  REQUIRE(reader.Open(path.c_str()) == 0);
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  REQUIRE(ebml.Parse(&reader, pos) >= 0);
  out.doc_type = ebml.m_docType ? ebml.m_docType : "";
  mkvparser::Segment* raw = nullptr;
  REQUIRE(mkvparser::Segment::CreateInstance(&reader, pos, raw) == 0);
  std::unique_ptr<mkvparser::Segment> seg(raw);
  REQUIRE(seg->Load() >= 0);
  const mkvparser::SegmentInfo* info = seg->GetInfo();
  REQUIRE(info);
  out.duration_ns = info->GetDuration();
  out.writing_app = info->GetWritingAppAsUTF8() ? info->GetWritingAppAsUTF8() : "";
  const mkvparser::Tracks* tracks = seg->GetTracks();
  REQUIRE(tracks);
  for (unsigned long i = 0; i < tracks->GetTracksCount(); ++i) {
    const mkvparser::Track* t = tracks->GetTrackByIndex(i);
    if (!t) continue;
    ParsedTrack pt;
    pt.number = t->GetNumber();
    pt.type = t->GetType();
    pt.codec_id = t->GetCodecId() ? t->GetCodecId() : "";
    size_t n = 0;
    const unsigned char* cp = t->GetCodecPrivate(n);
    if (cp) pt.codec_private.assign(cp, cp + n);
    pt.codec_delay = t->GetCodecDelay();
    pt.seek_pre_roll = t->GetSeekPreRoll();
    if (pt.type == mkvparser::Track::kVideo) {
      const auto* v = static_cast<const mkvparser::VideoTrack*>(t);
      pt.width = v->GetWidth();
      pt.height = v->GetHeight();
    } else if (pt.type == mkvparser::Track::kAudio) {
      const auto* a = static_cast<const mkvparser::AudioTrack*>(t);
      pt.sampling_rate = a->GetSamplingRate();
      pt.channels = a->GetChannels();
    }
    out.tracks[pt.number] = pt;
  }
  for (const mkvparser::Cluster* c = seg->GetFirst(); c && !c->EOS(); c = seg->GetNext(c)) {
    ++out.clusters;
    const mkvparser::BlockEntry* e = nullptr;
    REQUIRE(c->GetFirst(e) >= 0);
    while (e && !e->EOS()) {
      const mkvparser::Block* b = e->GetBlock();
      ParsedTrack& pt = out.tracks[b->GetTrackNumber()];
      pt.blocks += b->GetFrameCount();
      if (b->IsKey()) pt.key_blocks += b->GetFrameCount();
      REQUIRE(c->GetNext(e, e) >= 0);
    }
  }
  if (const mkvparser::Cues* cues = seg->GetCues()) {
    while (!cues->DoneParsing()) cues->LoadCuePoint();
    for (const mkvparser::CuePoint* cp = cues->GetFirst(); cp; cp = cues->GetNext(cp)) {
      ++out.cues;
      bool resolved = false;
      for (unsigned long i = 0; i < tracks->GetTracksCount(); ++i) {
        const mkvparser::Track* t = tracks->GetTrackByIndex(i);
        const mkvparser::CuePoint::TrackPosition* tp = t ? cp->Find(t) : nullptr;
        if (!tp) continue;
        const mkvparser::BlockEntry* be = cues->GetBlock(cp, tp);
        if (!be || be->EOS() || !be->GetBlock()) continue;
        resolved = true;
        if (!be->GetBlock()->IsKey()) ++out.cues_on_non_key;
      }
      if (!resolved) ++out.cues_unresolved;
    }
  }
  return out;
}

// The first video track's size from the headers only (the file may be unfinished).
std::pair<long long, long long> header_video_size(const std::string& path) {
  mkvparser::MkvReader reader;
  REQUIRE(reader.Open(path.c_str()) == 0);
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  REQUIRE(ebml.Parse(&reader, pos) >= 0);
  mkvparser::Segment* raw = nullptr;
  REQUIRE(mkvparser::Segment::CreateInstance(&reader, pos, raw) == 0);
  std::unique_ptr<mkvparser::Segment> seg(raw);
  REQUIRE(seg->ParseHeaders() == 0);
  const mkvparser::Tracks* tracks = seg->GetTracks();
  REQUIRE(tracks);
  for (unsigned long i = 0; i < tracks->GetTracksCount(); ++i) {
    const mkvparser::Track* t = tracks->GetTrackByIndex(i);
    if (t && t->GetType() == mkvparser::Track::kVideo) {
      const auto* v = static_cast<const mkvparser::VideoTrack*>(t);
      return {v->GetWidth(), v->GetHeight()};
    }
  }
  return {0, 0};
}

// 320x240 for 30 frames (key frame every 10), then 640x360 for 15 frames
// (key frame at the switch and 10 frames later): 45 frames, 1.5 s at 30 fps.
std::vector<EncodedFrame> size_change_stream(bool vp9) {
  return encode_vpx(vp9, {{320, 240, 30}, {640, 360, 15}}, 30, 10);
}

// ffprobe's stream size: for VP8 the track header's (the maximum); for VP9
// ffprobe decodes the first frame and reports that frame's size instead (the
// header is checked with mkvparser).
void check_probed_size(const nlohmann::json& s, const std::string& codec, int max_w, int max_h, int first_w,
                       int first_h) {
  if (codec == "vp9") {
    CHECK(s.at("width").get<int>() == first_w);
    CHECK(s.at("height").get<int>() == first_h);
  } else {
    CHECK(s.at("width").get<int>() == max_w);
    CHECK(s.at("height").get<int>() == max_h);
  }
}

void check_video_file(const std::string& path, const char* codec, const char* codec_id, long long frames,
                      double duration_s) {
  const ParsedFile pf = parse_file(path);
  CHECK(pf.doc_type == "webm");
  CHECK(pf.writing_app == "roomrec");
  REQUIRE(pf.tracks.count(1) == 1);
  const ParsedTrack& v = pf.tracks.at(1);
  CHECK(v.codec_id == codec_id);
  CHECK(v.width == 640);  // the maximum, though the header was written at 320x240
  CHECK(v.height == 360);
  CHECK(v.blocks == frames);
  CHECK(pf.cues >= 2);
  CHECK(pf.cues_on_non_key == 0);
  CHECK(pf.cues_unresolved == 0);
  CHECK(std::abs(pf.duration_ns / 1e9 - duration_s) < 0.05);
  if (!have_ffmpeg()) {
    MESSAGE("ffmpeg checks skipped: ffmpeg/ffprobe not installed");
    return;
  }
  const nlohmann::json j = probe(path);
  const nlohmann::json* s = stream_of(j, codec);
  REQUIRE_MESSAGE(s, j.dump());
  check_probed_size(*s, codec, 640, 360, 320, 240);
  CHECK(std::abs(probe_duration(j) - duration_s) < 0.05);
  // Both sizes decode.
  const RunResult sizes = run("ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 " +
                              q(path) + " | sort -u");
  CHECK(sizes.output == "320,240\n640,360\n");
  check_decodes(path);
  CHECK(count_frames(path, "v:0") == frames);
}

}  // namespace

// ---- video only -------------------------------------------------------------------

TEST_CASE("WebmWriter: VP8 and VP9 video with a mid-stream size change") {
  for (const bool vp9 : {false, true}) {
    CAPTURE(vp9);
    TempDir dir;
    const std::vector<EncodedFrame> frames = size_change_stream(vp9);
    REQUIRE(frames.size() == 45);
    const std::string path = dir.file(vp9 ? "v.vp9.webm" : "v.vp8.webm");
    uint64_t written = 0;
    {
      auto w = WebmWriter::create(path, Container::webm);
      REQUIRE_MESSAGE(w.is_ok(), w.status().to_string());
      VideoTrackParams vp;
      vp.codec = vp9 ? "vp9" : "vp8";
      vp.width = 320;
      vp.height = 240;
      auto track = (*w)->add_video_track(vp);
      REQUIRE_MESSAGE(track.is_ok(), track.status().to_string());
      CHECK(*track == 1);
      mux(**w, {{*track, &frames, true}});
      CHECK((*w)->frames_written(*track) == 45);
      const Status st = (*w)->finish();
      REQUIRE_MESSAGE(st.is_ok(), st.to_string());
      CHECK((*w)->finish().is_ok());  // idempotent
      written = (*w)->bytes_written();
    }
    CHECK(written == fs::file_size(path));
    check_video_file(path, vp9 ? "vp9" : "vp8", vp9 ? "V_VP9" : "V_VP8", 45, 1.5);
  }
}

TEST_CASE("WebmWriter: a larger size noted only after frames were written reaches the header") {
  TempDir dir;
  // Sizes below 256 too: the header's size fields were written with 2 bytes
  // and are patched with leading zero bytes.
  const std::vector<EncodedFrame> frames = encode_vpx(false, {{160, 120, 20}}, 30, 10);
  const std::string path = dir.file("late.webm");
  {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    VideoTrackParams vp;
    vp.codec = "VP8";
    vp.frame_rate = 30;
    const uint64_t track = *(*w)->add_video_track(vp);  // size unknown at first
    mux(**w, {{track, &frames, true}});
    // The unfinished file's header already carries the size seen so far.
    CHECK(header_video_size(path) == std::pair<long long, long long>(160, 120));
    (*w)->note_video_size(track, 176, 100);  // width grows, height does not
    (*w)->note_video_size(track, 0, 0);      // ignored
    (*w)->note_video_size(99, 4000, 4000);   // unknown track: ignored
    REQUIRE((*w)->finish().is_ok());
  }
  const ParsedFile pf = parse_file(path);
  CHECK(pf.tracks.at(1).width == 176);
  CHECK(pf.tracks.at(1).height == 120);
  CHECK(std::abs(pf.duration_ns / 1e9 - 20 / 30.0) < 0.05);
  if (have_ffmpeg()) {
    check_decodes(path);
    CHECK(count_frames(path, "v:0") == 20);
  }
}

TEST_CASE("WebmWriter: long GOP - clusters are cut every 5 s, cues stay on key frames") {
  TempDir dir;
  // 12 s at 10 fps, key frames only at 0 and 7 s: the 5 s cluster limit cuts
  // clusters on delta frames (at 5 s and 12 s would be next).
  std::vector<EncodedFrame> a = encode_vpx(false, {{160, 120, 70}}, 10, 0);
  std::vector<EncodedFrame> b = encode_vpx(false, {{160, 120, 50}}, 10, 0);
  for (EncodedFrame& f : b) f.ts_ns += 7000000000ULL;
  a.insert(a.end(), b.begin(), b.end());
  const std::string path = dir.file("gop.webm");
  {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    VideoTrackParams vp;
    vp.codec = "vp8";
    vp.width = 160;
    vp.height = 120;
    const uint64_t track = *(*w)->add_video_track(vp);
    mux(**w, {{track, &a, true}});
    REQUIRE((*w)->finish().is_ok());
  }
  const ParsedFile pf = parse_file(path);
  CHECK(pf.tracks.at(1).blocks == 120);
  CHECK(pf.tracks.at(1).key_blocks == 2);
  CHECK(pf.clusters >= 3);  // 0 s, 5 s (delta frame), 7 s (key frame), ...
  CHECK(pf.cues >= 2);
  CHECK(pf.cues_on_non_key == 0);
  CHECK(pf.cues_unresolved == 0);
  CHECK(std::abs(pf.duration_ns / 1e9 - 12.0) < 0.05);
  if (have_ffmpeg()) {
    check_decodes(path);
    // Seeking to 9 s lands on the 7 s key frame: decodes cleanly.
    const RunResult r = run("ffmpeg -v error -nostdin -threads 1 -ss 9 -i " + q(path) + " -f null - 2>&1");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(r.output.empty(), r.output);
  }
}

// ---- audio only ---------------------------------------------------------------------

TEST_CASE("WebmWriter: Opus audio only") {
  TempDir dir;
  const OpusStream opus = encode_opus(100);  // 2 s
  const std::string path = dir.file("a.webm");
  {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    AudioTrackParams ap;
    ap.pre_skip = opus.pre_skip;
    auto track = (*w)->add_audio_track(ap);
    REQUIRE_MESSAGE(track.is_ok(), track.status().to_string());
    mux(**w, {{*track, &opus.frames, false}});
    CHECK((*w)->frames_written(*track) == 100);
    REQUIRE((*w)->finish().is_ok());
  }
  const ParsedFile pf = parse_file(path);
  CHECK(pf.doc_type == "webm");
  const ParsedTrack& a = pf.tracks.at(1);
  CHECK(a.codec_id == "A_OPUS");
  CHECK(a.channels == 2);
  CHECK(a.sampling_rate == 48000);
  CHECK(a.seek_pre_roll == 80000000ULL);
  CHECK(a.codec_delay == static_cast<unsigned long long>(opus.pre_skip) * 1000000000ULL / 48000);
  const std::vector<uint8_t> head = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2,
                                     static_cast<uint8_t>(opus.pre_skip & 0xFF),
                                     static_cast<uint8_t>(opus.pre_skip >> 8), 0x80, 0xBB, 0, 0, 0, 0, 0};
  CHECK(a.codec_private == head);
  CHECK(a.blocks == 100);
  CHECK(pf.clusters == 1);  // 2 s < 5 s
  CHECK(pf.cues >= 1);
  CHECK(pf.cues_unresolved == 0);
  CHECK(std::abs(pf.duration_ns / 1e9 - 2.0) < 0.05);
  if (have_ffmpeg()) {
    const nlohmann::json j = probe(path);
    const nlohmann::json* s = stream_of(j, "opus");
    REQUIRE_MESSAGE(s, j.dump());
    CHECK(s->at("channels").get<int>() == 2);
    CHECK(s->at("sample_rate").get<std::string>() == "48000");
    CHECK(std::abs(probe_duration(j) - 2.0) < 0.05);
    check_decodes(path);
    CHECK(count_packets(path, "a:0") == 100);
  }
}

TEST_CASE("WebmWriter: the same frames and start date give the same bytes; DateUTC is the media's start") {
  TempDir dir;
  const OpusStream opus = encode_opus(50);
  auto write = [&](const std::string& path, uint64_t date_ms) {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    if (date_ms) (*w)->set_date_utc_ms(date_ms);
    AudioTrackParams ap;
    ap.pre_skip = opus.pre_skip;
    auto track = (*w)->add_audio_track(ap);
    REQUIRE(track.is_ok());
    mux(**w, {{*track, &opus.frames, false}});
    REQUIRE((*w)->finish().is_ok());
  };
  auto bytes = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  const uint64_t date = 1700000000123;  // 2023-11-14T22:13:20.123Z
  write(dir.file("a.webm"), date);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a date of writing would now differ
  write(dir.file("b.webm"), date);
  CHECK(bytes(dir.file("a.webm")) == bytes(dir.file("b.webm")));
  write(dir.file("c.webm"), date + 1000);
  CHECK(bytes(dir.file("a.webm")) != bytes(dir.file("c.webm")));
  if (have_ffmpeg()) {
    const RunResult r = run("ffprobe -v error -show_entries format_tags=creation_time -of csv=p=0 " +
                            q(dir.file("a.webm")));
    CHECK(r.output.rfind("2023-11-14T22:13:20.123", 0) == 0);
  }
}

TEST_CASE("WebmWriter: long audio-only file gets ~5 s clusters with cues") {
  TempDir dir;
  const OpusStream opus = encode_opus(600);  // 12 s
  const std::string path = dir.file("long.webm");
  {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    const uint64_t track = *(*w)->add_audio_track({});
    mux(**w, {{track, &opus.frames, false}});
    REQUIRE((*w)->finish().is_ok());
  }
  const ParsedFile pf = parse_file(path);
  CHECK(pf.clusters == 3);
  CHECK(pf.cues == 3);
  CHECK(pf.cues_unresolved == 0);
  CHECK(pf.tracks.at(1).blocks == 600);
  CHECK(std::abs(pf.duration_ns / 1e9 - 12.0) < 0.05);
  if (have_ffmpeg()) {
    check_decodes(path);
    CHECK(std::abs(probe_duration(probe(path)) - 12.0) < 0.05);
  }
}

// ---- audio + video -------------------------------------------------------------------

TEST_CASE("WebmWriter: audio and video interleaved") {
  for (const bool vp9 : {false, true}) {
    CAPTURE(vp9);
    TempDir dir;
    const std::vector<EncodedFrame> video = size_change_stream(vp9);
    const OpusStream opus = encode_opus(100);
    const std::string path = dir.file("av.webm");
    {
      auto w = WebmWriter::create(path, Container::webm);
      REQUIRE(w.is_ok());
      VideoTrackParams vp;
      vp.codec = vp9 ? "vp9" : "vp8";
      vp.width = 320;
      vp.height = 240;
      const uint64_t vt = *(*w)->add_video_track(vp);
      AudioTrackParams ap;
      ap.pre_skip = opus.pre_skip;
      const uint64_t at = *(*w)->add_audio_track(ap);
      CHECK(vt == 1);
      CHECK(at == 2);
      mux(**w, {{vt, &video, true}, {at, &opus.frames, false}});
      CHECK((*w)->frames_written(vt) == 45);
      CHECK((*w)->frames_written(at) == 100);
      REQUIRE((*w)->finish().is_ok());
    }
    const ParsedFile pf = parse_file(path);
    CHECK(pf.tracks.at(1).width == 640);
    CHECK(pf.tracks.at(1).height == 360);
    CHECK(pf.tracks.at(1).blocks == 45);
    CHECK(pf.tracks.at(2).blocks == 100);
    CHECK(pf.cues_on_non_key == 0);
    CHECK(std::abs(pf.duration_ns / 1e9 - 2.0) < 0.05);  // audio is the longer track
    if (have_ffmpeg()) {
      const nlohmann::json j = probe(path);
      const nlohmann::json* v = stream_of(j, vp9 ? "vp9" : "vp8");
      const nlohmann::json* a = stream_of(j, "opus");
      REQUIRE_MESSAGE(v, j.dump());
      REQUIRE_MESSAGE(a, j.dump());
      check_probed_size(*v, vp9 ? "vp9" : "vp8", 640, 360, 320, 240);
      CHECK(a->at("channels").get<int>() == 2);
      CHECK(std::abs(probe_duration(j) - 2.0) < 0.05);
      check_decodes(path);
      CHECK(count_frames(path, "v:0") == 45);
      CHECK(count_packets(path, "a:0") == 100);
    }
  }
}

TEST_CASE("WebmWriter: video joining late, and a video track that never gets a frame, lose no audio") {
  TempDir dir;
  const OpusStream opus = encode_opus(100);
  const std::vector<EncodedFrame> video = encode_vpx(false, {{320, 240, 30}}, 30, 10);
  SUBCASE("video starts at 0.5 s") {
    const std::string path = dir.file("late_video.webm");
    {
      auto w = WebmWriter::create(path, Container::webm);
      REQUIRE(w.is_ok());
      const uint64_t vt = *(*w)->add_video_track({"vp8", 320, 240, {}, 30});
      const uint64_t at = *(*w)->add_audio_track({});
      mux(**w, {{vt, &video, true, 500000000ULL}, {at, &opus.frames, false}});
      REQUIRE((*w)->finish().is_ok());
    }
    const ParsedFile pf = parse_file(path);
    CHECK(pf.tracks.at(1).blocks == 30);
    CHECK(pf.tracks.at(2).blocks == 100);
    CHECK(pf.cues_on_non_key == 0);
    if (have_ffmpeg()) {
      check_decodes(path);
      CHECK(count_packets(path, "a:0") == 100);
      CHECK(count_frames(path, "v:0") == 30);
    }
  }
  SUBCASE("no video frame at all") {
    const std::string path = dir.file("no_video.webm");
    {
      auto w = WebmWriter::create(path, Container::webm);
      REQUIRE(w.is_ok());
      const uint64_t vt = *(*w)->add_video_track({"vp8", 320, 240, {}, 0});
      const uint64_t at = *(*w)->add_audio_track({});
      mux(**w, {{at, &opus.frames, false}});
      CHECK((*w)->frames_written(vt) == 0);
      REQUIRE((*w)->finish().is_ok());
    }
    const ParsedFile pf = parse_file(path);
    CHECK(pf.tracks.at(2).blocks == 100);
    CHECK(std::abs(pf.duration_ns / 1e9 - 2.0) < 0.05);
    if (have_ffmpeg()) CHECK(count_packets(path, "a:0") == 100);
  }
}

TEST_CASE("WebmWriter: a frame older than the last one is written at the last time") {
  TempDir dir;
  const std::vector<EncodedFrame> video = encode_vpx(false, {{320, 240, 10}}, 30, 0);
  const std::string path = dir.file("clamp.webm");
  {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    const uint64_t vt = *(*w)->add_video_track({"vp8", 320, 240, {}, 30});
    for (size_t i = 0; i < video.size(); ++i) {
      uint64_t ts = video[i].ts_ns;
      if (i == 5) ts = video[2].ts_ns;  // goes back in time: written 1 ms after frame 4
      if (i == 6) ts = video[5].ts_ns;  // the same time as frame 5 should have had
      REQUIRE((*w)->write_frame(vt, video[i].data.data(), video[i].data.size(), ts, video[i].key).is_ok());
    }
    CHECK((*w)->frames_written(vt) == 10);
    REQUIRE((*w)->finish().is_ok());
  }
  CHECK(parse_file(path).tracks.at(1).blocks == 10);
  if (have_ffmpeg()) {
    const RunResult r = run("ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 " + q(path));
    CHECK(r.output == "0\n33\n66\n100\n133\n134\n166\n233\n266\n300\n");
    // Passthrough timing: at ffmpeg's default 30 fps output time base, the
    // frames at 133 and 134 ms would collide (an ffmpeg CLI message, not a
    // problem of the file).
    check_decodes(path, "-enc_time_base 1/1000 -fps_mode passthrough");
    CHECK(count_frames(path, "v:0") == 10);
  }
}

// ---- H264 in Matroska ----------------------------------------------------------------

namespace {

std::vector<std::vector<uint8_t>> split_annexb(const std::vector<uint8_t>& b) {
  std::vector<std::vector<uint8_t>> nals;
  size_t i = 0, start = std::string::npos;
  while (i + 3 <= b.size()) {
    if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1) {
      if (start != std::string::npos) {
        size_t end = i;
        while (end > start && b[end - 1] == 0) --end;  // the 4-byte start code's zero
        nals.emplace_back(b.begin() + start, b.begin() + end);
      }
      i += 3;
      start = i;
    } else {
      ++i;
    }
  }
  if (start != std::string::npos && start < b.size()) nals.emplace_back(b.begin() + start, b.end());
  return nals;
}

}  // namespace

TEST_CASE("WebmWriter: H264 (AVCC frames, avcC) in mkv") {
  if (!have_ffmpeg()) {
    MESSAGE("skipped: ffmpeg not installed");
    return;
  }
  TempDir dir;
  const std::string es = dir.file("in.h264");
  const RunResult gen =
      run("ffmpeg -v error -nostdin -f lavfi -i testsrc=size=320x240:rate=15 -frames:v 15 -c:v libx264 -threads 1 "
          "-bf 0 -g 5 -pix_fmt yuv420p -bsf:v h264_mp4toannexb -f h264 " +
          q(es) + " 2>&1");
  if (gen.exit_code != 0) {
    MESSAGE("skipped: ffmpeg cannot encode H264 here: " << gen.output);
    return;
  }
  std::ifstream in(es, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto nals = split_annexb(bytes);
  REQUIRE(!nals.empty());

  // Access units: a frame starts at a slice with first_mb_in_slice == 0, or at
  // the non-VCL NALs (SPS, PPS, SEI, AUD) before it.
  struct Au {
    std::vector<uint8_t> avcc;
    bool key = false;
    bool has_vcl = false;
  };
  std::vector<Au> aus;
  std::vector<uint8_t> sps, pps;
  Au cur;
  auto flush = [&] {
    if (cur.has_vcl) aus.push_back(cur);
    cur = Au{};
  };
  for (const auto& nal : nals) {
    if (nal.empty()) continue;
    const int type = nal[0] & 0x1F;
    const bool vcl = type == 1 || type == 5;
    if (vcl && nal.size() > 1 && (nal[1] & 0x80) && cur.has_vcl) flush();
    if (!vcl && cur.has_vcl) flush();
    if (type == 7 && sps.empty()) sps = nal;
    if (type == 8 && pps.empty()) pps = nal;
    if (type == 9) continue;  // access unit delimiter
    const auto n = static_cast<uint32_t>(nal.size());
    cur.avcc.insert(cur.avcc.end(), {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                                     static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    cur.avcc.insert(cur.avcc.end(), nal.begin(), nal.end());
    if (vcl) cur.has_vcl = true;
    if (type == 5) cur.key = true;
  }
  flush();
  REQUIRE(aus.size() == 15);
  REQUIRE(sps.size() >= 4);
  REQUIRE(!pps.empty());
  std::vector<uint8_t> avcc = {1, sps[1], sps[2], sps[3], 0xFF, 0xE1, static_cast<uint8_t>(sps.size() >> 8),
                               static_cast<uint8_t>(sps.size())};
  avcc.insert(avcc.end(), sps.begin(), sps.end());
  avcc.insert(avcc.end(), {1, static_cast<uint8_t>(pps.size() >> 8), static_cast<uint8_t>(pps.size())});
  avcc.insert(avcc.end(), pps.begin(), pps.end());

  {
    auto webm = WebmWriter::create(dir.file("h264.webm"), Container::webm);
    REQUIRE(webm.is_ok());
    auto r = (*webm)->add_video_track({"h264", 320, 240, avcc, 15});
    REQUIRE(!r.is_ok());
    CHECK(r.status().code() == ErrorCode::unsupported);
  }

  const std::string path = dir.file("h264.mkv");
  {
    auto w = WebmWriter::create(path, Container::mkv);
    REQUIRE(w.is_ok());
    auto no_avcc = (*w)->add_video_track({"h264", 320, 240, {}, 15});
    CHECK(no_avcc.status().code() == ErrorCode::invalid_argument);
    const uint64_t vt = *(*w)->add_video_track({"h264", 320, 240, avcc, 15});
    for (size_t i = 0; i < aus.size(); ++i) {
      const Status st = (*w)->write_frame(vt, aus[i].avcc.data(), aus[i].avcc.size(),
                                          static_cast<uint64_t>(std::llround(i * 1e9 / 15)), aus[i].key);
      REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    }
    REQUIRE((*w)->finish().is_ok());
  }
  const ParsedFile pf = parse_file(path);
  CHECK(pf.doc_type == "matroska");
  CHECK(pf.tracks.at(1).codec_id == "V_MPEG4/ISO/AVC");
  CHECK(pf.tracks.at(1).codec_private == avcc);
  CHECK(pf.tracks.at(1).key_blocks == 3);
  CHECK(pf.cues_on_non_key == 0);
  const nlohmann::json j = probe(path);
  const nlohmann::json* s = stream_of(j, "h264");
  REQUIRE_MESSAGE(s, j.dump());
  CHECK(s->at("width").get<int>() == 320);
  CHECK(s->at("height").get<int>() == 240);
  CHECK(std::abs(probe_duration(j) - 1.0) < 0.05);
  check_decodes(path);
  CHECK(count_frames(path, "v:0") == 15);
}

// ---- AV1 -----------------------------------------------------------------------------------

namespace {

// The first video track of a Matroska file: its frames and CodecPrivate.
struct ExtractedVideo {
  std::vector<EncodedFrame> frames;
  std::vector<uint8_t> codec_private;
};

ExtractedVideo extract_video(const std::string& path) {
  ExtractedVideo out;
  mkvparser::MkvReader reader;
  REQUIRE(reader.Open(path.c_str()) == 0);
  long long pos = 0;
  mkvparser::EBMLHeader ebml;
  REQUIRE(ebml.Parse(&reader, pos) >= 0);
  mkvparser::Segment* raw = nullptr;
  REQUIRE(mkvparser::Segment::CreateInstance(&reader, pos, raw) == 0);
  std::unique_ptr<mkvparser::Segment> seg(raw);
  REQUIRE(seg->Load() >= 0);
  const mkvparser::Track* video = nullptr;
  for (unsigned long i = 0; i < seg->GetTracks()->GetTracksCount(); ++i) {
    const mkvparser::Track* t = seg->GetTracks()->GetTrackByIndex(i);
    if (t && t->GetType() == mkvparser::Track::kVideo) video = t;
  }
  REQUIRE(video);
  size_t n = 0;
  if (const unsigned char* cp = video->GetCodecPrivate(n)) out.codec_private.assign(cp, cp + n);
  for (const mkvparser::Cluster* c = seg->GetFirst(); c && !c->EOS(); c = seg->GetNext(c)) {
    const mkvparser::BlockEntry* e = nullptr;
    REQUIRE(c->GetFirst(e) >= 0);
    while (e && !e->EOS()) {
      const mkvparser::Block* b = e->GetBlock();
      if (b->GetTrackNumber() == video->GetNumber()) {
        for (int f = 0; f < b->GetFrameCount(); ++f) {
          const mkvparser::Block::Frame& fr = b->GetFrame(f);
          EncodedFrame ef;
          ef.data.resize(static_cast<size_t>(fr.len));
          REQUIRE(fr.Read(&reader, ef.data.data()) == 0);
          ef.key = b->IsKey();
          ef.ts_ns = static_cast<uint64_t>(b->GetTime(c));
          out.frames.push_back(std::move(ef));
        }
      }
      REQUIRE(c->GetNext(e, e) >= 0);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("WebmWriter: AV1 (av1C codec private) in webm") {
  if (!have_ffmpeg()) {
    MESSAGE("skipped: ffmpeg not installed");
    return;
  }
  TempDir dir;
  // AV1 made by ffmpeg's libaom, taken out of its WebM file with mkvparser
  // (temporal units without temporal delimiters, and ffmpeg's av1C).
  const std::string src = dir.file("src.webm");
  const RunResult gen = run(
      "ffmpeg -v error -nostdin -f lavfi -i testsrc=size=160x120:rate=15 -frames:v 15 -c:v libaom-av1 -cpu-used 8 "
      "-usage realtime -g 5 -threads 1 " +
      q(src) + " 2>&1");
  if (gen.exit_code != 0) {
    MESSAGE("skipped: ffmpeg cannot encode AV1 here: " << gen.output);
    return;
  }
  const ExtractedVideo av1 = extract_video(src);
  REQUIRE(av1.frames.size() == 15);
  REQUIRE(av1.codec_private.size() > 4);
  const std::string path = dir.file("av1.webm");
  {
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    auto vt = (*w)->add_video_track({"av1", 160, 120, av1.codec_private, 15});
    REQUIRE_MESSAGE(vt.is_ok(), vt.status().to_string());
    mux(**w, {{*vt, &av1.frames, true}});
    REQUIRE((*w)->finish().is_ok());
  }
  const ParsedFile pf = parse_file(path);
  CHECK(pf.doc_type == "webm");
  CHECK(pf.tracks.at(1).codec_id == "V_AV1");
  CHECK(pf.tracks.at(1).codec_private == av1.codec_private);
  CHECK(pf.tracks.at(1).width == 160);
  CHECK(pf.tracks.at(1).height == 120);
  CHECK(pf.cues_on_non_key == 0);
  const nlohmann::json j = probe(path);
  const nlohmann::json* s = stream_of(j, "av1");
  REQUIRE_MESSAGE(s, j.dump());
  CHECK(s->at("width").get<int>() == 160);
  CHECK(s->at("height").get<int>() == 120);
  CHECK(std::abs(probe_duration(j) - 1.0) < 0.05);
  check_decodes(path);
  CHECK(count_frames(path, "v:0") == 15);
}

// ---- errors ------------------------------------------------------------------------------

TEST_CASE("WebmWriter: errors are Status values") {
  TempDir dir;
  SUBCASE("unwritable path") {
    auto w = WebmWriter::create(dir.file("no/such/dir/x.webm"), Container::webm);
    REQUIRE(!w.is_ok());
    CHECK(w.status().code() == ErrorCode::io);
    CHECK(w.status().message().find("no/such/dir/x.webm") != std::string::npos);
  }
  SUBCASE("a directory is not a file") {
    auto w = WebmWriter::create(dir.path.string(), Container::webm);
    REQUIRE(!w.is_ok());
    CHECK(w.status().code() == ErrorCode::io);
  }
  SUBCASE("bad tracks and frames") {
    const std::string path = dir.file("e.webm");
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    CHECK((*w)->add_video_track({"mpeg2", 320, 240, {}, 0}).status().code() == ErrorCode::unsupported);
    AudioTrackParams pcm;
    pcm.codec = "pcmu";
    CHECK((*w)->add_audio_track(pcm).status().code() == ErrorCode::unsupported);
    AudioTrackParams six;
    six.channels = 6;
    CHECK((*w)->add_audio_track(six).status().code() == ErrorCode::invalid_argument);
    AudioTrackParams none;
    none.channels = 0;
    CHECK((*w)->add_audio_track(none).status().code() == ErrorCode::invalid_argument);

    const uint64_t at = *(*w)->add_audio_track({});
    const OpusStream opus = encode_opus(3);
    const auto& f = opus.frames[0].data;
    Status st = (*w)->write_frame(at + 1, f.data(), f.size(), 0, true);
    CHECK(st.code() == ErrorCode::invalid_argument);
    CHECK(st.message().find("unknown track") != std::string::npos);
    CHECK((*w)->write_frame(at, nullptr, 0, 0, true).code() == ErrorCode::invalid_argument);
    CHECK((*w)->frames_written(at) == 0);
    CHECK((*w)->frames_written(77) == 0);

    REQUIRE((*w)->write_frame(at, f.data(), f.size(), 0, true).is_ok());
    CHECK((*w)->add_video_track({"vp8", 320, 240, {}, 0}).status().code() == ErrorCode::invalid_argument);
    REQUIRE((*w)->finish().is_ok());
    CHECK((*w)->write_frame(at, f.data(), f.size(), 20000000, true).code() == ErrorCode::invalid_argument);
    CHECK(fs::file_size(path) == (*w)->bytes_written());
  }
  SUBCASE("finishing without a frame") {
    const std::string path = dir.file("empty.webm");
    auto w = WebmWriter::create(path, Container::webm);
    REQUIRE(w.is_ok());
    (void)(*w)->add_audio_track({});
    CHECK((*w)->finish().code() == ErrorCode::invalid_argument);
    CHECK(!fs::exists(path));
  }
  SUBCASE("the destructor finishes") {
    const std::string path = dir.file("dtor.webm");
    const OpusStream opus = encode_opus(50);
    {
      auto w = WebmWriter::create(path, Container::webm);
      REQUIRE(w.is_ok());
      const uint64_t at = *(*w)->add_audio_track({});
      mux(**w, {{at, &opus.frames, false}});
    }
    const ParsedFile pf = parse_file(path);
    CHECK(pf.tracks.at(1).blocks == 50);
    CHECK(std::abs(pf.duration_ns / 1e9 - 1.0) < 0.05);
  }
  SUBCASE("a full disk is an error, not a crash") {
    if (!fs::exists("/dev/full")) return;
    auto w = WebmWriter::create("/dev/full", Container::webm);
    REQUIRE(w.is_ok());
    const uint64_t at = *(*w)->add_audio_track({});
    const OpusStream opus = encode_opus(400);
    Status st;
    for (const auto& fr : opus.frames) {
      st = (*w)->write_frame(at, fr.data.data(), fr.data.size(), fr.ts_ns, true);
      if (!st) break;
    }
    Status fin = (*w)->finish();
    CHECK((!st.is_ok() || !fin.is_ok()));
    const Status& bad = st.is_ok() ? fin : st;
    CHECK(bad.code() == ErrorCode::resource_exhausted);
  }
}
