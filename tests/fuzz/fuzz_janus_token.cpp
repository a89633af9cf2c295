// Fuzz target: the Janus plugin's join-token check (integrations/janus/
// roomrec_token.c over libjwt): whatever a client sends as "token", it is
// refused with a reason or accepted with bounded, control-free claims; it
// never crashes, and a refusal never echoes the input.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include "roomrec_token.h"
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rr_app_secret apps[] = {{"demo", "demo-secret"}, {"other", "other-secret"}};
  std::string token(reinterpret_cast<const char*>(data), size);
  token = token.substr(0, token.find('\0'));  // a C string, as Janus hands it over
  rr_token_claims c;
  char err[256] = "";
  int r = rr_token_verify(token.c_str(), apps, 2, 1800000000, 0, &c, err, sizeof(err));
  if (r != 0 && r != -1) std::abort();
  if (r == -1) {
    if (err[0] == '\0') std::abort();
    if (token.size() >= 24 && std::strstr(err, token.c_str()) != nullptr) std::abort();
    return 0;
  }
  for (const char* f : {c.app, c.room, c.peer}) {
    size_t n = strnlen(f, RR_TOKEN_MAX_FIELD);
    if (n == 0 || n == RR_TOKEN_MAX_FIELD) std::abort();
    for (size_t i = 0; i < n; ++i)
      if (static_cast<unsigned char>(f[i]) < 0x20) std::abort();
  }
  if (std::strcmp(c.app, "demo") != 0 && std::strcmp(c.app, "other") != 0) std::abort();
  if (c.exp <= 1800000000) std::abort();
  return 0;
}
