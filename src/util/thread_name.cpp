#include "util/thread_name.h"

#include <pthread.h>

#include <cstring>

namespace roomrec::util {

void set_thread_name(const char* name) noexcept {
  char buf[16];
  std::strncpy(buf, name, sizeof(buf) - 1);
  buf[sizeof(buf) - 1] = '\0';
  pthread_setname_np(pthread_self(), buf);
}

}  // namespace roomrec::util
