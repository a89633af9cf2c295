// bench_transmux: converting a long two-peer room (Opus audio + VP8 video at
// about 1.5 Mbit/s), recorded packet for packet both by roomrec (chunks) and
// into Janus .mjr files, in the same run:
//   - roomrec from its chunks, against janus-pp-rec from the .mjr files;
//   - roomrec from the same .mjr files, against janus-pp-rec from them
//     (the row a Janus user migrating would measure).
//   bench_transmux [--minutes 60] [--dir DIR] [--keep]
// Prints MB/s of recording converted and the peak RSS of each converter (each
// runs in a child process, so generating the media does not count; `sync`
// before each so no side pays for the other's writeback).
#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/transmuxer.h>
#include <roomrec/upload_queue.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
using roomrec::bench::dir_bytes;
using roomrec::bench::MjrWriter;

namespace {

}  // namespace

int main(int argc, char** argv) {
  int minutes = 60;
  std::string dir = "/tmp/roomrec-bench-transmux";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--minutes") && i + 1 < argc) minutes = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--keep")) keep = true;
  }
  fs::remove_all(dir);
  fs::create_directories(dir + "/rec");
  fs::create_directories(dir + "/mjr");
  fs::create_directories(dir + "/out");
  fs::create_directories(dir + "/janus");

  // 10 s of media, looped: VP8 640x360 30 fps ~1.5 Mbit/s (keyframe every 2 s), Opus 20 ms.
  std::printf("encoding a 10 s loop of VP8 and Opus...\n");
  std::fflush(stdout);
  auto video = encode_vp8(640, 360, 300, 30, 60, 1500, true);
  auto audio = encode_opus(10.0, 440);
  const uint64_t t0 = 1'731'132'577'000ULL;
  const uint64_t total_ms = uint64_t(minutes) * 60'000;

  std::printf("recording %d minutes x 2 peers through the Recorder and into .mjr files...\n", minutes);
  std::fflush(stdout);
  std::string room_path;
  {
    RecorderConfig cfg;
    cfg.max_chunk_bytes = 16u << 20;
    cfg.store.memory_budget_bytes = 256u << 20;
    auto rec = Recorder::create(cfg).value();
    UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(dir + "/rec"));
    q.start();
    for (int peer = 0; peer < 2; ++peer) {
      std::string name = "peer" + std::to_string(peer);
      auto s = rec->open("bench", "room", name, 1, "", "", t0).value();
      if (room_path.empty()) room_path = s->room_path();
      s->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0, "", t0);
      s->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 0, "", t0);
      MjrWriter ma(dir + "/mjr/" + name + "-audio.mjr", "a", "opus", t0 * 1000);
      MjrWriter mv(dir + "/mjr/" + name + "-video.mjr", "v", "vp8", t0 * 1000);
      uint16_t aseq = 1, vseq = 1;
      uint64_t loops = total_ms / 10'000;
      for (uint64_t l = 0; l < loops; ++l) {
        size_t ai = 0;
        for (size_t vi = 0; vi < video.size(); ++vi) {
          uint64_t vt = l * 10'000 + vi * 1000 / 30;
          while (ai < audio.size() && l * 10'000 + ai * 20 <= vt) {
            uint64_t at = l * 10'000 + ai * 20;
            auto p = rtp_packet(aseq++, static_cast<uint32_t>(at * 48), 0x1111, 111, false, audio[ai].data(),
                                audio[ai].size());
            s->rtp(1, p.data(), p.size(), t0 + at);
            ma.write(p, t0 + at);
            ++ai;
          }
          for (auto& p : packetize_vp8(video[vi].data, vseq, static_cast<uint32_t>(vt * 90), 0x2222)) {
            s->rtp(2, p.data(), p.size(), t0 + vt);
            mv.write(p, t0 + vt);
          }
        }
      }
      s->leave(t0 + total_ms);
      rec->store().wait_drained(600'000);
    }
    q.stop();
  }
  uint64_t rec_bytes = dir_bytes(dir + "/rec", ".rec");
  uint64_t mjr_bytes = dir_bytes(dir + "/mjr", ".mjr");

  // Each side starts with the setup's writes on disk, not still being written
  // back while it runs, and with an empty output folder.
  auto roomrec_run = [&](const std::string& input) {
    fs::remove_all(dir + "/out");
    fs::create_directories(dir + "/out");
    ::sync();
    return in_child([&] {
      auto src = RecordingSource::open(input);
      if (!src) return 1;
      TransmuxOptions o;
      o.output = dir + "/out";
      auto r = transmux(*src.value(), o);
      return r.is_ok() && r->files.size() == 4 ? 0 : 2;
    });
  };
  auto janus_run = [&] {
    fs::remove_all(dir + "/janus");
    fs::create_directories(dir + "/janus");
    ::sync();
    RunFigures janus;
    for (const char* f : {"peer0-audio", "peer0-video", "peer1-audio", "peer1-video"}) {
      std::string in = dir + "/mjr/" + f + ".mjr";
      std::string out = dir + "/janus/" + f + (std::strstr(f, "audio") ? ".opus" : ".webm");
      RunFigures r = in_child([&] {
        int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        ::execlp("janus-pp-rec", "janus-pp-rec", "-d", "0", in.c_str(), out.c_str(), (char*)nullptr);
        return 127;
      });
      janus.seconds += r.seconds;
      janus.cpu_seconds += r.cpu_seconds;
      janus.peak_rss_kb = std::max(janus.peak_rss_kb, r.peak_rss_kb);
      janus.status |= r.status;
    }
    return janus;
  };

  std::printf("converting the chunks with roomrec...\n");
  std::fflush(stdout);
  RunFigures chunks = roomrec_run(dir + "/rec/" + room_path);
  const uint64_t chunk_out = dir_bytes(dir + "/out", "");
  std::printf("converting the .mjr files with roomrec...\n");
  std::fflush(stdout);
  RunFigures mjr = roomrec_run(dir + "/mjr");
  const uint64_t mjr_out = dir_bytes(dir + "/out", "");
  std::printf("converting the .mjr files with janus-pp-rec...\n");
  std::fflush(stdout);
  RunFigures janus = janus_run();
  const uint64_t janus_out = dir_bytes(dir + "/janus", "");

  const double chunks_mbs = rec_bytes / 1e6 / chunks.seconds;
  const double mjr_mbs = mjr_bytes / 1e6 / mjr.seconds;
  const double janus_mbs = mjr_bytes / 1e6 / janus.seconds;
  std::printf("\nbench_transmux: %d-minute room, 2 peers, Opus + VP8 640x360 ~1.5 Mbit/s\n", minutes);
  std::printf("%-22s %10s %9s %9s %9s %14s %8s\n", "converter", "input MB", "seconds", "CPU s", "MB/s", "peak RSS MiB",
              "status");
  auto line = [&](const char* name, uint64_t bytes, const RunFigures& r, double mbs) {
    std::printf("%-22s %10.1f %9.2f %9.2f %9.1f %14.1f %8s\n", name, bytes / 1e6, r.seconds, r.cpu_seconds, mbs,
                r.peak_rss_kb / 1024.0, r.status == 0 ? "ok" : "FAILED");
  };
  line("roomrec, chunks", rec_bytes, chunks, chunks_mbs);
  line("roomrec, .mjr", mjr_bytes, mjr, mjr_mbs);
  line("janus-pp-rec, .mjr", mjr_bytes, janus, janus_mbs);
  std::printf("throughput ratio roomrec / janus-pp-rec: chunks %.1fx, .mjr %.1fx\n", chunks_mbs / janus_mbs,
              mjr_mbs / janus_mbs);
  std::printf("output: roomrec %.1f MB (chunks), %.1f MB (.mjr); janus-pp-rec %.1f MB\n", chunk_out / 1e6,
              mjr_out / 1e6, janus_out / 1e6);
  std::printf("SUMMARY\ttransmux chunks, %d-min room\t%.0f MB/s\t%.0f MB/s (janus-pp-rec, .mjr)\t%.1fx\t%.0f MiB\t%.0f MiB\n",
              minutes, chunks_mbs, janus_mbs, chunks_mbs / janus_mbs, chunks.peak_rss_kb / 1024.0,
              janus.peak_rss_kb / 1024.0);
  std::printf("SUMMARY\ttransmux .mjr, %d-min room\t%.0f MB/s\t%.0f MB/s (janus-pp-rec, .mjr)\t%.1fx\t%.0f MiB\t%.0f MiB\n",
              minutes, mjr_mbs, janus_mbs, mjr_mbs / janus_mbs, mjr.peak_rss_kb / 1024.0, janus.peak_rss_kb / 1024.0);
  if (!keep) fs::remove_all(dir);
  return chunks.status == 0 && mjr.status == 0 ? 0 : 1;
}
