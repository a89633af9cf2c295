// Issue 18, one file per participant: synthetic rooms (real VP8 and Opus
// through the real Recorder), the files checked by ffprobe and decoded by
// ffmpeg: durations equal to the room's, silence and tone where they belong,
// the held frame in a gap, black before the first frame, re-encoding when
// sizes differ, per-speaker files and the multichannel mix by their spectra.
#include <doctest/doctest.h>

#include "../temp_dir.h"

#include <roomrec/converter.h>
#include <roomrec/participants.h>
#include <roomrec/recording_source.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "room_builder.h"

using namespace roomrec;
using namespace roomrec::testing;

namespace {

const ParticipantFile* find_file(const ParticipantsResult& r, const std::string& peer, const std::string& kind) {
  for (const auto& f : r.files)
    if (f.peer == peer && f.kind == kind) return &f;
  return nullptr;
}

// The file's audio decoded by ffmpeg: mono float at 48 kHz (or every channel interleaved).
std::vector<float> decode_audio(const std::string& path, bool mono = true, int rate = 48000) {
  std::string pcm = run_capture("ffmpeg -nostdin -v error -i '" + path + "' -map 0:a " +
                                (mono ? std::string("-ac 1 ") : std::string()) + "-ar " + std::to_string(rate) +
                                " -f f32le - 2>/dev/null");
  std::vector<float> out(pcm.size() / 4);
  std::memcpy(out.data(), pcm.data(), out.size() * 4);
  return out;
}

// Gray (luma) pictures of the file's video, resampled to `fps` by ffmpeg (a gap repeats the frame shown).
std::vector<std::vector<uint8_t>> decode_luma(const std::string& path, uint32_t w, uint32_t h, int fps = 10) {
  std::string raw = run_capture("ffmpeg -nostdin -v error -i '" + path + "' -map 0:v -vf fps=" + std::to_string(fps) +
                                " -f rawvideo -pix_fmt gray - 2>/dev/null");
  std::vector<std::vector<uint8_t>> frames;
  const size_t n = size_t{w} * h;
  for (size_t off = 0; off + n <= raw.size(); off += n) frames.emplace_back(raw.begin() + off, raw.begin() + off + n);
  return frames;
}

// The first video stream's size, by ffprobe.
std::pair<uint32_t, uint32_t> video_size(const std::string& path) {
  auto js = run_capture("ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of json '" + path +
                        "' 2>/dev/null");
  auto j = nlohmann::json::parse(js, nullptr, false);
  if (j.is_discarded() || j["streams"].empty()) return {0, 0};
  return {j["streams"][0].value("width", 0u), j["streams"][0].value("height", 0u)};
}

double rms(const std::vector<float>& s, double from_s, double to_s, int rate = 48000, int stride = 1, int channel = 0) {
  size_t a = static_cast<size_t>(from_s * rate), b = std::min(s.size() / stride, static_cast<size_t>(to_s * rate));
  double sum = 0;
  size_t n = 0;
  for (size_t i = a; i < b; ++i, ++n) sum += double(s[i * stride + channel]) * s[i * stride + channel];
  return n ? std::sqrt(sum / n) : 0;
}

// Goertzel power of one frequency over a window.
double tone_power(const std::vector<float>& s, double hz, double from_s, double to_s, int rate = 48000, int stride = 1,
                  int channel = 0) {
  size_t a = static_cast<size_t>(from_s * rate), b = std::min(s.size() / stride, static_cast<size_t>(to_s * rate));
  const double k = 2 * std::cos(2 * M_PI * hz / rate);
  double s1 = 0, s2 = 0;
  for (size_t i = a; i < b; ++i) {
    double s0 = s[i * stride + channel] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double n = double(b > a ? b - a : 1);
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (n * n);
}

double block_mean(const std::vector<uint8_t>& pic, uint32_t w, uint32_t x0, uint32_t y0, uint32_t size) {
  double sum = 0;
  for (uint32_t y = y0; y < y0 + size; ++y)
    for (uint32_t x = x0; x < x0 + size; ++x) sum += pic[size_t{y} * w + x];
  return sum / (size * size);
}

double picture_mean(const std::vector<uint8_t>& pic) {
  double sum = 0;
  for (uint8_t v : pic) sum += v;
  return sum / double(pic.size());
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(int(a[i]) - int(b[i]));
  return sum / double(a.size());
}

Result<ParticipantsResult> run(const BuiltRoom& room, const std::string& out, bool multichannel = false) {
  auto src = RecordingSource::open(room.room_dir()).value();
  ParticipantsOptions o;
  o.output = out;
  o.multichannel = multichannel;
  return make_participant_files(*src, o);
}

}  // namespace

TEST_CASE("participants: a peer who left and rejoined gets one remuxed file as long as the room") {
  TempDir dir;
  std::vector<PeerPlan> plans(3);
  plans[0].peer = "alice";  // 1-3 s, then 5-7 s
  plans[0].session = 1;
  plans[0].join_ms = 1000;
  plans[0].leave_ms = 3000;
  plans[1] = plans[0];
  plans[1].session = 2;
  plans[1].join_ms = 5000;
  plans[1].leave_ms = 7000;
  plans[2].peer = "bob";  // the whole room, 0-8 s
  plans[2].leave_ms = 8000;
  plans[2].tone_hz = 660;
  auto room = record_room(dir.str() + "/rec", plans);
  auto r = run(room, dir.str() + "/out");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->end_ms - r->start_ms == 8000);
  CHECK(r->files.size() == 4);
  const ParticipantFile* alice = find_file(*r, "alice", "av");
  REQUIRE(alice);
  CHECK(alice->path == "alice.webm");
  CHECK(alice->sessions == std::vector<uint64_t>{1, 2});
  CHECK(alice->video == "remuxed");
  CHECK(alice->video_reason.empty());
  CHECK(alice->video_codec == "vp8");
  CHECK(alice->audio == "remuxed");
  CHECK(alice->silence_frames >= 190);  // 1 s before, 2 s between, 1 s after: 200 frames of 20 ms
  CHECK(alice->silence_frames <= 210);
  CHECK(alice->audio_frames >= 195);

  for (const auto& f : r->files) {
    INFO(f.path);
    auto p = probe(f.uri);
    CHECK_MESSAGE(p.ok, p.decode_errors);
    CHECK(std::abs(p.duration - 8.0) < 0.05);  // the room's duration
  }
  CHECK(video_size(alice->uri) == std::pair<uint32_t, uint32_t>{320, 240});

  // Audio: silence before the join, in the gap and after the leave; the tone
  // while alice was there, starting again at the rejoin.
  auto audio = decode_audio(alice->uri);
  CHECK(std::abs(double(audio.size()) / 48000 - 8.0) < 0.05);
  CHECK(rms(audio, 0.1, 0.9) < 1e-3);
  CHECK(tone_power(audio, 440, 1.2, 2.8) > 1e-3);
  CHECK(rms(audio, 3.1, 4.9) < 1e-3);
  CHECK(rms(audio, 4.90, 4.98) < 1e-3);      // just before the rejoin: still silence
  CHECK(rms(audio, 5.05, 5.12) > 0.05);      // just after: the tone again
  CHECK(tone_power(audio, 440, 5.2, 6.8) > 1e-3);
  CHECK(tone_power(audio, 660, 5.2, 6.8) < 1e-6);  // bob's tone is not in alice's file
  CHECK(rms(audio, 7.1, 7.9) < 1e-3);

  // Video at 10 frames/s as a player shows it: black before the first frame,
  // the last frame of the first session held through the gap, the last frame
  // of the second held after the leave, black for the room's last frame.
  auto pics = decode_luma(alice->uri, 320, 240);
  REQUIRE(pics.size() >= 79);
  CHECK(picture_mean(pics[5]) < 20);  // 0.5 s: black (Y=16)
  // The first session's last frame is frame 29: luma x + y + 4*29 (media_synth's encode_vp8).
  for (size_t at : {35u, 40u, 45u}) {
    INFO("held frame at " << at / 10.0 << " s");
    CHECK(std::abs(block_mean(pics[at], 320, 0, 0, 8) - (116 + 7)) < 8);
    CHECK(mean_abs_diff(pics[at], pics[31]) < 1.0);
  }
  CHECK(mean_abs_diff(pics[25], pics[40]) > 4);  // a moving picture before the leave
  CHECK(std::abs(block_mean(pics[75], 320, 0, 0, 8) - (116 + 7)) < 8);  // after the leave: session 2's last frame
  CHECK(picture_mean(pics.back()) < 20);

  auto json = nlohmann::json::parse(std::ifstream(dir.str() + "/out/participants.json"));
  CHECK(json["duration_ms"] == 8000);
  CHECK(json["files"][0]["video"] == "remuxed");
}

TEST_CASE("participants: a paused peer's file keeps the room's timeline, silence and the held frame in the pause") {
  TempDir dir;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "alice";
  plans[0].leave_ms = 6000;
  plans[0].pauses = {{2010, 3990}};  // SessionRecorder::pause/resume: nothing recorded in between
  plans[1].peer = "bob";
  plans[1].leave_ms = 6000;
  plans[1].video = false;
  plans[1].tone_hz = 660;
  auto room = record_room(dir.str() + "/rec", plans);
  auto r = run(room, dir.str() + "/out");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->end_ms - r->start_ms == 6000);
  const ParticipantFile* alice = find_file(*r, "alice", "av");
  REQUIRE(alice);
  CHECK(alice->sessions == std::vector<uint64_t>{1});
  CHECK(alice->video == "remuxed");
  REQUIRE(alice->pauses.size() == 1);
  CHECK(alice->pauses[0].start_ms == kRoomT0 + 2010);
  CHECK(alice->pauses[0].end_ms == kRoomT0 + 3990);
  CHECK(alice->silence_frames >= 95);  // the 2 s pause: 100 frames of 20 ms
  CHECK(alice->silence_frames <= 105);
  auto p = probe(alice->uri);
  CHECK_MESSAGE(p.ok, p.decode_errors);
  CHECK(std::abs(p.duration - 6.0) < 0.05);
  auto audio = decode_audio(alice->uri);
  CHECK(std::abs(double(audio.size()) / 48000 - 6.0) < 0.05);
  CHECK(tone_power(audio, 440, 0.2, 1.9) > 1e-3);
  CHECK(rms(audio, 2.1, 3.95) < 1e-3);  // paused: silence
  CHECK(tone_power(audio, 440, 4.1, 5.8) > 1e-3);
  CHECK(rms(audio, 4.05, 4.12) > 0.05);  // the tone right after the resume
  auto pics = decode_luma(alice->uri, 320, 240);
  REQUIRE(pics.size() >= 59);
  // The last frame before the pause is frame 30 (2 s): luma x + y + 4*30, held through the pause.
  for (size_t at : {21u, 30u, 39u}) {
    INFO("held frame at " << at / 10.0 << " s");
    CHECK(std::abs(block_mean(pics[at], 320, 0, 0, 8) - (120 + 7)) < 8);
  }
  CHECK(mean_abs_diff(pics[21], pics[39]) < 1.0);
  // From the resume (a key frame at 4 s, frame 60) the picture moves again.
  CHECK(std::abs(block_mean(pics[45], 320, 0, 0, 8) - (120 + 7)) > 40);  // not the held picture any more
  CHECK(mean_abs_diff(pics[45], pics[50]) > 4);
}

TEST_CASE("participants: a session with another video size makes the file re-encoded, and says why") {
  TempDir dir;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "alice";
  plans[0].leave_ms = 2000;
  plans[1] = plans[0];
  plans[1].session = 2;
  plans[1].join_ms = 3000;
  plans[1].leave_ms = 5000;
  plans[1].width = 640;
  plans[1].height = 360;
  plans.push_back({});  // bob keeps the room open between alice's sessions
  plans[2].peer = "bob";
  plans[2].video = false;
  plans[2].leave_ms = 5000;
  auto room = record_room(dir.str() + "/rec", plans);
  auto r = run(room, dir.str() + "/out");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  const ParticipantFile* alice = find_file(*r, "alice", "av");
  REQUIRE(alice);
  CHECK(alice->video == "reencoded");
  CHECK(alice->video_reason == "sizes differ: 320x240 640x360");
  CHECK(alice->video_codec == "vp8");
  CHECK(alice->width == 640);
  CHECK(alice->height == 360);
  auto p = probe(alice->uri);
  CHECK_MESSAGE(p.ok, p.decode_errors);
  CHECK(video_size(alice->uri) == std::pair<uint32_t, uint32_t>{640, 360});
  CHECK(std::abs(p.duration - 5.0) < 0.1);
  auto pics = decode_luma(alice->uri, 640, 360);
  REQUIRE(pics.size() >= 49);
  // 320x240 fitted into 640x360: 480x360 in the middle, black bars of 80 on each side.
  CHECK(block_mean(pics[15], 640, 0, 100, 40) < 20);
  CHECK(block_mean(pics[15], 640, 300, 160, 40) > 40);
  CHECK(mean_abs_diff(pics[22], pics[28]) < 1.5);  // the gap (2-3 s): one held picture
  CHECK(picture_mean(pics[22]) > 40);
  CHECK(mean_abs_diff(pics[28], pics[40]) > 4);    // the second session moves again
  CHECK(block_mean(pics[40], 640, 0, 100, 40) > 20);  // full frame: no bars
}

TEST_CASE("participants: per-speaker files hold only their peer's voice, the mix one channel per speaker") {
  TempDir dir;
  std::vector<PeerPlan> plans(3);
  const double tones[3] = {440, 660, 1000};
  const char* names[3] = {"alice", "bob", "carol"};
  for (int i = 0; i < 3; ++i) {
    plans[i].peer = names[i];
    plans[i].video = false;
    plans[i].tone_hz = tones[i];
    plans[i].join_ms = 500 * i;
    plans[i].leave_ms = 4000 + 500 * i;
  }
  auto room = record_room(dir.str() + "/rec", plans);
  auto r = run(room, dir.str() + "/out", true);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->end_ms - r->start_ms == 5000);
  CHECK(r->channels == std::vector<std::string>{"alice", "bob", "carol"});
  for (int i = 0; i < 3; ++i) {
    INFO(names[i]);
    const ParticipantFile* f = find_file(*r, names[i], "audio");
    REQUIRE(f);
    CHECK(f->path == std::string(names[i]) + "-audio.webm");
    auto p = probe(f->uri);
    CHECK_MESSAGE(p.ok, p.decode_errors);
    CHECK(p.codec == "opus");
    CHECK(std::abs(p.duration - 5.0) < 0.05);
    auto a = decode_audio(f->uri);
    const double from = 0.6 + 0.5 * i, to = 3.9 + 0.5 * i;
    const double own = tone_power(a, tones[i], from, to);
    CHECK(own > 1e-3);
    for (int j = 0; j < 3; ++j)
      if (j != i) CHECK(tone_power(a, tones[j], from, to) < own * 1e-3);
    const ParticipantFile* av = find_file(*r, names[i], "av");
    REQUIRE(av);
    CHECK(av->video == "none");
  }
  const ParticipantFile* mix = nullptr;
  for (const auto& f : r->files)
    if (f.kind == "multichannel") mix = &f;
  REQUIRE(mix);
  CHECK(mix->path == "speakers-multichannel.wav");
  auto p = probe(mix->uri);
  CHECK_MESSAGE(p.ok, p.decode_errors);
  CHECK(p.channels == 3);
  CHECK(std::abs(p.duration - 5.0) < 0.01);
  auto all = decode_audio(mix->uri, false, 16000);
  REQUIRE(all.size() == 3u * 5 * 16000);
  for (int c = 0; c < 3; ++c) {
    INFO("channel " << c);
    const double from = 0.6 + 0.5 * c, to = 3.9 + 0.5 * c;
    const double own = tone_power(all, tones[c], from, to, 16000, 3, c);
    CHECK(own > 1e-3);
    for (int j = 0; j < 3; ++j)
      if (j != c) CHECK(tone_power(all, tones[j], from, to, 16000, 3, c) < own * 1e-3);
    CHECK(rms(all, 0.0, 0.5 * c, 16000, 3, c) < 1e-3);              // before its join
    CHECK(rms(all, 4.1 + 0.5 * c, 5.0, 16000, 3, c) < 1e-3);        // after its leave
  }
}

TEST_CASE("participants: options are checked with the field's name") {
  ParticipantsOptions o;
  CHECK(validate(o).is_ok());
  o.output = "http://k:s@127.0.0.1:9000/bucket/x?path_style=true";
  CHECK_MESSAGE(validate(o).is_ok(), validate(o).message());
  o.output = "http://127.0.0.1:9000/bucket/x?X-Amz-Signature=00";
  CHECK(validate(o).message() ==
        "participants.output must be an S3 URI with credentials or a folder, not a presigned URL");
  o.output = "ftp://host/x";
  CHECK(validate(o).message().find("participants.output: unsupported URI scheme 'ftp'") == 0);
}

TEST_CASE("participants: a peer left out by the job's selection gets no file and no channel of the mix") {
  TempDir dir;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "alice";
  plans[0].video = false;
  plans[1].peer = "bob";
  plans[1].video = false;
  plans[1].tone_hz = 660;
  auto room = record_room(dir.str() + "/rec", plans);
  ConvertJob job;
  job.input = room.room_dir();
  job.selection.exclude_peers = {"bob"};
  job.participants = ParticipantsOptions{};
  job.participants->output = dir.str() + "/out";
  job.participants->multichannel = true;
  auto r = convert(job);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  REQUIRE(r->participants);
  CHECK(r->participants->channels == std::vector<std::string>{"alice"});
  for (const auto& f : r->participants->files) CHECK(f.peer != "bob");
  CHECK(r->participants->files.size() == 3);  // alice.webm, alice-audio.webm, the mix
  auto mix = decode_audio(dir.str() + "/out/speakers-multichannel.wav", false, 16000);
  CHECK(tone_power(mix, 440, 0.5, 3.5, 16000) > 1e-3);
  CHECK(tone_power(mix, 660, 0.5, 3.5, 16000) < 1e-7);  // bob's tone is nowhere
  CHECK(!std::filesystem::exists(dir.str() + "/out/bob.webm"));
}

TEST_CASE("participants: a missing chunk is a gap like the others (silence, the frame before it held)") {
  TempDir dir;
  std::vector<PeerPlan> plans(1);
  plans[0].peer = "alice";
  plans[0].leave_ms = 8000;
  plans[0].kf_interval = 15;  // a key frame every second: the video comes back soon after the gap
  auto room = record_room(dir.str() + "/rec", plans, 1, 16 * 1024);
  // Remove a chunk from the middle of the session (by its time span in the name).
  std::vector<std::filesystem::path> chunks;
  for (auto& e : std::filesystem::recursive_directory_iterator(room.room_dir()))
    if (e.is_regular_file()) chunks.push_back(e.path());
  std::sort(chunks.begin(), chunks.end());
  std::filesystem::path gone;
  uint64_t from = 0, to = 0;
  for (auto& c : chunks) {  // {index}-{from}-{to}.rec
    unsigned idx = 0;
    unsigned long long a = 0, b = 0;
    if (std::sscanf(c.filename().c_str(), "%u-%llu-%llu", &idx, &a, &b) == 3 && a >= kRoomT0 + 3000 &&
        b <= kRoomT0 + 5500 && gone.empty()) {
      gone = c;
      from = a - kRoomT0;
      to = b - kRoomT0;
    }
  }
  REQUIRE_MESSAGE(!gone.empty(), "no chunk between 3 and 5.5 s");
  REQUIRE(to - from >= 300);
  std::filesystem::remove(gone);
  auto r = run(room, dir.str() + "/out");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->end_ms - r->start_ms == 8000);
  bool reported = false;
  for (const auto& p : r->problems) reported = reported || p.find("missing") != std::string::npos;
  CHECK(reported);
  const ParticipantFile* alice = find_file(*r, "alice", "av");
  REQUIRE(alice);
  auto p = probe(alice->uri);
  CHECK_MESSAGE(p.ok, p.decode_errors);
  CHECK(std::abs(p.duration - 8.0) < 0.05);
  auto audio = decode_audio(alice->uri);
  INFO("missing chunk " << from << "-" << to << " ms");
  CHECK(std::abs(double(audio.size()) / 48000 - 8.0) < 0.05);
  CHECK(rms(audio, (from + 60) / 1000.0, (to - 40) / 1000.0) < 1e-3);    // the gap: silence
  CHECK(tone_power(audio, 440, 0.2, (from - 100) / 1000.0) > 1e-3);      // before it: the tone, in place
  CHECK(tone_power(audio, 440, (to + 1100) / 1000.0, 7.8) > 1e-3);       // after it
}

TEST_CASE("participants: overlapping sessions of one peer (rejoined before the old one left) make one clean file") {
  TempDir dir;
  std::vector<PeerPlan> plans(2);
  plans[0].peer = "alice";
  plans[0].leave_ms = 5000;
  plans[1] = plans[0];
  plans[1].session = 2;
  plans[1].join_ms = 4000;  // a second tab: both send from 4 to 5 s
  plans[1].leave_ms = 8000;
  auto room = record_room(dir.str() + "/rec", plans);
  auto r = run(room, dir.str() + "/out");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  const ParticipantFile* alice = find_file(*r, "alice", "av");
  REQUIRE(alice);
  CHECK(alice->sessions == std::vector<uint64_t>{1, 2});
  CHECK(alice->video == "remuxed");
  // No frame twice: 8 s of 20 ms frames, the overlap's duplicates dropped.
  CHECK(alice->audio_frames + alice->silence_frames >= 398);
  CHECK(alice->audio_frames + alice->silence_frames <= 402);
  auto p = probe(alice->uri);
  CHECK_MESSAGE(p.ok, p.decode_errors);
  CHECK(std::abs(p.duration - 8.0) < 0.05);
  auto audio = decode_audio(alice->uri);
  CHECK(std::abs(double(audio.size()) / 48000 - 8.0) < 0.05);
  CHECK(tone_power(audio, 440, 0.2, 7.8) > 1e-3);
  for (double t = 3.0; t < 7.8; t += 0.1) {  // no hole where the sessions hand over
    INFO("at " << t << " s");
    CHECK(rms(audio, t, t + 0.1) > 0.05);
  }
}
