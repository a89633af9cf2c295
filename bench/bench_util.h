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
};

template <class F>
RunFigures in_child(F&& body) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), ru.ru_maxrss, status};
}

}  // namespace roomrec::bench
