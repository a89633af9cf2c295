// Load test: many concurrent sessions (Opus audio + video at a set bitrate)
// recorded for minutes of simulated time through the real Recorder,
// ChunkStore (memory budget, disk spill) and UploadQueue into a sink that
// reads every chunk back. Simulated time runs as fast as the machine allows;
// when the store holds more than 3/4 of its budgets the driver waits for the
// uploaders (as a real clock would let them catch up), and counts the waits.
//
// Checks (exit 1 with the reason when one fails):
//  - the store never holds more than its memory budget in memory nor its disk budget on disk;
//  - no chunk was refused, every chunk reached the sink exactly once and read back intact;
//  - every RTP packet and every data message sent is in the uploaded chunks, once;
//  - peak RSS stays under sessions x max_chunk_bytes (open chunks) + memory budget + 256 MiB.
// Prints throughput and memory figures.
//
//   load_recorder [--sessions 1000] [--minutes 10] [--video-kbps 1500] [--chunk-kib 1024]
//                 [--memory-mib 256] [--disk-mib 2048] [--spill-dir DIR]
#include <roomrec/chunk_reader.h>
#include <roomrec/recorder.h>
#include <roomrec/upload_queue.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace roomrec;

namespace {

struct Options {
  unsigned sessions = 1000, minutes = 10, video_kbps = 1500, chunk_kib = 1024;
  uint64_t memory_mib = 256, disk_mib = 2048;
  std::string spill_dir;
};

uint64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

// Reads every chunk back and counts what it holds, per session.
class VerifyingSink final : public ChunkSink {
 public:
  explicit VerifyingSink(unsigned sessions) : rtp_(sessions), data_(sessions) {}

  Status upload(const PendingChunk& c, ByteSource& bytes) override {
    {
      std::lock_guard lock(mu_);
      if (!keys_.insert(c.key.to_string()).second) duplicates_++;
    }
    // A ByteSource that counts what the reader pulls through it.
    ChunkReader reader(std::make_unique<Borrowed>(bytes));
    Row row;
    uint64_t rtp = 0, data = 0;
    while (reader.next(row)) {
      if (row.kind == RowKind::rtp) rtp++;
      else if (row.kind == RowKind::data) data++;
    }
    if (!reader.stats().complete()) {
      damaged_++;
      return Status::error(ErrorCode::corrupt, "chunk " + c.key.to_string() + " did not read back intact");
    }
    const uint64_t s = c.key.session;
    if (s >= rtp_.size()) return Status::error(ErrorCode::internal, "unexpected session");
    rtp_[s] += rtp;
    data_[s] += data;
    bytes_ += c.size;
    return Status::ok();
  }
  std::string describe() const override { return "verifying sink"; }

  std::vector<std::atomic<uint64_t>> rtp_, data_;
  std::atomic<uint64_t> bytes_{0}, damaged_{0}, duplicates_{0};

 private:
  struct Borrowed final : ByteSource {
    explicit Borrowed(ByteSource& s) : s_(s) {}
    Result<size_t> read(uint8_t* dst, size_t n) override { return s_.read(dst, n); }
    ByteSource& s_;
  };
  std::mutex mu_;
  std::set<std::string> keys_;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "load_recorder: %s\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    const char* v = argv[i + 1];
    char* end = nullptr;
    unsigned long long n = std::strtoull(v, &end, 10);
    bool num = *v && !*end && n > 0;
    if (a == "--spill-dir") o.spill_dir = v;
    else if (!num) usage(("bad value for " + a).c_str());
    else if (a == "--sessions") o.sessions = static_cast<unsigned>(n);
    else if (a == "--minutes") o.minutes = static_cast<unsigned>(n);
    else if (a == "--video-kbps") o.video_kbps = static_cast<unsigned>(n);
    else if (a == "--chunk-kib") o.chunk_kib = static_cast<unsigned>(n);
    else if (a == "--memory-mib") o.memory_mib = n;
    else if (a == "--disk-mib") o.disk_mib = n;
    else usage(("unknown option " + a).c_str());
  }
  if (argc % 2 == 0) usage("options come in pairs");
  return o;
}

void put_rtp_header(uint8_t* p, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc) {
  p[0] = 0x80;
  p[1] = pt;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  std::string spill = opt.spill_dir;
  bool own_spill = spill.empty();
  if (own_spill) {
    const char* tmp = std::getenv("TMPDIR");
    spill = std::string(tmp && *tmp ? tmp : "/tmp") + "/roomrec-load-" + std::to_string(getpid());
  }

  RecorderConfig cfg;
  cfg.max_chunk_bytes = uint64_t{opt.chunk_kib} * 1024;
  cfg.max_chunk_ms = 60'000;
  cfg.store.memory_budget_bytes = opt.memory_mib << 20;
  cfg.store.disk_budget_bytes = opt.disk_mib << 20;
  cfg.store.min_free_disk_bytes = 256ull << 20;
  cfg.store.spill_dir = spill;
  std::atomic<uint64_t> errors{0};
  cfg.on_error = [&](const Status& s) {
    if (errors++ < 5) std::fprintf(stderr, "load_recorder: %s\n", s.to_string().c_str());
  };
  auto rec = Recorder::create(cfg);
  if (!rec) {
    std::fprintf(stderr, "load_recorder: %s\n", rec.status().to_string().c_str());
    return 1;
  }
  Recorder& recorder = *rec.value();
  auto sink = std::make_shared<VerifyingSink>(opt.sessions);
  UploadQueueConfig qc;
  qc.workers = 2;
  UploadQueue queue(recorder.store(), sink, qc);
  queue.start();

  const uint64_t t0 = 1'750'000'000'000ULL;
  std::vector<std::shared_ptr<SessionRecorder>> sessions;
  for (unsigned i = 0; i < opt.sessions; ++i) {
    auto s = recorder.open("load", "room-" + std::to_string(i / 10), "peer-" + std::to_string(i), i, "10.0.0.1",
                           "load", t0);
    if (!s) {
      std::fprintf(stderr, "load_recorder: %s\n", s.status().to_string().c_str());
      return 1;
    }
    s.value()->track_started(1, TrackKind::audio, "audio_main", "opus", 48000, 2, "", 0, "", t0);
    s.value()->track_started(2, TrackKind::video, "video_main", "vp8", 90000, 0, "", 0, "", t0);
    sessions.push_back(s.value());
  }

  // Every 20 ms each session sends one 80-byte Opus packet and as many
  // 1,200-byte video packets as its bitrate needs (fractions carried over).
  constexpr size_t kVideoPayload = 1188, kAudioPayload = 68;
  uint8_t video[12 + kVideoPayload], audio[12 + kAudioPayload];
  std::memset(video, 0x5A, sizeof video);
  std::memset(audio, 0x3C, sizeof audio);
  const double video_pkts_per_tick = opt.video_kbps * 1000.0 / 8.0 / sizeof video / 50.0;
  std::vector<double> credit(opt.sessions, 0.0);
  std::vector<uint16_t> vseq(opt.sessions, 0), aseq(opt.sessions, 0);
  std::vector<uint64_t> sent_rtp(opt.sessions, 0), sent_data(opt.sessions, 0);
  uint64_t max_mem = 0, max_disk = 0, waits = 0, packets = 0, bytes = 0;
  const uint64_t mem_budget = cfg.store.memory_budget_bytes, disk_budget = cfg.store.disk_budget_bytes;
  const uint64_t ticks = uint64_t{opt.minutes} * 60 * 50;
  bool over_budget = false;

  auto sample = [&] {
    ChunkStoreStats st = recorder.store().stats();
    const uint64_t held = st.bytes_in_memory + st.bytes_spilling;  // spilling chunks are still in memory
    max_mem = std::max(max_mem, held);
    max_disk = std::max(max_disk, st.bytes_on_disk + st.bytes_spilling);
    if (held > mem_budget || st.bytes_on_disk > disk_budget) over_budget = true;
    return st;
  };

  const auto wall0 = std::chrono::steady_clock::now();
  for (uint64_t tick = 0; tick < ticks; ++tick) {
    const uint64_t now = t0 + tick * 20;
    for (unsigned i = 0; i < opt.sessions; ++i) {
      SessionRecorder& s = *sessions[i];
      put_rtp_header(audio, 111, aseq[i]++, static_cast<uint32_t>(tick * 960), 0x1000 + i);
      if (s.rtp(1, audio, sizeof audio, now) == RecordResult::ok) sent_rtp[i]++;
      packets++;
      bytes += sizeof audio;
      credit[i] += video_pkts_per_tick;
      for (; credit[i] >= 1.0; credit[i] -= 1.0) {
        put_rtp_header(video, 96, vseq[i]++, static_cast<uint32_t>(tick * 1800), 0x2000 + i);
        if (s.rtp(2, video, sizeof video, now) == RecordResult::ok) sent_rtp[i]++;
        packets++;
        bytes += sizeof video;
      }
      if (tick % 500 == i % 500) {  // a data message every 10 s per session
        static const char kMsg[] = "{\"type\":\"chat\",\"text\":\"load\"}";
        if (s.data("chat", false, reinterpret_cast<const uint8_t*>(kMsg), sizeof kMsg - 1, now) == RecordResult::ok)
          sent_data[i]++;
      }
    }
    if (tick % 50 == 0) {
      for (auto& s : sessions) s->tick(now);
      // Back-pressure of a real clock: let the uploaders catch up.
      for (;;) {
        ChunkStoreStats st = sample();
        if (st.bytes_in_memory + st.bytes_on_disk + st.bytes_spilling < (mem_budget + disk_budget) * 3 / 4) break;
        waits++;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  }
  for (auto& s : sessions) s->leave(t0 + ticks * 20);
  const double record_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  while (!recorder.store().wait_drained(100)) sample();
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  queue.stop();
  ChunkStoreStats st = recorder.store().stats();

  uint64_t got_rtp = 0, got_data = 0, want_rtp = 0, want_data = 0, mismatched = 0;
  for (unsigned i = 0; i < opt.sessions; ++i) {
    got_rtp += sink->rtp_[i];
    got_data += sink->data_[i];
    want_rtp += sent_rtp[i];
    want_data += sent_data[i];
    if (sink->rtp_[i] != sent_rtp[i] || sink->data_[i] != sent_data[i]) mismatched++;
  }
  const uint64_t rss = peak_rss_bytes();
  const uint64_t rss_limit = uint64_t{opt.sessions} * cfg.max_chunk_bytes + mem_budget + (256ull << 20);

  std::printf("load_recorder: %u sessions x %u simulated min, video %u kbit/s + Opus\n", opt.sessions, opt.minutes,
              opt.video_kbps);
  std::printf("  recorded  %llu packets, %.2f GB in %.1f s: %.2f M packets/s, %.0f MB/s (%.0fx real time)\n",
              static_cast<unsigned long long>(packets), bytes / 1e9, record_s, packets / record_s / 1e6,
              bytes / record_s / 1e6, opt.minutes * 60.0 / record_s);
  std::printf("  uploaded  %llu chunks, %.2f GB, all done after %.1f s (%.0f MB/s end to end)\n",
              static_cast<unsigned long long>(st.chunks_uploaded), sink->bytes_ / 1e9, total_s,
              sink->bytes_ / total_s / 1e6);
  std::printf("  store     peak %.0f MiB in memory (budget %llu), peak %.0f MiB on disk (budget %llu); "
              "%llu chunks spilled by put() itself; %llu back-pressure waits\n",
              max_mem / 1048576.0, static_cast<unsigned long long>(opt.memory_mib), max_disk / 1048576.0,
              static_cast<unsigned long long>(opt.disk_mib),
              static_cast<unsigned long long>(st.chunks_written_by_caller), static_cast<unsigned long long>(waits));
  std::printf("  memory    peak RSS %.0f MiB (limit %.0f MiB = sessions x chunk + memory budget + 256)\n",
              rss / 1048576.0, rss_limit / 1048576.0);

  std::error_code ec;
  if (own_spill) std::filesystem::remove_all(spill, ec);

  int failed = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) {
      std::printf("FAILED: %s\n", what.c_str());
      failed = 1;
    }
  };
  check(!over_budget, "the store went over a budget");
  check(st.chunks_refused == 0, std::to_string(st.chunks_refused) + " chunks refused");
  check(errors == 0, std::to_string(errors.load()) + " recorder errors");
  check(sink->damaged_ == 0, std::to_string(sink->damaged_.load()) + " chunks did not read back intact");
  check(sink->duplicates_ == 0, std::to_string(sink->duplicates_.load()) + " chunks uploaded twice");
  check(st.chunks_uploaded == st.chunks_accepted, "accepted " + std::to_string(st.chunks_accepted) +
                                                      " chunks, uploaded " + std::to_string(st.chunks_uploaded));
  check(got_rtp == want_rtp && got_data == want_data && mismatched == 0,
        "packets: sent " + std::to_string(want_rtp) + " got " + std::to_string(got_rtp) + ", data: sent " +
            std::to_string(want_data) + " got " + std::to_string(got_data) + ", " + std::to_string(mismatched) +
            " sessions differ");
  check(want_rtp == packets, std::to_string(packets - want_rtp) + " packets were not accepted by the recorder");
  check(rss <= rss_limit, "peak RSS over the limit");
  std::printf("%s\n", failed ? "load_recorder: FAILED" : "load_recorder: ok");
  return failed;
}
