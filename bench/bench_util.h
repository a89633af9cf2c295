// Shared by the benchmark programs: run a piece of work in a child process
// and measure its wall time and peak RSS (so set-up does not count).
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

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

}  // namespace roomrec::bench
