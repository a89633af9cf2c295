// Names the calling thread (at most 15 characters, as the kernel keeps them),
// so a host's `top -H`, /proc/PID/task/*/comm and debuggers tell roomrec's
// threads ("rr-upload", "rr-spill", "rr-hooks", ...) from the host's own.
#pragma once

namespace roomrec::util {

void set_thread_name(const char* name) noexcept;

}  // namespace roomrec::util
