// H264 RTP as Debian's ffmpeg (libx264) sends it, captured on a UDP socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../media_synth.h"

namespace roomrec::testing {
inline std::vector<std::vector<uint8_t>> capture_ffmpeg_h264(int seconds, int fps, const std::string& size) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  std::string cmd = "ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc=size=" + size +
                    ":rate=" + std::to_string(fps) + " -t " + std::to_string(seconds) +
                    " -pix_fmt yuv420p -c:v libx264 -profile:v baseline -g " + std::to_string(fps) +
                    " -f rtp -payload_type 102 'rtp://127.0.0.1:" + std::to_string(port) + "?pkt_size=1200'";
  std::atomic<bool> done{false};
  std::thread ff([&] {
    run_capture(cmd);
    done = true;
  });
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> b(65536);
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    ssize_t n = ::recv(fd, b.data(), b.size(), 0);
    if (n > 0) {
      packets.emplace_back(b.begin(), b.begin() + n);
      continue;
    }
    if (done) break;
  }
  ff.join();
  ::close(fd);
  return packets;
}

}  // namespace roomrec::testing
