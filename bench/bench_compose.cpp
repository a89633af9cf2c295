// bench_compose: a 4-peer room (640x360 VP8 + Opus each) composed into one
// 1280x720 VP8 + Opus WebM by roomrec, and in the same run by ffmpeg from the
// transmuxed per-track files (xstack + amix, libvpx with the same bitrate,
// deadline, cpu-used and threads). Prints the realtime factor and peak RSS of
// each (each runs in a child process).
//   bench_compose [--seconds 60] [--dir DIR] [--keep] [--reuse] [--cpu-used N] [--threads N] [--runs N]
// --reuse: keep the room and tracks of an earlier --keep run in DIR (same
// --seconds) instead of encoding them again. --runs: compose N times with each
// tool, alternating, and print every pair and the median ratio.
// cpu-used defaults to -8: libvpx VP8 realtime with a positive cpu-used picks
// its speed from the wall time each frame took (so it adapts to machine load
// and the comparison is noisy); a negative value is a fixed speed. Both tools
// get the same value.
// --ffmpeg-rc same (default): ffmpeg's libvpx gets the composer's rate control
// too (CBR, q 2..56, 1000 ms buffer, 50% under/overshoot, keyframe every 150
// frames), so both encode to the same constraints; --ffmpeg-rc defaults:
// ffmpeg's own (VBR, q 4..63), which spends fewer bits on this noisy content.
// --layout NAME (speaker, single-speaker, presentation or a JSON layout):
// instead of ffmpeg, roomrec's grid against roomrec in that layout on the same
// room, alternating, --runs times; prints the time ratio layout / grid. The
// room's peers then speak in turns (5 s each, in order) instead of all at
// once, so the active speaker changes.
#include <roomrec/composer.h>
#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/transmuxer.h>
#include <roomrec/upload_queue.h>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
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
  bool keep = false, reuse = false;
  std::string ffmpeg_rc = "same";
  int cpu_used = -8, runs = 1;
  uint32_t threads = 2;
  std::string layout;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--keep")) keep = true;
    else if (!std::strcmp(argv[i], "--reuse")) reuse = true;
    else if (!std::strcmp(argv[i], "--cpu-used") && i + 1 < argc) cpu_used = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = static_cast<uint32_t>(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--ffmpeg-rc") && i + 1 < argc) ffmpeg_rc = argv[++i];
    else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--layout") && i + 1 < argc) layout = argv[++i];
  }
  const uint32_t fps = 30, bitrate = 1500;
  const bool turns = !layout.empty();
  const std::string marker = dir + "/input-" + std::to_string(seconds) + "s" + (turns ? "-turns" : "");
  std::string room_path;
  if (reuse && fs::exists(marker)) {
    std::FILE* f = std::fopen(marker.c_str(), "r");
    char buf[4096] = {};
    if (f) {
      if (std::fgets(buf, sizeof buf, f)) room_path = buf;
      std::fclose(f);
    }
  }
  if (room_path.empty()) {
  fs::remove_all(dir);
  fs::create_directories(dir + "/rec");
  std::printf("encoding 4 peers x %d s of VP8 640x360 + Opus...\n", seconds);
  std::fflush(stdout);
  const uint64_t t0 = 1'731'132'577'000ULL;
  {
    RecorderConfig cfg;
    auto rec = Recorder::create(cfg).value();
    UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(dir + "/rec"));
    q.start();
    for (int peer = 0; peer < 4; ++peer) {
      auto video = encode_vp8(640, 360, seconds * fps, fps, 60, 800, true);
      const double hz = 300 + 150 * peer;
      auto audio = turns ? encode_opus_wave(seconds, [&](double t) {
                             return static_cast<int>(t / 5) % 4 == peer ? 0.4 * std::sin(2 * M_PI * hz * t) : 0.0;
                           })
                         : encode_opus(seconds, hz);
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
  if (std::FILE* f = std::fopen(marker.c_str(), "w")) {
    std::fputs(room_path.c_str(), f);
    std::fclose(f);
  }
  }  // input
  if (!layout.empty()) {
    // roomrec grid against roomrec in `layout`, same room, same settings.
    ::malloc_trim(0);
    auto run_compose = [&](const std::string& l) {
      return in_child([&] {
        auto src = RecordingSource::open(dir + "/rec/" + room_path);
        if (!src) return 1;
        ComposeOptions o;
        o.output = dir + "/roomrec-" + (l.size() < 20 ? l : std::string("custom")) + ".webm";
        o.width = 1280;
        o.height = 720;
        o.fps = 15;
        o.video_bitrate = bitrate * 1000;
        o.threads = threads;
        o.cpu_used = cpu_used;
        o.layout = l;
        auto r = compose(*src.value(), o);
        if (!r) std::fprintf(stderr, "compose (%s) failed: %s\n", l.c_str(), r.status().to_string().c_str());
        return r.is_ok() ? 0 : 2;
      });
    };
    std::vector<RunFigures> grid_runs, layout_runs;
    for (int run = 0; run < runs; ++run) {
      std::printf("run %d/%d: grid and %s...\n", run + 1, runs, layout.c_str());
      std::fflush(stdout);
      if (run % 2 == 0) {
        grid_runs.push_back(run_compose("grid"));
        layout_runs.push_back(run_compose(layout));
      } else {
        layout_runs.push_back(run_compose(layout));
        grid_runs.push_back(run_compose("grid"));
      }
    }
    std::printf("\nbench_compose --layout: 4 peers x %d s (VP8 640x360 + Opus, speaking in turns of 5 s) -> 1280x720 "
                "VP8 %u kbit/s, 15 fps, cpu-used %d, threads %u\n",
                seconds, bitrate, cpu_used, threads);
    std::printf("%-4s %-16s %10s %16s %12s %14s %8s\n", "run", "layout", "seconds", "realtime factor", "CPU seconds",
                "peak RSS MiB", "status");
    std::vector<double> ratio, cpu_ratio;
    bool all_ok = true;
    for (int run = 0; run < runs; ++run) {
      for (auto* f : {&grid_runs[static_cast<size_t>(run)], &layout_runs[static_cast<size_t>(run)]}) {
        std::printf("%-4d %-16s %10.2f %15.1fx %12.2f %14.1f %8s\n", run + 1,
                    f == &grid_runs[static_cast<size_t>(run)] ? "grid" : layout.substr(0, 16).c_str(), f->seconds,
                    seconds / f->seconds, f->cpu_seconds, f->peak_rss_kb / 1024.0, f->status == 0 ? "ok" : "FAILED");
        all_ok = all_ok && f->status == 0;
      }
      ratio.push_back(layout_runs[static_cast<size_t>(run)].seconds / grid_runs[static_cast<size_t>(run)].seconds);
      cpu_ratio.push_back(layout_runs[static_cast<size_t>(run)].cpu_seconds /
                          grid_runs[static_cast<size_t>(run)].cpu_seconds);
    }
    auto med = [](std::vector<double> x) {
      std::sort(x.begin(), x.end());
      size_t n = x.size();
      return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    };
    std::printf("time ratio %s / grid:", layout.c_str());
    for (double r : ratio) std::printf(" %.3f", r);
    std::printf(" (median %.3f: %+.1f %%); CPU time ratio: median %.3f (%+.1f %%)\n", med(ratio),
                (med(ratio) - 1) * 100, med(cpu_ratio), (med(cpu_ratio) - 1) * 100);
    std::vector<double> grid_s, layout_s, grid_kb, layout_kb;
    for (int run = 0; run < runs; ++run) {
      grid_s.push_back(grid_runs[static_cast<size_t>(run)].seconds);
      layout_s.push_back(layout_runs[static_cast<size_t>(run)].seconds);
      grid_kb.push_back(double(grid_runs[static_cast<size_t>(run)].peak_rss_kb));
      layout_kb.push_back(double(layout_runs[static_cast<size_t>(run)].peak_rss_kb));
    }
    std::printf("SUMMARY\tcompose 4 x %d s -> 720p VP8, %s layout (median of %d)\t%.1fx realtime\t%.1fx realtime "
                "(grid)\t%+.1f %% time, %+.1f %% CPU\t%.0f MiB\t%.0f MiB\n",
                seconds, layout.size() < 20 ? layout.c_str() : "custom", runs, seconds / med(layout_s),
                seconds / med(grid_s), (med(ratio) - 1) * 100, (med(cpu_ratio) - 1) * 100, med(layout_kb) / 1024.0,
                med(grid_kb) / 1024.0);
    if (!keep) fs::remove_all(dir);
    return all_ok ? 0 : 1;
  }
  std::vector<std::string> v, a;
  for (auto& e : fs::directory_iterator(dir + "/tracks")) {
    std::string n = e.path().filename().string();
    if (n.find("-vp8-") != std::string::npos) v.push_back(e.path().string());
    if (n.find("-opus-") != std::string::npos) a.push_back(e.path().string());
  }
  std::sort(v.begin(), v.end());
  std::sort(a.begin(), a.end());

  std::string cmd = "ffmpeg -nostdin -y -v error";
  for (auto& f : v) cmd += " -i '" + f + "'";
  for (auto& f : a) cmd += " -i '" + f + "'";
  cmd += " -filter_complex '";
  for (size_t i = 0; i < v.size(); ++i) cmd += "[" + std::to_string(i) + ":v]fps=15[s" + std::to_string(i) + "];";
  cmd += "[s0][s1][s2][s3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v];";
  for (size_t i = 0; i < a.size(); ++i) cmd += "[" + std::to_string(v.size() + i) + ":a]";
  cmd += "amix=inputs=4[a]' -map '[v]' -map '[a]' -c:v libvpx -b:v " + std::to_string(bitrate) +
         "k -deadline realtime -cpu-used " + std::to_string(cpu_used) + " -threads " + std::to_string(threads);
  if (ffmpeg_rc == "same") {
    // ComposeOptions' libvpx rate control (video_compositor.cpp), in ffmpeg's
    // terms: bufsize / bit rate = rc_buf_sz (ms), rc_init_occupancy likewise.
    const std::string b = std::to_string(bitrate) + "k";
    cmd += " -minrate " + b + " -maxrate " + b + " -bufsize " + b + " -rc_init_occupancy " +
           std::to_string(bitrate / 2) + "k -qmin 2 -qmax 56 -undershoot-pct 50 -overshoot-pct 50 -g 150 -keyint_min 0";
  }
  cmd += " -c:a libopus -b:a 64k '" + dir + "/ffmpeg.webm'";
  // The parent's freed set-up memory would otherwise count in the child's RSS.
  ::malloc_trim(0);
  std::vector<RunFigures> ours_runs, ref_runs;
  for (int run = 0; run < runs; ++run) {
    auto run_ours = [&] {
      std::printf("run %d/%d: composing with roomrec...\n", run + 1, runs);
      std::fflush(stdout);
      ours_runs.push_back(in_child([&] {
        auto src = RecordingSource::open(dir + "/rec/" + room_path);
        if (!src) return 1;
        ComposeOptions o;
        o.output = dir + "/roomrec.webm";
        o.width = 1280;
        o.height = 720;
        o.fps = 15;
        o.video_bitrate = bitrate * 1000;  // bitrate is in kbit/s here (ffmpeg's -b:v ...k)
        o.threads = threads;
        o.cpu_used = cpu_used;
        return compose(*src.value(), o).is_ok() ? 0 : 2;
      }));
    };
    auto run_ref = [&] {
      std::printf("run %d/%d: composing with ffmpeg...\n", run + 1, runs);
      std::fflush(stdout);
      ref_runs.push_back(in_child([&] {
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
        return 127;
      }));
    };
    // Alternate which goes first, so a change in machine load hits both.
    if (run % 2 == 0) {
      run_ours();
      run_ref();
    } else {
      run_ref();
      run_ours();
    }
  }
  double media = seconds;
  std::printf("\nbench_compose: 4 peers x %d s (VP8 640x360 + Opus) -> 1280x720 VP8 %u kbit/s, 15 fps, "
              "deadline realtime, cpu-used %d%s + Opus 64 kbit/s\n",
              seconds, bitrate, cpu_used, cpu_used < 0 ? " (fixed speed)" : " (adaptive speed)");
  std::printf("threads %u: roomrec decodes/mixes/lays out on one thread and encodes on another (libvpx threads %u); "
              "ffmpeg -threads %u (libvpx threads; its decoders and filters have their own)\n",
              threads, threads >= 2 ? threads - 1 : 1, threads);
  std::printf("ffmpeg rate control: %s\n", ffmpeg_rc == "same" ? "the composer's (CBR, q 2..56, 1 s buffer, keyframe every 150)"
                                                                  : "ffmpeg's defaults (VBR, q 4..63)");
  std::printf("%-4s %-10s %10s %16s %12s %14s %8s\n", "run", "composer", "seconds", "realtime factor", "CPU seconds",
              "peak RSS MiB", "status");
  std::vector<double> speed, memory;
  bool ok = true;
  for (int run = 0; run < runs; ++run) {
    const RunFigures& ours = ours_runs[static_cast<size_t>(run)];
    const RunFigures& ref = ref_runs[static_cast<size_t>(run)];
    std::printf("%-4d %-10s %10.2f %15.1fx %12.2f %14.1f %8s\n", run + 1, "roomrec", ours.seconds, media / ours.seconds,
                ours.cpu_seconds, ours.peak_rss_kb / 1024.0, ours.status == 0 ? "ok" : "FAILED");
    std::printf("%-4d %-10s %10.2f %15.1fx %12.2f %14.1f %8s\n", run + 1, "ffmpeg", ref.seconds, media / ref.seconds,
                ref.cpu_seconds, ref.peak_rss_kb / 1024.0, ref.status == 0 ? "ok" : "FAILED");
    speed.push_back(ref.seconds / ours.seconds);
    memory.push_back(double(ours.peak_rss_kb) / double(ref.peak_rss_kb));
    ok = ok && ours.status == 0;
  }
  auto median = [](std::vector<double> x) {
    std::sort(x.begin(), x.end());
    size_t n = x.size();
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
  };
  std::error_code ec;
  std::printf("output size: roomrec %.1f MB, ffmpeg %.1f MB (last run)\n", fs::file_size(dir + "/roomrec.webm", ec) / 1e6,
              fs::file_size(dir + "/ffmpeg.webm", ec) / 1e6);
  std::printf("speed ratio roomrec / ffmpeg:");
  for (double r : speed) std::printf(" %.2fx", r);
  std::printf(" (median %.2fx); memory ratio: median %.2f (max %.2f)\n", median(speed), median(memory),
              *std::max_element(memory.begin(), memory.end()));
  {
    std::vector<double> ours_s, ref_s, ours_kb, ref_kb;
    for (int run = 0; run < runs; ++run) {
      ours_s.push_back(ours_runs[static_cast<size_t>(run)].seconds);
      ref_s.push_back(ref_runs[static_cast<size_t>(run)].seconds);
      ours_kb.push_back(double(ours_runs[static_cast<size_t>(run)].peak_rss_kb));
      ref_kb.push_back(double(ref_runs[static_cast<size_t>(run)].peak_rss_kb));
    }
    std::printf("SUMMARY\tcompose 4 x %d s -> 720p VP8 (median of %d)\t%.1fx realtime\t%.1fx realtime (ffmpeg)\t%.2fx\t"
                "%.0f MiB\t%.0f MiB\n",
                seconds, runs, media / median(ours_s), media / median(ref_s), median(speed), median(ours_kb) / 1024.0,
                median(ref_kb) / 1024.0);
  }
  if (!keep) fs::remove_all(dir);
  return ok ? 0 : 1;
}
