// Shared by the benchmark programs: run a piece of work in a child process
// and measure its wall time and peak RSS (so set-up does not count); write
// Janus .mjr files; size an output folder.
#pragma once

#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace roomrec::bench {

struct RunFigures {
  double seconds = 0;
  long peak_rss_kb = 0;
  int status = 0;  // as from waitpid
  double cpu_seconds = 0;  // user + system
};

template <class F>
RunFigures in_child(F&& body) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  auto secs = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), ru.ru_maxrss, status,
          secs(ru.ru_utime) + secs(ru.ru_stime)};
}

// A Janus .mjr (MJR00002) writer: magic, u16 BE JSON length + JSON, then per
// packet "MEET" + u32 BE ms since the first packet + u16 BE length + RTP.
class MjrWriter {
 public:
  MjrWriter(const std::string& path, const char* type, const char* codec, uint64_t start_us) {
    f_ = std::fopen(path.c_str(), "wb");
    std::fwrite("MJR00002", 1, 8, f_);
    std::string info = std::string("{\"t\":\"") + type + "\",\"c\":\"" + codec + "\",\"s\":" +
                       std::to_string(start_us) + ",\"u\":" + std::to_string(start_us) + "}";
    uint16_t n = htons(static_cast<uint16_t>(info.size()));
    std::fwrite(&n, 2, 1, f_);
    std::fwrite(info.data(), 1, info.size(), f_);
    start_ms_ = start_us / 1000;
  }
  ~MjrWriter() { std::fclose(f_); }
  void write(const std::vector<uint8_t>& rtp, uint64_t at_ms) {
    std::fwrite("MEET", 1, 4, f_);
    uint32_t t = htonl(static_cast<uint32_t>(at_ms - start_ms_));
    uint16_t n = htons(static_cast<uint16_t>(rtp.size()));
    std::fwrite(&t, 4, 1, f_);
    std::fwrite(&n, 2, 1, f_);
    std::fwrite(rtp.data(), 1, rtp.size(), f_);
  }

 private:
  FILE* f_;
  uint64_t start_ms_;
};

// Bytes of the files under `p` whose extension is `ext` (every file when empty).
inline uint64_t dir_bytes(const std::filesystem::path& p, const std::string& ext) {
  uint64_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(p))
    if (e.is_regular_file() && (ext.empty() || e.path().extension() == ext)) n += e.file_size();
  return n;
}

}  // namespace roomrec::bench
