// bench_compose: a 4-peer room (640x360 VP8 + Opus each) composed into one
// 1280x720 VP8 + Opus WebM by roomrec, and in the same run by ffmpeg from the
// transmuxed per-track files (xstack + amix, libvpx with the same bitrate,
// deadline, cpu-used and threads). Prints the realtime factor and peak RSS of
// each (each runs in a child process).
//   bench_compose [--seconds 60] [--dir DIR] [--keep]
#include <roomrec/composer.h>
#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/transmuxer.h>
#include <roomrec/upload_queue.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../tests/unit/media_synth.h"
#include "bench_util.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using roomrec::bench::in_child;
using roomrec::bench::RunFigures;

int main(int argc, char** argv) {
  int seconds = 60;
  std::string dir = "/tmp/roomrec-bench-compose";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--keep")) keep = true;
  }
  fs::remove_all(dir);
  fs::create_directories(dir + "/rec");
  const uint32_t fps = 30, bitrate = 1500, threads = 2;
  const int cpu_used = 8;
  std::printf("encoding 4 peers x %d s of VP8 640x360 + Opus...\n", seconds);
  std::fflush(stdout);
  const uint64_t t0 = 1'731'132'577'000ULL;
  std::string room_path;
  {
    RecorderConfig cfg;
    auto rec = Recorder::create(cfg).value();
    UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(dir + "/rec"));
    q.start();
    for (int peer = 0; peer < 4; ++peer) {
      auto video = encode_vp8(640, 360, seconds * fps, fps, 60, 800, true);
      auto audio = encode_opus(seconds, 300 + 150 * peer);
      auto s = rec->open("bench", "room", "peer" + std::to_string(peer), 1, "", "", t0).value();
      if (room_path.empty()) room_path = s->room_path();
      s->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0, "", t0);
      s->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 0, "", t0);
      uint16_t aseq = 1, vseq = 1;
      size_t ai = 0;
      for (auto& f : video) {
        uint64_t vt = f.index * 1000ull / fps;
        while (ai < audio.size() && ai * 20 <= vt) {
          auto p = rtp_packet(aseq++, static_cast<uint32_t>(ai * 960), 0x10 + peer, 111, false, audio[ai].data(),
                              audio[ai].size());
          s->rtp(1, p.data(), p.size(), t0 + ai * 20);
          ++ai;
        }
        for (auto& p : packetize_vp8(f.data, vseq, static_cast<uint32_t>(vt * 90), 0x20 + peer))
          s->rtp(2, p.data(), p.size(), t0 + vt);
      }
      s->leave(t0 + seconds * 1000ull);
    }
    rec->store().wait_drained(600'000);
    q.stop();
  }
  // The per-track files ffmpeg starts from.
  {
    auto src = RecordingSource::open(dir + "/rec/" + room_path).value();
    TransmuxOptions o;
    o.output = dir + "/tracks";
    if (!transmux(*src, o)) {
      std::fprintf(stderr, "transmux failed\n");
      return 1;
    }
  }
  std::vector<std::string> v, a;
  for (auto& e : fs::directory_iterator(dir + "/tracks")) {
    std::string n = e.path().filename().string();
    if (n.find("-vp8-") != std::string::npos) v.push_back(e.path().string());
    if (n.find("-opus-") != std::string::npos) a.push_back(e.path().string());
  }
  std::sort(v.begin(), v.end());
  std::sort(a.begin(), a.end());

  std::printf("composing with roomrec...\n");
  std::fflush(stdout);
  RunFigures ours = in_child([&] {
    auto src = RecordingSource::open(dir + "/rec/" + room_path);
    if (!src) return 1;
    ComposeOptions o;
    o.output = dir + "/roomrec.webm";
    o.width = 1280;
    o.height = 720;
    o.fps = 15;
    o.video_bitrate_kbps = bitrate;
    o.threads = threads;
    o.cpu_used = cpu_used;
    return compose(*src.value(), o).is_ok() ? 0 : 2;
  });
  std::printf("composing with ffmpeg...\n");
  std::fflush(stdout);
  std::string cmd = "ffmpeg -nostdin -y -v error";
  for (auto& f : v) cmd += " -i '" + f + "'";
  for (auto& f : a) cmd += " -i '" + f + "'";
  cmd += " -filter_complex '";
  for (size_t i = 0; i < v.size(); ++i) cmd += "[" + std::to_string(i) + ":v]fps=15[s" + std::to_string(i) + "];";
  cmd += "[s0][s1][s2][s3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v];";
  for (size_t i = 0; i < a.size(); ++i) cmd += "[" + std::to_string(v.size() + i) + ":a]";
  cmd += "amix=inputs=4[a]' -map '[v]' -map '[a]' -c:v libvpx -b:v " + std::to_string(bitrate) +
         "k -deadline realtime -cpu-used " + std::to_string(cpu_used) + " -threads " + std::to_string(threads) +
         " -c:a libopus -b:a 64k '" + dir + "/ffmpeg.webm'";
  RunFigures ref = in_child([&] {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
    return 127;
  });
  double media = seconds;
  std::printf("\nbench_compose: 4 peers x %d s (VP8 640x360 + Opus) -> 1280x720 VP8 %u kbit/s, 15 fps, "
              "cpu-used %d, %u threads + Opus\n",
              seconds, bitrate, cpu_used, threads);
  std::printf("%-10s %10s %16s %14s %8s\n", "composer", "seconds", "realtime factor", "peak RSS MiB", "status");
  std::printf("%-10s %10.2f %15.1fx %14.1f %8s\n", "roomrec", ours.seconds, media / ours.seconds,
              ours.peak_rss_kb / 1024.0, ours.status == 0 ? "ok" : "FAILED");
  std::printf("%-10s %10.2f %15.1fx %14.1f %8s\n", "ffmpeg", ref.seconds, media / ref.seconds,
              ref.peak_rss_kb / 1024.0, ref.status == 0 ? "ok" : "FAILED");
  std::printf("speed ratio roomrec / ffmpeg: %.2fx; memory ratio: %.2f\n", ref.seconds / ours.seconds,
              double(ours.peak_rss_kb) / double(ref.peak_rss_kb));
  if (!keep) fs::remove_all(dir);
  return ours.status == 0 ? 0 : 1;
}
