// make_mjr: writes a Janus .mjr recording (MJR00002) of real VP8 video from libvpx, as Janus records
// a 1.5 Mbit/s camera: a short encoded loop, packetized (RFC 7741) and repeated with continuous
// sequence numbers and timestamps until the file has the size asked for.
//   make_mjr --out FILE --mb N [--width 640 --height 360 --kbps 1500] [--damage]
// --damage overwrites a frame marker every 10 MB, so the reader must resynchronise.
// Prints the file's size in bytes and the number of frames written.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../unit/media_synth.h"

using namespace roomrec::testing;

int main(int argc, char** argv) {
  std::string out;
  double mb = 0;
  uint32_t width = 640, height = 360, kbps = 1500;
  bool damage = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--mb" && i + 1 < argc) mb = std::atof(argv[++i]);
    else if (a == "--width" && i + 1 < argc) width = static_cast<uint32_t>(std::atoi(argv[++i]));
    else if (a == "--height" && i + 1 < argc) height = static_cast<uint32_t>(std::atoi(argv[++i]));
    else if (a == "--kbps" && i + 1 < argc) kbps = static_cast<uint32_t>(std::atoi(argv[++i]));
    else if (a == "--damage") damage = true;
    else {
      std::fprintf(stderr, "make_mjr: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (out.empty() || mb <= 0 || width < 16 || height < 16 || kbps == 0) {
    std::fprintf(stderr, "usage: make_mjr --out FILE --mb N [--width W --height H --kbps K] [--damage]\n");
    return 2;
  }
  FILE* f = std::fopen(out.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "make_mjr: cannot write %s\n", out.c_str());
    return 1;
  }
  const uint64_t start_us = 1'731'132'577'000'000ULL;
  std::fwrite("MJR00002", 1, 8, f);
  std::string info = "{\"t\":\"v\",\"c\":\"vp8\",\"s\":" + std::to_string(start_us) +
                     ",\"u\":" + std::to_string(start_us) + "}";
  uint16_t n16 = htons(static_cast<uint16_t>(info.size()));
  std::fwrite(&n16, 2, 1, f);
  std::fwrite(info.data(), 1, info.size(), f);

  // Two seconds at 30 fps, a keyframe a second.
  const uint32_t fps = 30;
  auto video = encode_vp8(width, height, 2 * fps, fps, fps, kbps, true);
  const uint64_t target = static_cast<uint64_t>(mb * 1e6);
  uint64_t size = 10 + info.size(), frames = 0, next_damage = 10'000'000;
  uint16_t seq = 1;
  for (uint64_t i = 0; size < target; ++i) {
    const auto& frame = video[i % video.size()];
    const uint64_t ms = i * 1000 / fps;
    for (auto& p : packetize_vp8(frame.data, seq, static_cast<uint32_t>(ms * 90), 0x2222)) {
      const bool spoil = damage && size >= next_damage;
      if (spoil) next_damage += 10'000'000;
      std::fwrite(spoil ? "XEET" : "MEET", 1, 4, f);
      uint32_t t = htonl(static_cast<uint32_t>(ms));
      uint16_t n = htons(static_cast<uint16_t>(p.size()));
      std::fwrite(&t, 4, 1, f);
      std::fwrite(&n, 2, 1, f);
      std::fwrite(p.data(), 1, p.size(), f);
      size += 10 + p.size();
      ++frames;
    }
  }
  if (std::fclose(f) != 0) {
    std::fprintf(stderr, "make_mjr: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("%llu %llu\n", static_cast<unsigned long long>(size), static_cast<unsigned long long>(frames));
  return 0;
}
