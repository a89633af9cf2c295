// bench_upload: chunk upload throughput of the UploadQueue (presigned PUTs
// signed locally, the path a media server uses) against the S3 test server,
// and in the same run a plain curl loop PUTting the same chunks (curl
// --aws-sigv4, one process per object, as many at once as our workers)
// against the same server as the reference.
//
//   bench_upload [--chunks 200] [--chunk-mib 1] [--workers 2]
//
// Both sides are bounded by the server (node s3rver writing every object to
// disk); the ratio says whether our client adds cost on top of it.
#include <roomrec/chunk_store.h>
#include <roomrec/chunk_writer.h>
#include <roomrec/s3_upload.h>
#include <roomrec/upload_queue.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../tests/s3/s3rver_process.h"
#include "bench_util.h"

using namespace roomrec;

namespace {

// One real chunk of about `bytes`: RTP rows of 1,200 bytes.
Buffer make_chunk(uint32_t index, size_t bytes) {
  ChunkHeader h;
  h.app = "bench";
  h.room = "room";
  h.room_record_id = "1";
  h.peer = "peer";
  h.session = 1;
  h.index = index;
  ChunkWriter w(h, bytes + 4096);
  std::vector<uint8_t> pkt(1200, 0x5A);
  pkt[0] = 0x80;
  pkt[1] = 96;
  for (uint64_t i = 0; w.size_bytes() + pkt.size() + 64 < bytes; ++i) {
    pkt[2] = static_cast<uint8_t>(i >> 8);
    pkt[3] = static_cast<uint8_t>(i);
    w.add_rtp(1'700'000'000'000ULL + index * 1000 + i / 100, 1, pkt.data(), pkt.size());
  }
  return w.finish();
}

ChunkKey key_of(uint32_t index) {
  ChunkKey k;
  k.app = "bench";
  k.room = "room";
  k.room_record_id = "1";
  k.peer = "peer";
  k.session = 1;
  k.index = index;
  k.from_ts = 1'700'000'000'000ULL + index * 1000;
  k.to_ts = k.from_ts + 999;
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned chunks = 200, chunk_mib = 1, workers = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    unsigned v = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    if (v == 0) {
      std::fprintf(stderr, "bench_upload: bad value for %s\n", a.c_str());
      return 2;
    }
    if (a == "--chunks") chunks = v;
    else if (a == "--chunk-mib") chunk_mib = v;
    else if (a == "--workers") workers = v;
    else {
      std::fprintf(stderr, "usage: bench_upload [--chunks 200] [--chunk-mib 1] [--workers 2]\n");
      return 2;
    }
  }
  testing::S3rverProcess s3({"ours", "curl"});
  if (!s3.available() || !s3.running()) {
    std::printf("bench_upload: skipped, the S3 test server is not available: %s\n", s3.reason().c_str());
    return 0;
  }
  const size_t bytes = size_t{chunk_mib} << 20;
  std::printf("making %u chunks of %u MiB...\n", chunks, chunk_mib);
  std::vector<Buffer> data;
  for (uint32_t i = 0; i < chunks; ++i) data.push_back(make_chunk(i, bytes));
  uint64_t total = 0;
  for (auto& b : data) total += b.size();

  // Files for curl, written before either side is timed.
  const std::string dir = std::filesystem::temp_directory_path() / ("roomrec-bench-upload-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string list = dir + "/list.txt";
  {
    std::ofstream l(list);
    for (uint32_t i = 0; i < chunks; ++i) {
      std::string f = dir + "/" + std::to_string(i) + ".rec";
      std::ofstream(f, std::ios::binary).write(reinterpret_cast<const char*>(data[i].data()),
                                               static_cast<std::streamsize>(data[i].size()));
      l << f << " " << "curl/" << key_of(i).to_string() << "\n";
    }
  }

  std::printf("uploading with roomrec's UploadQueue (%u workers)...\n", workers);
  const std::string uri = s3.s3_uri("ours", "rec");
  auto ours = bench::in_child([&] {
    ChunkStoreConfig sc;
    sc.memory_budget_bytes = total + (64ull << 20);
    auto store = ChunkStore::open(sc);
    if (!store) return 1;
    for (uint32_t i = 0; i < chunks; ++i)
      if (!store.value()->put(key_of(i), std::move(data[i]))) return 1;
    auto sink = make_sink_for_uri(uri);
    if (!sink) return 1;
    UploadQueueConfig qc;
    qc.workers = workers;
    UploadQueue q(*store.value(), sink.value(), qc);
    q.start();
    bool ok = store.value()->wait_drained(600'000);
    q.stop();
    return ok && q.stats().failures == 0 ? 0 : 1;
  });

  std::printf("uploading with a plain curl loop (%u at a time)...\n", workers);
  const std::string base = "http://127.0.0.1:" + std::to_string(s3.port()) + "/";
  const std::string cmd = "xargs -P " + std::to_string(workers) + " -n 2 sh -c 'curl -sf -o /dev/null -T \"$0\" "
                          "-H \"x-amz-content-sha256: UNSIGNED-PAYLOAD\" --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER \"" + base + "$1\"' < " + list;
  auto curl = bench::in_child([&] { return std::system(cmd.c_str()) == 0 ? 0 : 1; });
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const double mb = total / 1e6;
  const double ours_mbs = mb / ours.seconds, curl_mbs = mb / curl.seconds;
  const bool ok = WIFEXITED(ours.status) && WEXITSTATUS(ours.status) == 0;
  const bool curl_ok = WIFEXITED(curl.status) && WEXITSTATUS(curl.status) == 0;
  std::printf("\nbench_upload: %u chunks x %u MiB (%.1f MB) to s3rver on localhost, %u at a time\n", chunks,
              chunk_mib, mb, workers);
  std::printf("%-14s %10s %10s %14s %8s\n", "client", "seconds", "MB/s", "peak RSS MiB", "status");
  std::printf("%-14s %10.2f %10.1f %14.1f %8s\n", "roomrec", ours.seconds, ours_mbs, ours.peak_rss_kb / 1024.0,
              ok ? "ok" : "FAILED");
  std::printf("%-14s %10.2f %10.1f %14s %8s\n", "curl loop", curl.seconds, curl_mbs, "-", curl_ok ? "ok" : "FAILED");
  std::printf("throughput ratio roomrec / curl loop: %.2fx\n", ours_mbs / curl_mbs);
  std::printf("SUMMARY\tupload to S3 (%u x %u MiB)\t%.1f MB/s\t%.1f MB/s (curl loop)\t%.2fx\t%.0f MiB\t-\n", chunks,
              chunk_mib, ours_mbs, curl_mbs, ours_mbs / curl_mbs, ours.peak_rss_kb / 1024.0);
  return ok && curl_ok ? 0 : 1;
}
