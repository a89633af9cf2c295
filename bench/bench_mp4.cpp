// bench_mp4: remuxing an H264 track into MP4 (issue 18), in one run against
//   - ffmpeg -c copy -movflags +faststart from roomrec's MKV of the same track, and
//   - janus-pp-rec's MP4 output from a Janus .mjr of the same packets.
//   bench_mp4 [--minutes 10] [--dir DIR] [--keep]
// One peer sending H264 (libx264 Constrained Baseline 640x360 30 fps ~1.5
// Mbit/s, key frame every 2 s, FU-A as WebRTC sends it), recorded packet for
// packet by roomrec (chunks) and into an .mjr. Each converter runs in a child
// process (wall time, CPU, peak RSS); `sync` before each. Throughput is MB of
// the converter's input per second.
#include <roomrec/recorder.h>
#include <roomrec/recording_source.h>
#include <roomrec/transmuxer.h>
#include <roomrec/upload_queue.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../tests/unit/media_synth.h"
#include "bench_util.h"

using namespace roomrec;
using namespace roomrec::testing;
namespace fs = std::filesystem;
using roomrec::bench::in_child;
using roomrec::bench::RunFigures;
using roomrec::bench::dir_bytes;
using roomrec::bench::MjrWriter;

namespace {

// Annex B access units (each starting with an AUD) -> per frame, its NAL units without start codes or AUDs.
std::vector<std::vector<std::vector<uint8_t>>> access_units(const std::vector<uint8_t>& b) {
  std::vector<std::vector<std::vector<uint8_t>>> aus;
  std::vector<size_t> starts;  // NAL payload offsets
  for (size_t i = 0; i + 3 <= b.size(); ++i)
    if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1) {
      starts.push_back(i + 3);
      i += 2;
    }
  for (size_t k = 0; k < starts.size(); ++k) {
    size_t end = k + 1 < starts.size() ? starts[k + 1] - 3 : b.size();
    while (end > starts[k] && b[end - 1] == 0) --end;
    std::vector<uint8_t> nal(b.begin() + static_cast<long>(starts[k]), b.begin() + static_cast<long>(end));
    if (nal.empty()) continue;
    if ((nal[0] & 0x1F) == 9) {
      aus.emplace_back();
      continue;
    }
    if (aus.empty()) aus.emplace_back();
    aus.back().push_back(std::move(nal));
  }
  return aus;
}

// RFC 6184 packetization-mode 1: single NAL units, FU-A above 1200 bytes.
std::vector<std::vector<uint8_t>> packetize_h264(const std::vector<std::vector<uint8_t>>& au, uint16_t& seq,
                                                 uint32_t ts, uint32_t ssrc) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t k = 0; k < au.size(); ++k) {
    const auto& nal = au[k];
    const bool last_nal = k + 1 == au.size();
    if (nal.size() <= 1200) {
      out.push_back(rtp_packet(seq++, ts, ssrc, 102, last_nal, nal.data(), nal.size()));
      continue;
    }
    for (size_t off = 1; off < nal.size(); off += 1200) {
      const size_t n = std::min<size_t>(1200, nal.size() - off);
      std::vector<uint8_t> p{static_cast<uint8_t>((nal[0] & 0xE0) | 28),
                             static_cast<uint8_t>((off == 1 ? 0x80 : 0) | (off + n == nal.size() ? 0x40 : 0) |
                                                  (nal[0] & 0x1F))};
      p.insert(p.end(), nal.begin() + static_cast<long>(off), nal.begin() + static_cast<long>(off + n));
      out.push_back(rtp_packet(seq++, ts, ssrc, 102, last_nal && off + n == nal.size(), p.data(), p.size()));
    }
  }
  return out;
}

RunFigures run_program(const std::vector<std::string>& argv) {
  return in_child([&] {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    return 127;
  });
}

}  // namespace

int main(int argc, char** argv) {
  int minutes = 10;
  std::string dir = "/tmp/roomrec-bench-mp4";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--minutes") && i + 1 < argc) minutes = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--keep")) keep = true;
  }
  fs::remove_all(dir);
  for (const char* d : {"/rec", "/mjr", "/out", "/mkv", "/ffmpeg", "/janus"}) fs::create_directories(dir + d);

  std::printf("encoding a 10 s loop of H264 (libx264, via ffmpeg)...\n");
  std::fflush(stdout);
  const std::string es = dir + "/loop.h264";
  int st = 0;
  run_capture("ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t 10 -pix_fmt yuv420p "
              "-c:v libx264 -profile:v baseline -preset veryfast -b:v 1500k -g 60 -x264-params aud=1 -f h264 '" + es + "'",
              &st);
  std::ifstream in(es, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto aus = access_units(bytes);
  if (st != 0 || aus.size() != 300) {
    std::fprintf(stderr, "bench_mp4: ffmpeg gave %zu frames (status %d)\n", aus.size(), st);
    return 1;
  }

  const uint64_t t0 = 1'731'132'577'000ULL;
  const uint64_t total_ms = uint64_t(minutes) * 60'000;
  std::printf("recording %d minutes of H264 through the Recorder and into an .mjr...\n", minutes);
  std::fflush(stdout);
  std::string room_path;
  {
    RecorderConfig cfg;
    cfg.max_chunk_bytes = 16u << 20;
    cfg.store.memory_budget_bytes = 256u << 20;
    auto rec = Recorder::create(cfg).value();
    UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(dir + "/rec"));
    q.start();
    auto s = rec->open("bench", "room", "peer0", 1, "", "", t0).value();
    room_path = s->room_path();
    s->track_started(1, TrackKind::video, "video_main", "h264", 90000, 0, "packetization-mode=1;profile-level-id=42e01f",
                     0, "", t0);
    MjrWriter mv(dir + "/mjr/peer0-video.mjr", "v", "h264", t0 * 1000);
    uint16_t seq = 1;
    for (uint64_t l = 0; l < total_ms / 10'000; ++l)
      for (size_t i = 0; i < aus.size(); ++i) {
        const uint64_t at = l * 10'000 + i * 1000 / 30;
        for (auto& p : packetize_h264(aus[i], seq, static_cast<uint32_t>(at * 90), 0x2222)) {
          s->rtp(1, p.data(), p.size(), t0 + at);
          mv.write(p, t0 + at);
        }
      }
    s->leave(t0 + total_ms);
    rec->store().wait_drained(600'000);
    q.stop();
  }
  const uint64_t rec_bytes = dir_bytes(dir + "/rec", ".rec");
  const uint64_t mjr_bytes = dir_bytes(dir + "/mjr", ".mjr");

  auto roomrec_run = [&](const std::string& input, const std::string& out, const char* format) {
    fs::remove_all(out);
    fs::create_directories(out);
    ::sync();
    return in_child([&] {
      auto src = RecordingSource::open(input);
      if (!src) return 1;
      TransmuxOptions o;
      o.output = out;
      o.format = format;
      auto r = transmux(*src.value(), o);
      return r.is_ok() && r->files.size() == 1 && r->files[0].container == format ? 0 : 2;
    });
  };
  std::printf("roomrec: chunks -> MP4...\n");
  std::fflush(stdout);
  RunFigures chunks = roomrec_run(dir + "/rec/" + room_path, dir + "/out", "mp4");
  const uint64_t mp4_out = dir_bytes(dir + "/out", ".mp4");
  std::printf("roomrec: .mjr -> MP4...\n");
  std::fflush(stdout);
  RunFigures mjr = roomrec_run(dir + "/mjr", dir + "/out", "mp4");
  std::printf("roomrec: chunks -> MKV (ffmpeg's input)...\n");
  std::fflush(stdout);
  RunFigures mkv = roomrec_run(dir + "/rec/" + room_path, dir + "/mkv", "mkv");
  std::string mkv_file;
  for (auto& e : fs::directory_iterator(dir + "/mkv"))
    if (e.path().extension() == ".mkv") mkv_file = e.path();
  const uint64_t mkv_bytes = mkv_file.empty() ? 0 : fs::file_size(mkv_file);
  std::printf("ffmpeg -c copy: MKV -> MP4 (faststart)...\n");
  std::fflush(stdout);
  ::sync();
  RunFigures ff = run_program({"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mkv_file, "-c", "copy", "-movflags",
                               "+faststart", dir + "/ffmpeg/out.mp4"});
  std::printf("janus-pp-rec: .mjr -> MP4...\n");
  std::fflush(stdout);
  ::sync();
  RunFigures janus = run_program({"janus-pp-rec", "-d", "0", dir + "/mjr/peer0-video.mjr", dir + "/janus/out.mp4"});
  const uint64_t ff_out = dir_bytes(dir + "/ffmpeg", ".mp4"), janus_out = dir_bytes(dir + "/janus", ".mp4");

  const double chunks_mbs = rec_bytes / 1e6 / chunks.seconds, mjr_mbs = mjr_bytes / 1e6 / mjr.seconds;
  const double mkv_mbs = rec_bytes / 1e6 / mkv.seconds, ff_mbs = mkv_bytes / 1e6 / ff.seconds;
  const double janus_mbs = mjr_bytes / 1e6 / janus.seconds;
  std::printf("\nbench_mp4: %d-minute H264 track, 640x360 30 fps ~1.5 Mbit/s\n", minutes);
  std::printf("%-34s %10s %9s %9s %9s %14s %10s %8s\n", "converter", "input MB", "seconds", "CPU s", "MB/s",
              "peak RSS MiB", "output MB", "status");
  auto line = [&](const char* name, uint64_t bytes, const RunFigures& r, double mbs, uint64_t out) {
    std::printf("%-34s %10.1f %9.2f %9.2f %9.1f %14.1f %10.1f %8s\n", name, bytes / 1e6, r.seconds, r.cpu_seconds, mbs,
                r.peak_rss_kb / 1024.0, out / 1e6, r.status == 0 ? "ok" : "FAILED");
  };
  line("roomrec, chunks -> mp4", rec_bytes, chunks, chunks_mbs, mp4_out);
  line("roomrec, .mjr -> mp4", mjr_bytes, mjr, mjr_mbs, mp4_out);
  line("roomrec, chunks -> mkv", rec_bytes, mkv, mkv_mbs, mkv_bytes);
  line("ffmpeg -c copy, mkv -> mp4", mkv_bytes, ff, ff_mbs, ff_out);
  line("janus-pp-rec, .mjr -> mp4", mjr_bytes, janus, janus_mbs, janus_out);
  std::printf("SUMMARY\tmp4 remux chunks, %d-min H264\t%.0f MB/s\t%.0f MB/s (ffmpeg -c copy, from roomrec's MKV)\t%.1fx\t%.0f MiB\t%.0f MiB\n",
              minutes, chunks_mbs, ff_mbs, chunks_mbs / ff_mbs, chunks.peak_rss_kb / 1024.0, ff.peak_rss_kb / 1024.0);
  std::printf("SUMMARY\tmp4 remux .mjr, %d-min H264\t%.0f MB/s\t%.0f MB/s (janus-pp-rec mp4, .mjr)\t%.1fx\t%.0f MiB\t%.0f MiB\n",
              minutes, mjr_mbs, janus_mbs, mjr_mbs / janus_mbs, mjr.peak_rss_kb / 1024.0, janus.peak_rss_kb / 1024.0);
  if (!keep) fs::remove_all(dir);
  const bool ok = chunks.status == 0 && mjr.status == 0 && mkv.status == 0 && ff.status == 0 && janus.status == 0;
  return ok ? 0 : 1;
}
