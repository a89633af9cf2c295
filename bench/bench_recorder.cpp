// bench_recorder: recorder ingest speed against the floor of a plain memcpy
// append of the same bytes into a growing buffer, measured in the same run.
//   bench_recorder [--seconds S]
// Prints packets/s and MB/s for 1200-byte and 100-byte RTP packets, the ratio
// to memcpy-append, and the memory of an idle open session.
#include <roomrec/recorder.h>

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace roomrec;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<uint8_t> make_packet(size_t size) {
  std::vector<uint8_t> p(size, 0x5A);
  p[0] = 0x80;
  p[1] = 96;
  return p;
}

void set_seq(std::vector<uint8_t>& p, uint16_t seq) {
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
}

struct Figures {
  double pps = 0, mbps = 0;
};

// The floor: append the packet bytes into a buffer that grows like a chunk
// (released every `chunk_bytes`, as the recorder releases closed chunks).
Figures memcpy_append(const std::vector<uint8_t>& pkt, double seconds, size_t chunk_bytes) {
  std::vector<Buffer> done;
  Buffer buf(64 * 1024);
  uint64_t n = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  volatile uint8_t sink = 0;
  while (Clock::now() < end) {
    for (int i = 0; i < 1024; ++i) {
      if (buf.size() + pkt.size() > chunk_bytes) {
        sink = sink + buf.data()[buf.size() - 1];
        buf = Buffer(64 * 1024);
      }
      buf.append(pkt.data(), pkt.size());
      ++n;
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return {n / secs, n * pkt.size() / secs / 1e6};
}

Figures recorder_ingest(const std::vector<uint8_t>& proto, double seconds, size_t chunk_bytes) {
  RecorderConfig cfg;
  cfg.max_chunk_bytes = chunk_bytes;
  cfg.max_chunk_ms = 3'600'000;
  cfg.store.memory_budget_bytes = 1ull << 40;  // keep everything; drained below
  auto rec = Recorder::create(cfg).value();
  uint64_t now = 1'700'000'000'000ULL;
  auto s = rec->open("bench", "room", "peer", 1, "", "", now).value();
  s->track_started(1, TrackKind::video, "video", "vp8", 90000, 0, "", 1, "", now);
  std::vector<uint8_t> pkt = proto;
  uint64_t n = 0;
  uint16_t seq = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    for (int i = 0; i < 1024; ++i) {
      set_seq(pkt, seq++);
      if (s->rtp(1, pkt.data(), pkt.size(), now + (n >> 10)) != RecordResult::ok) std::abort();
      ++n;
    }
    // Closed chunks are freed as an uploader would (outside the timed hot path's
    // work, but inside the measured time).
    while (auto c = rec->store().take(0)) rec->store().complete(c->id);
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  s->close(now + (n >> 10));
  return {n / secs, n * pkt.size() / secs / 1e6};
}

size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  const size_t chunk_bytes = 16u << 20;

  std::printf("bench_recorder (one thread, %.1f s per figure, %zu MiB chunks)\n", seconds, chunk_bytes >> 20);
  std::printf("%-10s %16s %12s %16s %12s %8s\n", "packet", "recorder pkt/s", "MB/s", "memcpy pkt/s", "MB/s",
              "ratio");
  std::vector<std::string> summaries;
  for (size_t size : {1200u, 100u}) {
    auto pkt = make_packet(size);
    Figures floor = memcpy_append(pkt, seconds, chunk_bytes);
    Figures rec = recorder_ingest(pkt, seconds, chunk_bytes);
    std::printf("%-10s %16.0f %12.1f %16.0f %12.1f %7.0f%%\n", (std::to_string(size) + " B").c_str(), rec.pps,
                rec.mbps, floor.pps, floor.mbps, 100.0 * rec.pps / floor.pps);
    summaries.push_back("SUMMARY\trecorder ingest, " + std::to_string(size) + " B packets\t" +
                        std::to_string(static_cast<long>(rec.pps / 1000)) + "k pkt/s\t" +
                        std::to_string(static_cast<long>(floor.pps / 1000)) + "k pkt/s (memcpy append)\t" +
                        std::to_string(static_cast<int>(100.0 * rec.pps / floor.pps)) + "%\t-\t-");
  }

  // Memory per idle open session: open many sessions with two tracks and a
  // join row, let them go idle (tick closes their chunks), measure the heap.
  {
    RecorderConfig cfg;
    cfg.max_chunk_ms = 1000;
    auto rec = Recorder::create(cfg).value();
    const int sessions = 10000;
    uint64_t now = 1'700'000'000'000ULL;
    size_t before = heap_in_use();
    std::vector<std::shared_ptr<SessionRecorder>> open;
    open.reserve(sessions);
    for (int i = 0; i < sessions; ++i) {
      auto s = rec->open("bench", "room" + std::to_string(i / 10), "peer" + std::to_string(i), i, "10.0.0.1",
                         "Mozilla/5.0", now)
                   .value();
      s->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 1, "", now);
      s->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 2, "", now);
      open.push_back(std::move(s));
    }
    for (auto& s : open) s->tick(now + 5000);
    while (auto c = rec->store().take(0)) rec->store().complete(c->id);
    size_t after = heap_in_use();
    std::printf("idle open session: %.0f bytes of heap each (%d sessions, 2 tracks each)\n",
                double(after - before) / sessions, sessions);
    for (auto& s : open) s->close(now + 6000);
    while (auto c = rec->store().take(0)) rec->store().complete(c->id);
  }
  for (const auto& line : summaries) std::printf("%s\n", line.c_str());
  return 0;
}
