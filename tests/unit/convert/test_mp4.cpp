// MP4 output (issue 18): H264, AV1 and Opus tracks remuxed into MP4 byte for
// byte (faststart and fragmented), the container option and its fallbacks,
// rotation; checked with ffprobe, a full ffmpeg decode and per-packet MD5s
// against the frames assembled from the RTP payloads.
#include <doctest/doctest.h>

#include <roomrec/recording_source.h>
#include <roomrec/composer.h>
#include <roomrec/transmuxer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../temp_dir.h"
#include "mp4_rooms.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;

namespace {

TransmuxResult run_transmux(const BuiltRoom& room, const std::string& out, const std::string& format = "auto",
                            const std::string& mode = "faststart") {
  auto src = RecordingSource::open(room.room_dir());
  REQUIRE_MESSAGE(src.is_ok(), src.status().to_string());
  TransmuxOptions o;
  o.output = out;
  o.format = format;
  o.mp4_mode = mode;
  auto r = transmux(*src.value(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return std::move(r.value());
}

const TransmuxFile* file_of(const TransmuxResult& r, const std::string& track) {
  for (auto& f : r.files)
    if (f.track == track) return &f;
  return nullptr;
}

std::string ext_of(const std::string& path) { return fs::path(path).extension().string(); }

std::vector<std::string> md5s_of(const std::vector<Bytes>& frames) {
  std::vector<std::string> m;
  for (auto& f : frames) m.push_back(md5_hex(f.data(), f.size()));
  return m;
}

// ffprobe's first video stream: rotation from the display matrix side data (0 without one).
// The tkhd matrix's a, b, c, d (16.16) of the first track.
std::vector<int32_t> tkhd_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t i = d.find("tkhd");
  if (i == std::string::npos) return {};
  const size_t off = i + 4 + 4 + (d[i + 4] == 1 ? 32 : 20) + 8 + 8;
  auto be32 = [&](size_t at) {
    return static_cast<int32_t>((uint32_t(uint8_t(d[at])) << 24) | (uint32_t(uint8_t(d[at + 1])) << 16) |
                                (uint32_t(uint8_t(d[at + 2])) << 8) | uint8_t(d[at + 3]));
  };
  return {be32(off), be32(off + 4), be32(off + 12), be32(off + 16)};
}

int probed_rotation(const std::string& path) {
  std::string js = run_capture("ffprobe -v error -select_streams v:0 -show_streams -of json '" + path + "' 2>/dev/null");
  auto j = nlohmann::json::parse(js, nullptr, false);
  if (j.is_discarded() || j["streams"].empty()) return -1;
  for (auto& sd : j["streams"][0].value("side_data_list", nlohmann::json::array()))
    if (sd.contains("rotation")) return sd["rotation"].get<int>();
  return 0;
}

struct H264Capture {
  std::vector<Bytes> packets;
  H264Capture() { packets = capture_ffmpeg_h264(3, 15, "320x240"); }
};
const H264Capture& h264_capture() {
  static H264Capture c;  // one real-time capture for the cases that need one
  return c;
}

}  // namespace

TEST_CASE("H264 into MP4 by default: faststart, bit-exact frames, plays") {
  const auto& packets = h264_capture().packets;
  REQUIRE(packets.size() > 30);
  TempDir dir, out;
  auto room = record_feeds(dir.str(), "h264peer", {h264_feed(packets), opus_feed(3.0, 440)});
  auto r = run_transmux(room, out.str());
  const TransmuxFile* v = file_of(r, "video_main");
  REQUIRE(v);
  CHECK(ext_of(v->path) == ".mp4");
  CHECK(v->container == "mp4");
  CHECK(v->codec == "h264");
  const std::string path = out.str() + "/" + v->path;
  // The index at the front.
  auto boxes = mp4_boxes(path);
  REQUIRE(boxes.size() >= 3);
  CHECK(boxes[0] == "ftyp");
  auto moov = std::find(boxes.begin(), boxes.end(), "moov"), mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  REQUIRE(moov != boxes.end());
  REQUIRE(mdat != boxes.end());
  CHECK(moov < mdat);
  auto pv = probe(path);
  INFO("decode errors: " << pv.decode_errors);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.codec == "h264");
  CHECK(pv.width == 320);
  CHECK(pv.height == 240);
  CHECK(pv.frames == 45);
  CHECK(pv.duration == doctest::Approx(3.0).epsilon(0.05));
  // Byte for byte what the RTP payloads carried.
  auto expected = md5s_of(h264_frames_from_rtp(packets));
  auto got = packet_md5s(path);
  CHECK(expected.size() == 45);
  CHECK(got == expected);
  // Audio stays WebM under auto; summary.json names each container.
  const TransmuxFile* a = file_of(r, "audio_main");
  REQUIRE(a);
  CHECK(a->container == "webm");
  auto summary = nlohmann::json::parse(r.summary_json);
  auto& tl = summary["peers"]["h264peer"]["sessions"]["1"]["track"]["video_main"]["timeline"][0];
  CHECK(tl["container"] == "mp4");
  CHECK(tl["path"] == v->path);
  CHECK(r.problems.empty());
}

TEST_CASE("format mp4: Opus into MP4 too (dOps), byte for byte; fragmented mode") {
  const auto& packets = h264_capture().packets;
  REQUIRE(packets.size() > 30);
  TempDir dir, out;
  auto audio = opus_feed(3.0, 440);
  auto room = record_feeds(dir.str(), "p", {h264_feed(packets), audio});
  auto r = run_transmux(room, out.str(), "mp4", "fragmented");
  const TransmuxFile* a = file_of(r, "audio_main");
  const TransmuxFile* v = file_of(r, "video_main");
  REQUIRE(a);
  REQUIRE(v);
  CHECK(a->container == "mp4");
  CHECK(ext_of(a->path) == ".mp4");
  auto pa = probe(out.str() + "/" + a->path);
  INFO("decode errors: " << pa.decode_errors);
  CHECK(pa.ok);
  CHECK(pa.decode_errors.empty());
  CHECK(pa.codec == "opus");
  CHECK(pa.channels == 2);
  CHECK(pa.duration == doctest::Approx(3.0).epsilon(0.05));
  std::vector<Bytes> opus;
  for (auto& p : audio.packets) opus.push_back(rtp_payload(p));
  CHECK(packet_md5s(out.str() + "/" + a->path, "a") == md5s_of(opus));

  const std::string vpath = out.str() + "/" + v->path;
  auto boxes = mp4_boxes(vpath);
  CHECK(std::count(boxes.begin(), boxes.end(), "moof") >= 3);  // a fragment per key frame (every second)
  CHECK(std::find(boxes.begin(), boxes.end(), "moov") < std::find(boxes.begin(), boxes.end(), "moof"));
  auto pv = probe(vpath);
  INFO("decode errors: " << pv.decode_errors);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.frames == 45);
  CHECK(pv.duration == doctest::Approx(3.0).epsilon(0.05));
  CHECK(packet_md5s(vpath) == md5s_of(h264_frames_from_rtp(packets)));

  // A conversion cut short: the fragments written so far still play.
  const uint64_t size = fs::file_size(vpath);
  const std::string cut = out.str() + "/cut.mp4";
  fs::copy_file(vpath, cut);
  fs::resize_file(cut, size * 6 / 10);
  int st = 0;
  std::string count = run_capture("ffprobe -v quiet -count_frames -select_streams v:0 -show_entries "
                                  "stream=nb_read_frames -of csv=p=0 '" + cut + "'", &st);
  const int frames = std::atoi(count.c_str());
  INFO("frames in the cut file: " << count);
  CHECK(frames >= 15);
  CHECK(frames < 45);
}

TEST_CASE("H264 parameter sets changing mid-track (a new size): one MP4, in-band SPS/PPS, every frame decodes") {
  auto first = capture_ffmpeg_h264(2, 15, "320x240");
  auto second = capture_ffmpeg_h264(2, 15, "640x480");
  REQUIRE(first.size() > 20);
  REQUIRE(second.size() > 20);
  // The second encoder continues the first's RTP stream.
  uint16_t seq = static_cast<uint16_t>((first.back()[2] << 8 | first.back()[3]) + 1);
  const uint32_t ts_base = rtp_ts(first.back()) + 6000 - rtp_ts(second.front());
  std::vector<Bytes> packets = first;
  for (auto p : second) {
    p[2] = static_cast<uint8_t>(seq >> 8);
    p[3] = static_cast<uint8_t>(seq++);
    const uint32_t ts = rtp_ts(p) + ts_base;
    for (int k = 0; k < 4; ++k) p[4 + k] = static_cast<uint8_t>(ts >> (24 - 8 * k));
    std::copy(first.front().begin() + 8, first.front().begin() + 12, p.begin() + 8);  // same SSRC
    packets.push_back(p);
  }
  TempDir dir, out;
  auto room = record_feeds(dir.str(), "p", {h264_feed(packets)});
  auto r = run_transmux(room, out.str());
  REQUIRE(r.files.size() == 1);
  const std::string path = out.str() + "/" + r.files[0].path;
  CHECK(r.files[0].width == 640);
  CHECK(r.files[0].height == 480);
  auto pv = probe(path);
  INFO("decode errors: " << pv.decode_errors);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.frames == 60);
  CHECK(packet_md5s(path) == md5s_of(h264_frames_from_rtp(packets)));
  // Both sizes come out of the decoder.
  std::string sizes = run_capture("ffmpeg -nostdin -hide_banner -i '" + path +
                                  "' -vf showinfo -f null - 2>&1 | grep -o ' s:[0-9]*x[0-9]*' | sort -u");
  CHECK(sizes.find("320x240") != std::string::npos);
  CHECK(sizes.find("640x480") != std::string::npos);
}

TEST_CASE("AV1 into MP4 (av1C from the sequence header), bit-exact; webm when asked") {
  TempDir src, dir, out, out_webm;
  auto av1 = make_av1_stream(src.str(), 30, 15, "320x240");
  REQUIRE_MESSAGE(av1.ok, av1.error);
  FeedTrack t;
  t.info.kind = TrackKind::video;
  t.info.name = "video_main";
  t.info.codec = "AV1";
  t.info.clock_rate = 90000;
  t.packets = av1.packets;
  t.at_ms = av1.at_ms;
  auto room = record_feeds(dir.str(), "av1peer", {t});
  auto r = run_transmux(room, out.str());
  REQUIRE(r.files.size() == 1);
  CHECK(r.files[0].container == "mp4");
  CHECK(r.files[0].codec == "av1");
  const std::string path = out.str() + "/" + r.files[0].path;
  CHECK(ext_of(path) == ".mp4");
  auto pv = probe(path);
  INFO("decode errors: " << pv.decode_errors);
  CHECK(pv.ok);
  CHECK(pv.decode_errors.empty());
  CHECK(pv.codec == "av1");
  CHECK(pv.width == 320);
  CHECK(pv.height == 240);
  CHECK(pv.frames == 30);
  CHECK(pv.duration == doctest::Approx(2.0).epsilon(0.05));
  CHECK(packet_md5s(path) == md5s_of(av1.frames));

  auto w = run_transmux(room, out_webm.str(), "webm");
  REQUIRE(w.files.size() == 1);
  CHECK(w.files[0].container == "webm");
  CHECK(ext_of(w.files[0].path) == ".webm");
  CHECK(packet_md5s(out_webm.str() + "/" + w.files[0].path) == md5s_of(av1.frames));
}

TEST_CASE("a codec the asked container cannot hold goes to the nearest one that can, and says so") {
  TempDir dir, out_mp4, out_webm, out_mkv;
  // VP8 + Opus asked into MP4: the VP8 video goes to WebM, the Opus audio to MP4.
  auto room = record_room(dir.str(), {{.peer = "vp8peer", .leave_ms = 2000}});
  auto r = run_transmux(room, out_mp4.str(), "mp4");
  const TransmuxFile* v = file_of(r, "video_main");
  const TransmuxFile* a = file_of(r, "audio_main");
  REQUIRE(v);
  REQUIRE(a);
  CHECK(v->container == "webm");
  CHECK(ext_of(v->path) == ".webm");
  CHECK(a->container == "mp4");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0] == "vp8 cannot go into mp4: track video_main of vp8peer/1 written as webm");
  CHECK(probe(out_mp4.str() + "/" + v->path).decode_errors.empty());
  // H264 asked into WebM: Matroska.
  const auto& packets = h264_capture().packets;
  REQUIRE(packets.size() > 30);
  TempDir dir2;
  auto hroom = record_feeds(dir2.str(), "h", {h264_feed(packets)});
  auto w = run_transmux(hroom, out_webm.str(), "webm");
  REQUIRE(w.files.size() == 1);
  CHECK(w.files[0].container == "mkv");
  CHECK(ext_of(w.files[0].path) == ".mkv");
  REQUIRE(w.problems.size() == 1);
  CHECK(w.problems[0] == "h264 cannot go into webm: track video_main of h/1 written as mkv");
  auto pw = probe(out_webm.str() + "/" + w.files[0].path);
  CHECK(pw.decode_errors.empty());
  CHECK(pw.frames == 45);
  // mkv takes everything, without a problem.
  auto m = run_transmux(hroom, out_mkv.str(), "mkv");
  REQUIRE(m.files.size() == 1);
  CHECK(m.files[0].container == "mkv");
  CHECK(m.problems.empty());
  CHECK(packet_md5s(out_mkv.str() + "/" + m.files[0].path) == md5s_of(h264_frames_from_rtp(packets)));
}

TEST_CASE("video orientation (CVO) becomes the MP4's display matrix, which players apply") {
  const auto& packets = h264_capture().packets;
  REQUIRE(packets.size() > 30);
  // CVO's rotation is clockwise, as the picture must be turned for display.
  // Oracle: ffmpeg's own display-matrix rotation (autorotate) must give the
  // stored picture turned that way by a filter.
  for (auto [cvo, filter] : {std::pair{1, "transpose=clock"}, std::pair{2, "hflip,vflip"},
                             std::pair{3, "transpose=cclock"}, std::pair{0, "null"}}) {
    CAPTURE(cvo);
    std::vector<Bytes> turned;
    for (auto& p : packets) turned.push_back(with_extension(p, 4, static_cast<uint8_t>(cvo)));
    TempDir dir, out;
    auto room = record_feeds(dir.str(), "phone", {h264_feed(turned, 4)});
    auto r = run_transmux(room, out.str());
    REQUIRE(r.files.size() == 1);
    const std::string path = out.str() + "/" + r.files[0].path;
    CHECK(std::abs(probed_rotation(path)) == (cvo == 0 ? 0 : cvo == 2 ? 180 : 90));
    // ISO/IEC 14496-12 tkhd: 90 clockwise is {0, 1, -1, 0}, as phones write a portrait recording.
    const std::vector<int32_t> expected_matrix[4] = {
        {0x10000, 0, 0, 0x10000}, {0, 0x10000, -0x10000, 0}, {-0x10000, 0, 0, -0x10000}, {0, -0x10000, 0x10000, 0}};
    CHECK(tkhd_matrix(path) == expected_matrix[cvo]);
    const std::string shown = run_capture("ffmpeg -nostdin -v error -i '" + path +
                                          "' -map 0:v -frames:v 3 -f framemd5 - | grep -v '^#'");
    const std::string turned_by_filter = run_capture("ffmpeg -nostdin -v error -noautorotate -i '" + path +
                                                     "' -map 0:v -vf " + filter +
                                                     " -frames:v 3 -f framemd5 - | grep -v '^#'");
    CHECK(shown.size() > 40);
    CHECK(shown == turned_by_filter);
    CHECK(packet_md5s(path) == md5s_of(h264_frames_from_rtp(packets)));
    auto summary = nlohmann::json::parse(r.summary_json);
    CHECK(summary["peers"]["phone"]["sessions"]["1"]["track"]["video_main"]["timeline"][0]["rotation"] == cvo * 90);
    CHECK(r.problems.empty());
  }
}

TEST_CASE("bad transmux container options are refused") {
  TransmuxOptions o;
  o.format = "mov";
  CHECK(validate(o).message() == "transmux.format must be auto, webm, mkv or mp4");
  o.format = "mp4";
  o.mp4_mode = "progressive";
  CHECK(validate(o).message() == "transmux.mp4_mode must be faststart or fragmented");
  o.mp4_mode = "fragmented";
  CHECK(validate(o).is_ok());
}

TEST_CASE("composed MP4: H264 (OpenH264) with AAC and with Opus, index at the front, decodes whole") {
  TempDir dir;
  auto room = record_room(dir.str(), {{.peer = "a", .leave_ms = 3000, .tone_hz = 440},
                                      {.peer = "b", .join_ms = 500, .leave_ms = 3000, .tone_hz = 660}});
  for (const char* audio : {"aac", "opus", ""}) {
    INFO("audio_codec: " << audio);
    TempDir out;
    auto src = RecordingSource::open(room.room_dir());
    REQUIRE(src.is_ok());
    ComposeOptions o;
    o.output = out.str() + "/room.mp4";
    o.width = 320;
    o.height = 240;
    o.video_codec = "h264";
    o.audio_codec = audio;
    REQUIRE(validate(o).is_ok());
    auto r = compose(*src.value(), o);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    CHECK(r->container == "mp4");
    auto boxes = mp4_boxes(o.output);
    REQUIRE(boxes.size() >= 3);
    CHECK(boxes[0] == "ftyp");
    CHECK(std::find(boxes.begin(), boxes.end(), "moov") < std::find(boxes.begin(), boxes.end(), "mdat"));
    std::string js = run_capture("ffprobe -v error -count_frames -show_entries "
                                 "stream=codec_name,width,height,channels,sample_rate,nb_read_frames:format=duration "
                                 "-of json '" + o.output + "'");
    auto j = nlohmann::json::parse(js);
    REQUIRE(j["streams"].size() == 2);
    CHECK(j["streams"][0]["codec_name"] == "h264");
    CHECK(j["streams"][0]["width"] == 320);
    CHECK(j["streams"][0]["height"] == 240);
    const int frames = std::stoi(j["streams"][0]["nb_read_frames"].get<std::string>());
    CHECK(frames >= 45);  // 3 s at 15 fps, the end frame included
    CHECK(frames <= 46);
    CHECK(j["streams"][1]["codec_name"] == (std::string(audio) == "opus" ? "opus" : "aac"));
    CHECK(j["streams"][1]["channels"] == 2);
    CHECK(std::stod(j["format"]["duration"].get<std::string>()) == doctest::Approx(3.0).epsilon(0.05));
    int st = 0;
    std::string errors = run_capture("ffmpeg -nostdin -v error -i '" + o.output + "' -f null - 2>&1", &st);
    CHECK(st == 0);
    CHECK(errors.empty());
    // The mix carries both tones: 440 Hz and 660 Hz peaks (astats is not enough; a narrow band-pass each).
    for (int hz : {440, 660}) {
      std::string level = run_capture("ffmpeg -nostdin -v error -i '" + o.output + "' -map 0:a -af bandpass=f=" +
                                      std::to_string(hz) + ":width_type=q:w=20,astats=metadata=1:reset=0,"
                                      "ametadata=print:key=lavfi.astats.Overall.RMS_level:file=- -f null - 2>/dev/null"
                                      " | tail -1");
      auto eq = level.find('=');
      REQUIRE(eq != std::string::npos);
      CHECK(std::stod(level.substr(eq + 1)) > -40.0);
    }
  }
}
