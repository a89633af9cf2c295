// rtp_replay: plays a recorded peer session back as live RTP over UDP, without transcoding, and writes
// an SDP file describing it, so any RTP receiver (ffmpeg, GStreamer, a media server) can take it:
//
//   rtp_replay --in <recording> --peer P [--session S] --sdp-out FILE --to 127.0.0.1:PORT
//              [--srtp-key KEY] [--speed 1] [--seek MS] [--tracks audio_main,video_main]
//              [--data-out FILE.jsonl] [--no-rtcp] [--wait] [-q]
//   ffmpeg -protocol_whitelist file,udp,rtp -i FILE -c copy out.mkv
//
// Track i goes to PORT + 2i (its RTCP to the next port). --srtp-key protects the output with SRTP
// (AES_CM_128_HMAC_SHA1_80 unless the key names its suite): "random", an SDES crypto attribute
// ("1 AES_CM_128_HMAC_SHA1_80 inline:BASE64") or "inline:BASE64"; the SDP carries it in a=crypto
// (the ffmpeg whitelist then needs srtp too). --speed 0 sends as fast as possible. --wait reads one
// line from stdin after the SDP is written and before sending (so a receiver can be started on it).
// Data-channel messages go to --data-out as JSON lines ({"time", "label", "binary", "text"|"base64"}).
// Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted.
#include <roomrec/replayer.h>
#include <roomrec/srtp.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace roomrec;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

[[noreturn]] void usage(const char* error) {
  if (error) std::fprintf(stderr, "rtp_replay: %s\n", error);
  std::fprintf(error ? stderr : stdout,
               "Usage: rtp_replay --in <recording> --peer P [--session S] --sdp-out FILE --to HOST:PORT\n"
               "                  [--srtp-key random|'1 SUITE inline:KEY'|inline:KEY] [--speed 1] [--seek MS]\n"
               "                  [--tracks NAME,...] [--data-out FILE.jsonl] [--no-rtcp] [--wait] [-q]\n"
               "Plays one recorded peer session back as RTP over UDP (track i to PORT+2i, RTCP to the next\n"
               "port) and writes an SDP describing it. --speed 0: as fast as possible.\n");
  std::exit(error ? 2 : 0);
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o;
}

std::string base64(const std::vector<uint8_t>& d) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  size_t i = 0;
  for (; i + 2 < d.size(); i += 3) {
    uint32_t v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    o += t[v >> 18];
    o += t[(v >> 12) & 63];
    o += t[(v >> 6) & 63];
    o += t[v & 63];
  }
  if (i + 1 == d.size()) {
    uint32_t v = d[i] << 16;
    o += t[v >> 18];
    o += t[(v >> 12) & 63];
    o += "==";
  } else if (i + 2 == d.size()) {
    uint32_t v = (d[i] << 16) | (d[i + 1] << 8);
    o += t[v >> 18];
    o += t[(v >> 12) & 63];
    o += t[(v >> 6) & 63];
    o += '=';
  }
  return o;
}

bool utf8_text(const std::vector<uint8_t>& d) {
  for (size_t i = 0; i < d.size();) {
    uint8_t c = d[i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || i + len > d.size() || (len == 2 && c < 0xC2)) return false;
    for (size_t k = 1; k < len; ++k)
      if ((d[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in, peer, sdp_out, to, srtp_key, data_out, tracks;
  std::optional<uint64_t> session;
  double speed = 1.0;
  uint64_t seek = 0;
  bool rtcp = true, wait = false, quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(nullptr);
    if (a == "--no-rtcp") { rtcp = false; continue; }
    if (a == "--wait") { wait = true; continue; }
    if (a == "-q") { quiet = true; continue; }
    if (i + 1 >= argc) usage((a + " needs a value").c_str());
    std::string v = argv[++i];
    auto number = [&](const char* what) {
      char* end = nullptr;
      errno = 0;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || errno || v[0] == '-') usage((std::string(what) + " must be a non-negative integer").c_str());
      return static_cast<uint64_t>(n);
    };
    if (a == "--in") in = v;
    else if (a == "--peer") peer = v;
    else if (a == "--session") session = number("--session");
    else if (a == "--sdp-out") sdp_out = v;
    else if (a == "--to") to = v;
    else if (a == "--srtp-key") srtp_key = v;
    else if (a == "--data-out") data_out = v;
    else if (a == "--tracks") tracks = v;
    else if (a == "--seek") seek = number("--seek");
    else if (a == "--speed") {
      char* end = nullptr;
      speed = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(speed >= 0) || speed > 1000) usage("--speed must be 0 (as fast as possible) to 1000");
    } else usage(("unknown option " + a).c_str());
  }
  if (in.empty()) usage("--in is required");
  if (peer.empty()) usage("--peer is required");
  if (sdp_out.empty()) usage("--sdp-out is required");
  if (to.empty()) usage("--to is required");
  size_t colon = to.rfind(':');
  if (colon == std::string::npos || colon == 0) usage("--to must be HOST:PORT");
  std::string host = to.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  unsigned long port = std::strtoul(to.c_str() + colon + 1, &end, 10);
  if (*end || port == 0 || port > 65535) usage("--to must be HOST:PORT with a port from 1 to 65535");

  ReplayOptions opt;
  opt.peer = peer;
  opt.session = session;
  opt.speed = speed;
  opt.seek_ms = seek;
  opt.rtcp = rtcp;
  opt.include_data = !data_out.empty();
  for (size_t p = 0; !tracks.empty() && p <= tracks.size();) {
    size_t q = tracks.find(',', p);
    if (q == std::string::npos) q = tracks.size();
    if (q > p) opt.tracks.push_back(tracks.substr(p, q - p));
    p = q + 1;
  }
  if (!srtp_key.empty()) {
    Result<SrtpKey> key = Status::error(ErrorCode::invalid_argument, "no key");
    if (srtp_key == "random") {
      std::vector<uint8_t> k(srtp_key_salt_length(SrtpProfile::aes_cm_128_hmac_sha1_80));
      std::random_device rd;
      for (auto& b : k) b = static_cast<uint8_t>(rd());
      key = SrtpKey::from_bytes(SrtpProfile::aes_cm_128_hmac_sha1_80, k.data(), k.size());
    } else if (srtp_key.find(' ') != std::string::npos) {
      key = SrtpKey::from_sdes(srtp_key);
    } else {
      key = SrtpKey::from_sdes_inline(SrtpProfile::aes_cm_128_hmac_sha1_80, srtp_key);
    }
    if (!key) usage(("--srtp-key: " + key.status().message()).c_str());
    opt.srtp = key.value();
  }

  // Where to send.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (int e = getaddrinfo(host.c_str(), nullptr, &hints, &res); e != 0 || !res) {
    std::fprintf(stderr, "rtp_replay: cannot resolve %s: %s\n", host.c_str(), gai_strerror(e));
    return 1;
  }
  sockaddr_storage dest{};
  socklen_t dest_len = static_cast<socklen_t>(res->ai_addrlen);
  std::memcpy(&dest, res->ai_addr, res->ai_addrlen);
  int family = res->ai_family;
  freeaddrinfo(res);
  char numeric[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&dest)->sin_addr, numeric, sizeof numeric);
  else inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&dest)->sin6_addr, numeric, sizeof numeric);

  auto r = Replayer::open(in, opt);
  if (!r) {
    std::fprintf(stderr, "rtp_replay: error: %s\n", r.status().to_string().c_str());
    return 1;
  }
  Replayer& rep = *r.value();
  if (2 * rep.tracks().size() + port > 65536) usage("--to: not enough ports above PORT for every track");
  {
    auto text = rep.sdp(numeric, static_cast<uint16_t>(port));
    if (!text) {
      std::fprintf(stderr, "rtp_replay: error: %s\n", text.status().to_string().c_str());
      return 1;
    }
    std::ofstream f(sdp_out, std::ios::binary | std::ios::trunc);
    f << *text;
    f.close();
    if (!f) {
      std::fprintf(stderr, "rtp_replay: error: cannot write %s\n", sdp_out.c_str());
      return 1;
    }
  }
  std::FILE* data = nullptr;
  if (!data_out.empty()) {
    data = std::fopen(data_out.c_str(), "wb");
    if (!data) {
      std::fprintf(stderr, "rtp_replay: error: cannot write %s\n", data_out.c_str());
      return 1;
    }
  }
  if (!quiet) {
    for (size_t i = 0; i < rep.tracks().size(); ++i) {
      const auto& t = rep.tracks()[i];
      std::fprintf(stderr, "rtp_replay: %s %s %s/%u pt %u ssrc %u -> %s:%lu\n", t.info.name.c_str(),
                   t.info.kind == TrackKind::video ? "video" : "audio", t.info.codec.c_str(), t.info.clock_rate,
                   t.payload_type, t.ssrc, numeric, port + 2 * i);
    }
    for (auto& p : rep.problems()) std::fprintf(stderr, "rtp_replay: problem: %s\n", p.c_str());
  }
  if (wait) {
    std::string line;
    std::getline(std::cin, line);
  }

  int sock = socket(family, SOCK_DGRAM, 0);
  if (sock < 0) {
    std::fprintf(stderr, "rtp_replay: error: socket: %s\n", std::strerror(errno));
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::map<uint32_t, uint16_t> port_of;
  for (size_t i = 0; i < rep.tracks().size(); ++i)
    port_of[rep.tracks()[i].id] = static_cast<uint16_t>(port + 2 * i);
  uint64_t send_errors = 0;
  auto send_to = [&](const std::vector<uint8_t>& b, uint16_t p) {
    sockaddr_storage d = dest;
    if (family == AF_INET) reinterpret_cast<sockaddr_in*>(&d)->sin_port = htons(p);
    else reinterpret_cast<sockaddr_in6*>(&d)->sin6_port = htons(p);
    if (sendto(sock, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&d), dest_len) < 0) send_errors++;
  };
  Status st = rep.run(
      [&](const ReplayItem& it) {
        if (it.kind == ReplayItemKind::data) {
          if (data) {
            std::string line = "{\"time\":" + std::to_string(it.recorded_ms) + ",\"label\":\"" + json_escape(it.label) +
                               "\",\"binary\":" + (it.binary ? "true" : "false");
            if (!it.binary && utf8_text(it.bytes))
              line += ",\"text\":\"" + json_escape(std::string(it.bytes.begin(), it.bytes.end())) + "\"}\n";
            else
              line += ",\"base64\":\"" + base64(it.bytes) + "\"}\n";
            std::fwrite(line.data(), 1, line.size(), data);
          }
          return true;
        }
        auto p = port_of.find(it.track_id);
        if (p == port_of.end()) return true;
        send_to(it.bytes, it.kind == ReplayItemKind::rtp ? p->second : static_cast<uint16_t>(p->second + 1));
        return true;
      },
      &g_stop);
  close(sock);
  if (data && std::fclose(data) != 0) {
    std::fprintf(stderr, "rtp_replay: error: cannot write %s\n", data_out.c_str());
    return 1;
  }
  const ReplayStats& s = rep.stats();
  if (!quiet)
    std::fprintf(stderr,
                 "rtp_replay: %llu rtp packets (%llu bytes), %llu rtcp, %llu data messages, %llu segments, "
                 "%llu duplicates dropped, %llu send errors\n",
                 static_cast<unsigned long long>(s.rtp_packets), static_cast<unsigned long long>(s.rtp_bytes),
                 static_cast<unsigned long long>(s.rtcp_packets), static_cast<unsigned long long>(s.data_messages),
                 static_cast<unsigned long long>(s.segments), static_cast<unsigned long long>(s.duplicates_dropped),
                 static_cast<unsigned long long>(send_errors));
  if (!st) {
    if (st.code() == ErrorCode::cancelled && g_stop.load()) {
      std::fprintf(stderr, "rtp_replay: interrupted\n");
      return 130;
    }
    std::fprintf(stderr, "rtp_replay: error: %s\n", st.to_string().c_str());
    return 1;
  }
  return 0;
}
