// rtp_recorder: records a live RTP/SRTP stream described by an SDP file (as
// `ffmpeg -sdp_file` or GStreamer write it) into a roomrec recording.
//
//   rtp_recorder --sdp FILE --out <folder | file:// | S3 URI> --app A --room R --peer P
//                [--seconds N] [--session ID]
//
// One peer session with one track per audio/video m= line. It binds a UDP
// socket on each m= line's RTP port and on its RTCP port (a=rtcp, or RTP port
// + 1; with a=rtcp-mux RTCP shares the RTP port and is told apart by its
// packet type, RFC 5761), at the m= line's connection address (any address
// when that is not local; multicast groups are joined). RTP goes to
// session->rtp() by payload type, RTCP to session->rtcp(). With a=crypto
// (SDES) keys the session gets the key and the recorder decrypts and
// authenticates every packet; a packet that fails is counted and dropped, so a
// wrong key records nothing rather than garbage. (If m= lines carry different
// keys, this program decrypts each line itself with roomrec::SrtpSession.)
//
// It runs until SIGINT/SIGTERM or --seconds, leaves, waits for the uploads,
// prints per-track counters to stderr and the room's recording path (what
// `convert_record_cli --in-s3` takes) as the last line on stdout.
// Exit status: 0 recorded, 1 runtime error, 2 bad arguments or SDP, 3 no RTP
// packet was recorded (for example every packet failed SRTP authentication).
#include <roomrec/log.h>
#include <roomrec/recorder.h>
#include <roomrec/s3_upload.h>
#include <roomrec/srtp.h>
#include <roomrec/upload_queue.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "example_util.h"
#include "rtp/sdp.h"
#include "util/text.h"

using namespace roomrec;

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

struct Options {
  std::string sdp, out, app, room, peer;
  unsigned seconds = 0;  // 0: until a signal
  uint64_t session_id = 0;
};

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "rtp_recorder: %s\n", why.c_str());
  std::fprintf(stderr,
               "usage: rtp_recorder --sdp FILE --out <folder | file:// | S3 URI> --app A --room R --peer P\n"
               "                    [--seconds N] [--session ID]\n"
               "Records the RTP/SRTP streams an SDP file describes until SIGINT/SIGTERM or N seconds;\n"
               "prints the room's recording path as the last line.\n");
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") usage("");
    if (i + 1 >= argc) usage(a + " needs a value");
    std::string v = argv[++i];
    auto number = [&](uint64_t lo, uint64_t hi) {
      char* end = nullptr;
      errno = 0;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end || errno || n < lo || n > hi)
        usage(a + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi));
      return static_cast<uint64_t>(n);
    };
    if (a == "--sdp") o.sdp = v;
    else if (a == "--out") o.out = v;
    else if (a == "--app") o.app = v;
    else if (a == "--room") o.room = v;
    else if (a == "--peer") o.peer = v;
    else if (a == "--seconds") o.seconds = static_cast<unsigned>(number(1, 86400 * 7));
    else if (a == "--session") o.session_id = number(1, UINT64_MAX);
    else usage("unknown option " + a);
  }
  if (o.sdp.empty()) usage("--sdp is required");
  if (o.out.empty()) usage("--out is required");
  if (o.app.empty() || o.room.empty() || o.peer.empty()) usage("--app, --room and --peer are required");
  return o;
}

// ---- tracks and sockets ------------------------------------------------------

struct Track {
  uint32_t id = 0;
  size_t media_index = 0;
  std::string name;  // a=mid, else kind + index ("video0")
  TrackKind kind = TrackKind::audio;
  sdp::Format format;          // the recorded payload type
  std::vector<uint8_t> other;  // the m= line's other payload types (rtx, fec, dtmf...): dropped
  std::string address;         // where we listen, for messages
  uint32_t rtp_port = 0, rtcp_port = 0;
  std::optional<SrtpKey> key;
  std::unique_ptr<SrtpSession> own_srtp;  // only when the m= lines' keys differ

  uint64_t rtp_accepted = 0, rtp_malformed = 0, rtp_decrypt_failed = 0, rtp_other_pt = 0, rtp_dropped = 0;
  uint64_t rtcp_accepted = 0, rtcp_malformed = 0, rtcp_decrypt_failed = 0;
  bool told_first = false, told_decrypt = false;
};

struct Socket {
  int fd = -1;
  int family = AF_INET;
  std::string label;  // "127.0.0.1:40000"
  std::vector<size_t> rtp_tracks, rtcp_tracks;
  uint64_t unknown_pt = 0, truncated = 0;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

std::string endpoint_label(const std::string& addr, uint32_t port) {
  return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

std::string peer_label(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return endpoint_label(host, port);
}

// Binds a UDP socket for `address` (numeric or a host name; empty: any IPv4
// address) and port. A multicast address is joined on the wildcard address; a
// unicast address that is not local falls back to the wildcard with a note.
Result<std::unique_ptr<Socket>> open_socket(const std::string& address, bool ipv6, uint32_t port) {
  addrinfo hints{};
  hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string host = address.empty() ? (ipv6 ? "::" : "0.0.0.0") : address;
  const std::string service = std::to_string(port);
  if (int e = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); e != 0 || !res)
    return Status(ErrorCode::invalid_argument, "cannot resolve " + host + ": " + gai_strerror(e));
  sockaddr_storage target{};
  std::memcpy(&target, res->ai_addr, res->ai_addrlen);
  socklen_t target_len = res->ai_addrlen;
  freeaddrinfo(res);

  auto s = std::make_unique<Socket>();
  s->family = target.ss_family;
  s->fd = ::socket(s->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s->fd < 0) return Status(ErrorCode::io, std::string("socket: ") + std::strerror(errno));
  int big = 4 << 20;  // room for a burst of video (the kernel caps it at rmem_max)
  setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);

  bool multicast = false;
  if (s->family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&target);
    multicast = IN_MULTICAST(ntohl(a->sin_addr.s_addr));
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&target);
    multicast = IN6_IS_ADDR_MULTICAST(&a->sin6_addr);
  }
  auto make_wildcard = [&]() {
    sockaddr_storage any{};
    any.ss_family = static_cast<sa_family_t>(s->family);
    if (s->family == AF_INET) reinterpret_cast<sockaddr_in*>(&any)->sin_port = htons(static_cast<uint16_t>(port));
    else reinterpret_cast<sockaddr_in6*>(&any)->sin6_port = htons(static_cast<uint16_t>(port));
    return any;
  };
  sockaddr_storage bind_to = multicast ? make_wildcard() : target;
  if (multicast) {
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  std::string bound = multicast ? (s->family == AF_INET ? "0.0.0.0" : "::") : host;
  if (::bind(s->fd, reinterpret_cast<sockaddr*>(&bind_to), target_len) != 0) {
    if (errno != EADDRNOTAVAIL || multicast)
      return Status(ErrorCode::io, "cannot bind UDP " + endpoint_label(host, port) + ": " + std::strerror(errno));
    std::fprintf(stderr, "rtp_recorder: %s is not an address of this host; listening on every address instead\n",
                 host.c_str());
    bind_to = make_wildcard();
    bound = s->family == AF_INET ? "0.0.0.0" : "::";
    if (::bind(s->fd, reinterpret_cast<sockaddr*>(&bind_to), target_len) != 0)
      return Status(ErrorCode::io, "cannot bind UDP " + endpoint_label(bound, port) + ": " + std::strerror(errno));
  }
  if (multicast) {
    int rc;
    if (s->family == AF_INET) {
      ip_mreq m{};
      m.imr_multiaddr = reinterpret_cast<sockaddr_in*>(&target)->sin_addr;
      m.imr_interface.s_addr = htonl(INADDR_ANY);
      rc = setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
    } else {
      ipv6_mreq m{};
      m.ipv6mr_multiaddr = reinterpret_cast<sockaddr_in6*>(&target)->sin6_addr;
      rc = setsockopt(s->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m);
    }
    if (rc != 0)
      return Status(ErrorCode::io, "cannot join multicast group " + host + ": " + std::strerror(errno));
    bound = host;
  }
  s->label = endpoint_label(bound, port);
  return s;
}

bool same_key(const SrtpKey& a, const SrtpKey& b) { return a.profile == b.profile && a.key_salt == b.key_salt; }

bool is_auxiliary(const std::string& encoding) {
  static const char* const kAux[] = {"rtx", "ulpfec", "flexfec", "flexfec-03", "cn", "telephone-event"};
  for (const char* a : kAux)
    if (util::iequals(encoding, a)) return true;
  return false;
}

std::string read_file(const std::string& path, Status& st) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    st = Status(ErrorCode::not_found, "cannot open " + path + ": " + std::strerror(errno));
    return {};
  }
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > sdp::Limits{}.max_bytes) break;  // the parser reports the size
  }
  return text;
}

// ---- the recording -----------------------------------------------------------

class Recording {
 public:
  Recording(std::vector<Track>& tracks, std::vector<std::unique_ptr<Socket>>& sockets, SessionRecorder& session)
      : tracks_(tracks), sockets_(sockets), session_(session) {}

  // Reads what is queued on socket `si`, up to a batch (for fairness between
  // sockets); returns how many datagrams it read.
  int drain(size_t si) {
    Socket& s = *sockets_[si];
    int i = 0;
    for (; i < 64; ++i) {
      sockaddr_storage from{};
      iovec iov{buf_, sizeof buf_};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t n = ::recvmsg(s.fd, &msg, MSG_DONTWAIT);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
          std::fprintf(stderr, "rtp_recorder: recv on %s: %s\n", s.label.c_str(), std::strerror(errno));
        return i;
      }
      const uint64_t now = wall_ms();
      if (msg.msg_flags & MSG_TRUNC) {
        s.truncated++;
        continue;
      }
      handle(s, buf_, static_cast<size_t>(n), from, now);
    }
    return i;
  }

 private:
  void handle(Socket& s, uint8_t* p, size_t n, const sockaddr_storage& from, uint64_t now) {
    // RFC 5761: a second byte of 192..223 is an RTCP packet type (SR 200, RR 201,
    // SDES 202, BYE 203, APP 204, RTPFB 205, PSFB 206, XR 207...).
    if (n >= 2 && p[1] >= 192 && p[1] <= 223) {
      Track& t = tracks_[!s.rtcp_tracks.empty() ? s.rtcp_tracks[0] : s.rtp_tracks[0]];
      if (t.own_srtp) {
        if (!t.own_srtp->unprotect_rtcp(p, n)) {
          t.rtcp_decrypt_failed++;
          tell_decrypt(t, from);
          return;
        }
      }
      switch (session_.rtcp(p, n, now)) {
        case RecordResult::ok: t.rtcp_accepted++; break;
        case RecordResult::decrypt_failed: t.rtcp_decrypt_failed++; tell_decrypt(t, from); break;
        case RecordResult::malformed: t.rtcp_malformed++; break;
        default: break;
      }
      return;
    }
    if (s.rtp_tracks.empty()) {  // not RTCP, on an RTCP-only port
      tracks_[s.rtcp_tracks[0]].rtcp_malformed++;
      return;
    }
    if (n < 12) {
      tracks_[s.rtp_tracks[0]].rtp_malformed++;
      return;
    }
    const uint8_t pt = p[1] & 0x7F;
    Track* track = nullptr;
    bool listed = false;
    for (size_t ti : s.rtp_tracks) {
      Track& t = tracks_[ti];
      if (t.format.payload_type == pt) {
        track = &t;
        break;
      }
      for (uint8_t o : t.other)
        if (o == pt) {
          t.rtp_other_pt++;
          listed = true;
        }
    }
    if (!track) {
      if (!listed) s.unknown_pt++;
      return;
    }
    Track& t = *track;
    if (!t.told_first) {
      t.told_first = true;
      const uint32_t ssrc = (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11];
      std::fprintf(stderr, "rtp_recorder: %s: first packet from %s (ssrc %u)\n", t.name.c_str(),
                   peer_label(from).c_str(), ssrc);
    }
    if (t.own_srtp && !t.own_srtp->unprotect_rtp(p, n)) {
      t.rtp_decrypt_failed++;
      tell_decrypt(t, from);
      return;
    }
    switch (session_.rtp(t.id, p, n, now)) {
      case RecordResult::ok: t.rtp_accepted++; break;
      case RecordResult::malformed: t.rtp_malformed++; break;
      case RecordResult::decrypt_failed: t.rtp_decrypt_failed++; tell_decrypt(t, from); break;
      default: t.rtp_dropped++; break;
    }
  }

  void tell_decrypt(Track& t, const sockaddr_storage& from) {
    if (t.told_decrypt) return;
    t.told_decrypt = true;
    std::fprintf(stderr,
                 "rtp_recorder: %s: a packet from %s failed SRTP authentication and was dropped; if this goes on, "
                 "the a=crypto key in the SDP is not the sender's key\n",
                 t.name.c_str(), peer_label(from).c_str());
  }

  std::vector<Track>& tracks_;
  std::vector<std::unique_ptr<Socket>>& sockets_;
  SessionRecorder& session_;
  alignas(8) uint8_t buf_[65536];
};

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  log_to_stderr(LogLevel::warn);

  // ---- the SDP --------------------------------------------------------------
  Status st;
  const std::string text = read_file(opt.sdp, st);
  if (!st) {
    std::fprintf(stderr, "rtp_recorder: %s\n", st.to_string().c_str());
    return 2;
  }
  auto parsed = sdp::parse(text);
  if (!parsed) {
    std::fprintf(stderr, "rtp_recorder: %s: %s\n", opt.sdp.c_str(), parsed.status().message().c_str());
    return 2;
  }
  const sdp::Description& desc = *parsed;

  std::vector<Track> tracks;
  for (size_t mi = 0; mi < desc.media.size(); ++mi) {
    const sdp::Media& m = desc.media[mi];
    const std::string where = opt.sdp + " line " + std::to_string(m.line) + ": ";
    if (m.kind != "audio" && m.kind != "video") {
      std::fprintf(stderr, "rtp_recorder: %sskipping the m=%s section\n", where.c_str(), m.kind.c_str());
      continue;
    }
    if (!m.is_rtp()) {
      std::fprintf(stderr, "rtp_recorder: %sm=%s uses %s, not RTP/AVP(F) or RTP/SAVP(F)%s\n", where.c_str(),
                   m.kind.c_str(), m.proto.c_str(),
                   m.proto.find("TLS") != std::string::npos ? " (DTLS-SRTP keys cannot come from an SDP file)" : "");
      return 2;
    }
    if (m.port == 0) {
      std::fprintf(stderr, "rtp_recorder: %sskipping the disabled m=%s section (port 0)\n", where.c_str(),
                   m.kind.c_str());
      continue;
    }
    Track t;
    t.id = static_cast<uint32_t>(tracks.size() + 1);
    t.media_index = mi;
    t.kind = m.kind == "video" ? TrackKind::video : TrackKind::audio;
    t.name = !m.mid.empty() ? m.mid : m.kind + std::to_string(mi);
    const sdp::Format* chosen = nullptr;
    for (const auto& f : m.rtp_formats)
      if (!f.encoding.empty() && !is_auxiliary(f.encoding)) {
        chosen = &f;
        break;
      }
    if (!chosen) {
      std::fprintf(stderr, "rtp_recorder: %sm=%s has no payload type with a known codec (a=rtpmap missing?)\n",
                   where.c_str(), m.kind.c_str());
      return 2;
    }
    t.format = *chosen;
    for (const auto& f : m.rtp_formats)
      if (f.payload_type != chosen->payload_type) t.other.push_back(f.payload_type);
    if (m.port_count > 1)
      std::fprintf(stderr, "rtp_recorder: %sonly the first of %u ports is recorded\n", where.c_str(), m.port_count);

    // SDES keys: the first offer this library can use.
    std::string refused;
    for (const auto& c : m.crypto) {
      auto k = SrtpKey::from_sdes(c.attribute);
      if (k) {
        t.key = std::move(k.value());
        break;
      }
      refused += "\n  line " + std::to_string(c.line) + ": " + k.status().message();
    }
    if (!t.key && !m.crypto.empty()) {
      std::fprintf(stderr, "rtp_recorder: %sno usable a=crypto key for m=%s:%s\n", where.c_str(), m.kind.c_str(),
                   refused.c_str());
      return 2;
    }
    if (!t.key && m.is_secure_profile()) {
      std::fprintf(stderr, "rtp_recorder: %sm=%s is %s but has no a=crypto key\n", where.c_str(), m.kind.c_str(),
                   m.proto.c_str());
      return 2;
    }
    tracks.push_back(std::move(t));
  }
  if (tracks.empty()) {
    std::fprintf(stderr, "rtp_recorder: %s has no audio or video RTP stream to record\n", opt.sdp.c_str());
    return 2;
  }

  // One key for every track: the recorder decrypts. No keys: plain RTP.
  // Anything else: each keyed track is decrypted here with its own session.
  std::optional<SrtpKey> session_key;
  bool all_keyed = true, none_keyed = true, all_same = true;
  for (const auto& t : tracks) {
    all_keyed = all_keyed && t.key.has_value();
    none_keyed = none_keyed && !t.key.has_value();
    if (t.key && tracks[0].key && !same_key(*t.key, *tracks[0].key)) all_same = false;
  }
  if (all_keyed && all_same) {
    session_key = tracks[0].key;
  } else if (!none_keyed) {
    for (auto& t : tracks)
      if (t.key) {
        auto s = SrtpSession::create(*t.key, SrtpSession::Direction::unprotect);
        if (!s) {
          std::fprintf(stderr, "rtp_recorder: %s: %s\n", t.name.c_str(), s.status().to_string().c_str());
          return 1;
        }
        t.own_srtp = std::move(s.value());
      }
  }

  // ---- sockets ----------------------------------------------------------------
  std::vector<std::unique_ptr<Socket>> sockets;
  struct Endpoint {
    std::string address;
    bool ipv6;
    uint32_t port;
    size_t socket;
  };
  std::vector<Endpoint> endpoints;
  auto socket_for = [&](const sdp::Connection* c, uint32_t port) -> Result<size_t> {
    if (port == 0 || port > 65535)
      return Status(ErrorCode::invalid_argument, "port " + std::to_string(port) + " is out of range");
    const std::string addr = c ? c->address : "";
    const bool v6 = c && c->ipv6;
    for (const auto& e : endpoints)
      if (e.port == port && e.address == addr && e.ipv6 == v6) return e.socket;
    auto s = open_socket(addr, v6, port);
    if (!s) return s.status();
    sockets.push_back(std::move(s.value()));
    endpoints.push_back({addr, v6, port, sockets.size() - 1});
    return sockets.size() - 1;
  };
  for (size_t ti = 0; ti < tracks.size(); ++ti) {
    Track& t = tracks[ti];
    const sdp::Media& m = desc.media[t.media_index];
    const sdp::Connection* conn = desc.connection_of(m);
    auto rtp_socket = socket_for(conn, m.port);
    if (!rtp_socket) {
      std::fprintf(stderr, "rtp_recorder: %s: %s\n", t.name.c_str(), rtp_socket.status().message().c_str());
      return 1;
    }
    sockets[*rtp_socket]->rtp_tracks.push_back(ti);
    t.rtp_port = m.port;
    t.rtcp_port = m.effective_rtcp_port();
    t.address = sockets[*rtp_socket]->label;
    const sdp::Connection* rtcp_conn = m.rtcp_connection ? &*m.rtcp_connection : conn;
    auto rtcp_socket = socket_for(rtcp_conn, t.rtcp_port);
    if (!rtcp_socket) {
      std::fprintf(stderr, "rtp_recorder: %s RTCP: %s\n", t.name.c_str(), rtcp_socket.status().message().c_str());
      return 1;
    }
    sockets[*rtcp_socket]->rtcp_tracks.push_back(ti);
  }

  // ---- recorder, upload queue, session ------------------------------------------
  auto sink = make_sink_for_uri(opt.out);
  if (!sink) {
    std::fprintf(stderr, "rtp_recorder: --out: %s\n", sink.status().to_string().c_str());
    return 2;
  }
  RecorderConfig cfg;
  cfg.max_chunk_bytes = 4 << 20;
  cfg.max_chunk_ms = 10'000;
  cfg.on_error = [](const Status& s) { std::fprintf(stderr, "rtp_recorder: %s\n", s.to_string().c_str()); };
  auto recorder = Recorder::create(cfg);
  if (!recorder) {
    std::fprintf(stderr, "rtp_recorder: %s\n", recorder.status().to_string().c_str());
    return 1;
  }
  UploadQueue queue(recorder.value()->store(), sink.value());
  queue.on_failure([](const PendingChunk&, const Status& s) {
    std::fprintf(stderr, "rtp_recorder: upload failed (will retry): %s\n", s.to_string().c_str());
  });
  queue.start();

  const uint64_t t0 = wall_ms();
  SessionParams sp;
  sp.app = opt.app;
  sp.room = opt.room;
  sp.peer = opt.peer;
  sp.session_id = opt.session_id ? opt.session_id : t0;
  sp.ip = desc.origin_address;
  sp.user_agent = "rtp_recorder";
  sp.srtp = session_key;
  auto opened = recorder.value()->open(sp, t0);
  if (!opened) {
    std::fprintf(stderr, "rtp_recorder: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  std::shared_ptr<SessionRecorder> session = opened.value();
  for (const Track& t : tracks) {
    const sdp::Media& m = desc.media[t.media_index];
    const uint32_t ssrc = m.ssrcs.empty() ? 0 : m.ssrcs[0];
    RecordResult r = session->track_started(t.id, t.kind, t.name, util::ascii_lowercase(t.format.encoding),
                                            t.format.clock_rate, t.kind == TrackKind::audio ? t.format.channels : 0,
                                            t.format.fmtp, ssrc, "", t0);
    if (r != RecordResult::ok) {
      std::fprintf(stderr, "rtp_recorder: track %s: %s\n", t.name.c_str(), record_result_name(r));
      return 1;
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  {
    std::ostringstream os;
    for (size_t i = 0; i < tracks.size(); ++i) {
      const Track& t = tracks[i];
      os << (i ? "; " : "") << t.name << " " << util::ascii_lowercase(t.format.encoding) << "/" << t.format.clock_rate
         << " pt " << unsigned{t.format.payload_type} << " on " << t.address << " (RTCP "
         << (t.rtcp_port == t.rtp_port ? std::string("muxed") : "port " + std::to_string(t.rtcp_port)) << ")";
    }
    const char* srtp = session_key ? "SRTP, decrypted by the recorder"
                       : none_keyed ? "plain RTP"
                                    : "SRTP, a key per stream";
    std::fprintf(stderr, "rtp_recorder: listening: %s; %s\n", os.str().c_str(), srtp);
  }

  // ---- the loop -----------------------------------------------------------------
  Recording rec(tracks, sockets, *session);
  std::vector<pollfd> fds(sockets.size());
  for (size_t i = 0; i < sockets.size(); ++i) fds[i] = {sockets[i]->fd, POLLIN, 0};
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(opt.seconds);
  auto next_tick = start + std::chrono::seconds(1);
  while (!g_stop) {
    auto now = Clock::now();
    if (opt.seconds && now >= deadline) break;
    if (now >= next_tick) {
      session->tick(wall_ms());
      next_tick += std::chrono::seconds(1);
      if (next_tick < now) next_tick = now + std::chrono::seconds(1);
    }
    auto until = next_tick;
    if (opt.seconds && deadline < until) until = deadline;
    int timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1;
    int rc = ::poll(fds.data(), fds.size(), timeout);
    if (rc < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "rtp_recorder: poll: %s\n", std::strerror(errno));
      break;
    }
    for (size_t i = 0; i < fds.size() && rc > 0; ++i)
      if (fds[i].revents) rec.drain(i);
  }
  // What arrived before the stop is recorded too.
  for (size_t i = 0; i < sockets.size(); ++i)
    while (rec.drain(i) == 64) {
    }
  const uint64_t end = wall_ms();
  for (const Track& t : tracks) session->track_stopped(t.id, end);
  session->leave(end);

  // ---- uploads and the report ------------------------------------------------------
  int status = 0;
  if (!recorder.value()->store().wait_drained(120'000)) {
    std::fprintf(stderr, "rtp_recorder: uploads did not finish within 2 minutes\n");
    status = 1;
  }
  queue.stop();

  const SessionStats ss = session->stats();
  uint64_t accepted = 0, decrypt_failed = 0;
  for (const Track& t : tracks) {
    std::fprintf(stderr,
                 "rtp_recorder: track %u %s (%s/%u pt %u, %s): rtp %llu accepted, %llu malformed, %llu decrypt "
                 "failures, %llu other payload types, %llu dropped; rtcp %llu accepted, %llu malformed, %llu decrypt "
                 "failures\n",
                 t.id, t.name.c_str(), util::ascii_lowercase(t.format.encoding).c_str(), t.format.clock_rate,
                 unsigned{t.format.payload_type}, t.address.c_str(), (unsigned long long)t.rtp_accepted,
                 (unsigned long long)t.rtp_malformed, (unsigned long long)t.rtp_decrypt_failed,
                 (unsigned long long)t.rtp_other_pt, (unsigned long long)t.rtp_dropped,
                 (unsigned long long)t.rtcp_accepted, (unsigned long long)t.rtcp_malformed,
                 (unsigned long long)t.rtcp_decrypt_failed);
    accepted += t.rtp_accepted;
    decrypt_failed += t.rtp_decrypt_failed + t.rtcp_decrypt_failed;
  }
  for (const auto& s : sockets)
    if (s->unknown_pt || s->truncated)
      std::fprintf(stderr, "rtp_recorder: %s: %llu packets of a payload type no m= line lists, %llu truncated\n",
                   s->label.c_str(), (unsigned long long)s->unknown_pt, (unsigned long long)s->truncated);
  std::fprintf(stderr,
               "rtp_recorder: session %llu: %llu bytes in %llu chunks (%llu refused), %llu packets lost, %.1f s\n",
               (unsigned long long)sp.session_id, (unsigned long long)ss.bytes_recorded,
               (unsigned long long)ss.chunks_closed, (unsigned long long)ss.chunks_refused,
               (unsigned long long)ss.lost_packets, (end - t0) / 1000.0);
  if (decrypt_failed)
    std::fprintf(stderr,
                 "rtp_recorder: %llu packets failed SRTP authentication and were dropped (not recorded): the "
                 "a=crypto key in %s does not match the sender's key\n",
                 (unsigned long long)decrypt_failed, opt.sdp.c_str());
  if (accepted == 0) {
    std::fprintf(stderr, "rtp_recorder: no RTP packet was recorded%s\n",
                 decrypt_failed ? " (every packet failed SRTP authentication)" : "");
    if (status == 0) status = 3;
  }
  std::printf("%s\n", examples::recording_location(opt.out, session->room_path()).c_str());
  std::fflush(stdout);
  return status;
}
